"""Vouchers: unguessable codes with a check character, and redemptions.

A code is 16 characters of Crockford base32 drawn with `secrets` (80
random bits) and a check character (Luhn mod 32), so a mistyped code is
refused before any lookup. A voucher is redeemed fully or in parts until
its amount is used; each redemption is recorded."""
import datetime as dt
import secrets
from decimal import Decimal

from sql import For

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import EntitlementError

ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'  # Crockford: no I, L, O, U
CODE_LENGTH = 16


def check_character(body):
    "Luhn mod 32 check character of `body`."
    factor, total, n = 2, 0, len(ALPHABET)
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_code():
    body = ''.join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return body + check_character(body)


def normalize(code):
    "Upper case, no separators, Crockford's look-alikes mapped."
    code = (code or '').upper().replace('-', '').replace(' ', '')
    return code.translate(str.maketrans('ILO', '110'))


def is_valid(code):
    code = normalize(code)
    return (len(code) == CODE_LENGTH + 1
        and all(c in ALPHABET for c in code)
        and check_character(code[:-1]) == code[-1])


class Redemption(ModelSQL, ModelView):
    "Voucher Redemption"
    __name__ = 'spp.entitlement.redemption'
    entitlement = fields.Many2One('spp.entitlement', "Voucher",
        required=True, ondelete='RESTRICT', readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 4), required=True,
        readonly=True, domain=[('amount', '>', 0)])
    date = fields.Date("Date", required=True, readonly=True)
    redeemed_by = fields.Many2One('res.user', "Recorded By", readonly=True)
    vendor = fields.Char("Vendor", readonly=True)


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'
    redeemed_amount = fields.Numeric("Redeemed", digits=(16, 4),
        readonly=True)
    redemptions = fields.One2Many('spp.entitlement.redemption',
        'entitlement', "Redemptions", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        from trytond.model import Unique
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_entitlement.msg_voucher_code_unique'),
            ]

    @classmethod
    def default_redeemed_amount(cls):
        return Decimal(0)

    @classmethod
    def assign_codes(cls, cycle):
        "Give a code to each approved voucher of the cycle without one."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                where=(table.cycle == cycle.id) & (table.kind == 'voucher')
                & (table.state == 'approved') & (table.code == None)))  # noqa
        ids = [i for i, in cursor.fetchall()]
        for start in range(0, len(ids), 1000):
            for id_ in ids[start:start + 1000]:
                cursor.execute(*table.update([table.code], [new_code()],
                        where=table.id == id_))
        from .sqltools import invalidate_cache
        invalidate_cache(cls)
        return len(ids)

    @classmethod
    def _approve(cls, cycle, ids=None):
        count = super()._approve(cycle, ids)
        cls.assign_codes(cycle)
        return count

    @classmethod
    def redeem(cls, code, amount, vendor=None, date=None):
        """Redeem `amount` of the voucher `code` (fully or partly): the
        code must be valid and approved, within its validity, and the
        amount at most what is left. Return the redemption."""
        pool = Pool()
        Redemption = pool.get('spp.entitlement.redemption')
        date = date or pool.get('ir.date').today()
        if not is_valid(code):
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_invalid_code', code=code))
        amount = Decimal(amount)
        if amount <= 0:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_amount', amount=amount))
        table = cls.__table__()
        query = table.select(table.id,
            where=(table.code == normalize(code))
            & (table.kind == 'voucher'))
        transaction = Transaction()
        if transaction.database.has_select_for():
            query.for_ = For('UPDATE')
        cursor = transaction.connection.cursor()
        cursor.execute(*query)
        row = cursor.fetchone()
        if not row:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_unknown', code=code))
        voucher = cls(row[0])
        if voucher.state != 'approved':
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_state', code=code,
                    state=voucher.state))
        if ((voucher.valid_from and date < voucher.valid_from)
                or (voucher.valid_until and date > voucher.valid_until)):
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_validity', code=code,
                    valid_from=voucher.valid_from or '',
                    valid_until=voucher.valid_until or ''))
        left = voucher.amount - (voucher.redeemed_amount or 0)
        if amount > left:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_exceeds', code=code,
                    amount=amount, left=left))
        # Redemptions are read-only records: only this method makes them.
        with without_check_access():
            redemption, = Redemption.create([{'entitlement': voucher.id,
                        'amount': amount, 'date': date, 'vendor': vendor,
                        'redeemed_by': transaction.user}])
        redeemed = (voucher.redeemed_amount or 0) + amount
        cursor.execute(*table.update(
                [table.redeemed_amount, table.state, table.write_date],
                [redeemed, 'redeemed' if redeemed == voucher.amount
                    else 'approved', dt.datetime.now()],
                where=table.id == voucher.id))
        from .sqltools import invalidate_cache
        invalidate_cache(cls)
        return redemption


class RedeemStart(ModelView):
    "Redeem Voucher"
    __name__ = 'spp.entitlement.redeem.start'
    code = fields.Char("Code", required=True,
        help="As printed on the voucher; dashes and spaces are ignored.")
    amount = fields.Numeric("Amount", digits=(16, 4), required=True,
        domain=[('amount', '>', 0)])
    vendor = fields.Char("Vendor")
    date = fields.Date("Date", required=True)

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class Redeem(Wizard):
    "Redeem Voucher"
    __name__ = 'spp.entitlement.redeem'
    start = StateView('spp.entitlement.redeem.start',
        'spp_entitlement.redeem_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Redeem", 'redeem', 'tryton-ok', default=True),
            ])
    redeem = StateTransition()

    def transition_redeem(self):
        Entitlement = Pool().get('spp.entitlement')
        Entitlement.redeem(self.start.code, self.start.amount,
            vendor=self.start.vendor, date=self.start.date)
        return 'end'
