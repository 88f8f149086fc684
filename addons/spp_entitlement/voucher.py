"""Vouchers: unguessable codes with a check character, and redemptions.

A code is 16 characters of Crockford base32 drawn with `secrets` (80
random bits) and a check character (Luhn mod 32), so a mistyped code is
refused before any lookup. A voucher holds a cash value or a basket of
products (its lines, issued from a basket item: see basket.py). It is
redeemed fully or in parts until its amount, or every product's quantity,
is used; each redemption is recorded (with its products for a basket)."""
import datetime as dt
import secrets
from decimal import Decimal

from sql import For, Null, Values
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Exclude, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard
from trytond.modules.spp_registry.bulk import (
    guard_references, invalidate_cache)

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
    """CODE_LENGTH characters from 5 random bits each (`secrets`: 80 bits,
    as many draws of the alphabet, at a sixth of their cost) and the check
    character."""
    bits = secrets.randbits(5 * CODE_LENGTH)
    body = ''.join(ALPHABET[(bits >> shift) & 31]
        for shift in range(0, 5 * CODE_LENGTH, 5))
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
    __string__ = "Voucher Redemption"
    __name__ = 'spp.entitlement.redemption'
    entitlement = fields.Many2One('spp.entitlement', "Voucher",
        required=True, ondelete='RESTRICT', readonly=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'on_change_with_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        readonly=True,
        domain=['OR', ('amount', '=', None), ('amount', '>', 0)],
        help="Empty for the products of a basket voucher.")
    lines = fields.One2Many('spp.entitlement.redemption.line', 'redemption',
        "Products", readonly=True)
    date = fields.Date("Date", required=True, readonly=True)
    redeemed_by = fields.Many2One('res.user', "Recorded By", readonly=True)
    vendor = fields.Char("Vendor", readonly=True)

    @fields.depends('entitlement', '_parent_entitlement.currency')
    def on_change_with_currency(self, name=None):
        return self.entitlement.currency if self.entitlement else None


class RedemptionLine(ModelSQL, ModelView):
    "Voucher Redemption Line"
    __string__ = "Voucher Redemption Line"
    __name__ = 'spp.entitlement.redemption.line'
    redemption = fields.Many2One('spp.entitlement.redemption', "Redemption",
        required=True, ondelete='CASCADE', readonly=True)
    product = fields.Many2One('product.product', "Product", required=True,
        ondelete='RESTRICT', readonly=True)
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True,
        readonly=True, domain=[('quantity', '>', 0)])
    uom = fields.Many2One('product.uom', "Unit", required=True,
        ondelete='RESTRICT', readonly=True)


class VoucherLine(ModelSQL, ModelView):
    "Voucher Basket Line"
    __string__ = "Voucher Basket Line"
    __name__ = 'spp.entitlement.voucher.line'
    entitlement = fields.Many2One('spp.entitlement', "Voucher",
        required=True, ondelete='CASCADE', readonly=True)
    product = fields.Many2One('product.product', "Product", required=True,
        ondelete='RESTRICT', readonly=True)
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True,
        readonly=True, domain=[('quantity', '>', 0)])
    uom = fields.Many2One('product.uom', "Unit", required=True,
        ondelete='RESTRICT', readonly=True)
    redeemed_quantity = fields.Numeric("Redeemed", digits=(16, 4),
        required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('entitlement_product_unique',
                Unique(t, t.entitlement, t.product),
                'spp_entitlement.msg_basket_product_unique'),
            ]
        cls._order = [('entitlement', 'ASC'), ('id', 'ASC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Basket preparation inserts a line per voucher and product.
        guard_references(cls)

    @classmethod
    def default_redeemed_quantity(cls):
        return Decimal(0)

    def get_rec_name(self, name):
        return self.product.rec_name


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'
    redeemed_amount = fields.Numeric("Redeemed", digits=(16, 4),
        readonly=True)
    redemptions = fields.One2Many('spp.entitlement.redemption',
        'entitlement', "Redemptions", readonly=True)
    basket_lines = fields.One2Many('spp.entitlement.voucher.line',
        'entitlement', "Basket", readonly=True,
        help="The products of a basket voucher and how much of each was "
        "redeemed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # Codes are unique among the entitlements that have one: partial,
        # so that the cash entitlements (no code) add no index entry when
        # they are prepared or approved.
        cls._sql_constraints += [
            ('code_exclude', Exclude(t, (t.code, Equal),
                    where=t.code != Null),
                'spp_entitlement.msg_voucher_code_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        # Migration: the unique constraint on every code (NULLs included)
        # became the partial exclusion constraint above.
        table_h.drop_constraint('code_unique')
        super().__register__(module)

    @classmethod
    def default_redeemed_amount(cls):
        return Decimal(0)

    @classmethod
    def copy(cls, entitlements, default=None):
        """A copy (a correction) is a new voucher: its own code, unredeemed,
        with the same basket lines (nothing of them redeemed). The ORM's
        copy skips read-only One2Many fields, so the lines are copied
        here."""
        VoucherLine = Pool().get('spp.entitlement.voucher.line')
        default = default.copy() if default else {}
        default.setdefault('code', None)
        default.setdefault('redeemed_amount', Decimal(0))
        copies = super().copy(entitlements, default=default)
        if 'basket_lines' not in default:
            to_create = [{
                    'entitlement': copy.id, 'product': line.product.id,
                    'quantity': line.quantity, 'uom': line.uom.id,
                    'redeemed_quantity': Decimal(0)}
                for origin, copy in zip(entitlements, copies)
                for line in origin.basket_lines]
            if to_create:
                # The lines are read-only records: only issuing and
                # correcting vouchers make them.
                with without_check_access():
                    VoucherLine.create(to_create)
        return copies

    @classmethod
    def assign_codes(cls, cycle, ids=None):
        """Give a code to each approved voucher of the cycle (of `ids` only,
        if given) without one: one UPDATE ... FROM (VALUES ...) per 1,000
        vouchers (one UPDATE per voucher took 30 s for 100,000; this,
        6 s)."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        where = ((table.cycle == cycle.id) & (table.kind == 'voucher')
            & (table.state == 'approved') & (table.code == Null))
        if ids is not None:
            # By id: the cycle's other entitlements are not read.
            where &= table.id.in_(ids)
        cursor.execute(*table.select(table.id, where=where))
        ids = [i for i, in cursor.fetchall()]
        for start in range(0, len(ids), 1000):
            codes = Values([[id_, new_code()]
                    for id_ in ids[start:start + 1000]])
            cursor.execute(*table.update([table.code], [codes.column2],
                    from_=[codes], where=table.id == codes.column1))
        invalidate_cache(cls)
        return len(ids)

    @classmethod
    def _approve(cls, cycle, ids=None):
        count = super()._approve(cycle, ids)
        cls.assign_codes(cycle, ids)
        return count

    @classmethod
    def _voucher_to_redeem(cls, code, date):
        """The voucher of `code`, locked: a valid code of an approved
        voucher, within its validity on `date`."""
        if not is_valid(code):
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_invalid_code', code=code))
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
        return voucher

    def _set_redeemed(self, amount, redeemed):
        "Record the redeemed amount; the voucher is redeemed once used up."
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.redeemed_amount, table.state, table.write_date],
                [amount, 'redeemed' if redeemed else 'approved',
                    dt.datetime.now()],
                where=table.id == self.id))
        invalidate_cache(self.__class__)

    @classmethod
    def redeem(cls, code, amount, vendor=None, date=None):
        """Redeem `amount` of the voucher `code` (fully or partly): the
        code must be valid and approved, within its validity, the voucher
        of a cash value and the amount at most what is left. Return the
        redemption."""
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
        voucher = cls._voucher_to_redeem(code, date)
        if voucher.basket_lines:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_is_basket', code=code))
        left = voucher.amount - (voucher.redeemed_amount or 0)
        if amount > left:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_exceeds', code=code,
                    amount=amount, left=left))
        # Redemptions are read-only records: only this method makes them.
        with without_check_access():
            redemption, = Redemption.create([{'entitlement': voucher.id,
                        'amount': amount, 'date': date, 'vendor': vendor,
                        'redeemed_by': Transaction().user}])
        redeemed = (voucher.redeemed_amount or 0) + amount
        voucher._set_redeemed(redeemed, redeemed == voucher.amount)
        return redemption

    @classmethod
    def redeem_products(cls, code, quantities, vendor=None, date=None):
        """Redeem quantities of the products of the basket voucher `code`
        (fully or partly): `quantities` maps a product to a quantity in
        the unit of the voucher, each positive and at most what is left
        of it. The voucher is redeemed once every product is used up.
        Return the redemption."""
        pool = Pool()
        Redemption = pool.get('spp.entitlement.redemption')
        VoucherLine = pool.get('spp.entitlement.voucher.line')
        date = date or pool.get('ir.date').today()
        voucher = cls._voucher_to_redeem(code, date)
        if not voucher.basket_lines:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_not_basket', code=code))
        if not quantities:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_no_products', code=code))
        lines = {line.product: line for line in voucher.basket_lines}
        redeemed = []
        for product, quantity in quantities.items():
            quantity = Decimal(quantity)
            line = lines.get(product)
            if line is None:
                raise EntitlementError(gettext(
                        'spp_entitlement.msg_voucher_product_unknown',
                        code=code, product=product.rec_name))
            if quantity <= 0:
                raise EntitlementError(gettext(
                        'spp_entitlement.msg_voucher_quantity',
                        product=product.rec_name, quantity=quantity))
            rounding = Decimal(str(line.uom.rounding))
            if quantity % rounding:
                raise EntitlementError(gettext(
                        'spp_entitlement.msg_voucher_quantity_rounding',
                        code=code, product=product.rec_name,
                        quantity=quantity, uom=line.uom.symbol,
                        rounding=rounding))
            left = line.quantity - line.redeemed_quantity
            if quantity > left:
                raise EntitlementError(gettext(
                        'spp_entitlement.msg_voucher_quantity_exceeds',
                        code=code, product=product.rec_name,
                        quantity=quantity, left=left,
                        uom=line.uom.symbol))
            redeemed.append((line, quantity))
        with without_check_access():
            redemption, = Redemption.create([{'entitlement': voucher.id,
                        'date': date, 'vendor': vendor,
                        'redeemed_by': Transaction().user,
                        'lines': [('create', [{
                                        'product': line.product.id,
                                        'quantity': quantity,
                                        'uom': line.uom.id}
                                    for line, quantity in redeemed])]}])
            for line, quantity in redeemed:
                VoucherLine.write([line], {'redeemed_quantity':
                        line.redeemed_quantity + quantity})
        used_up = all(line.redeemed_quantity >= line.quantity
            for line in VoucherLine.browse(
                [line.id for line in lines.values()]))
        voucher._set_redeemed(voucher.redeemed_amount or Decimal(0),
            used_up)
        return redemption


class RedeemStart(ModelView):
    "Redeem Voucher"
    __string__ = "Redeem Voucher"
    __name__ = 'spp.entitlement.redeem.start'
    code = fields.Char("Code", required=True,
        help="As printed on the voucher; dashes and spaces are ignored.")
    amount = fields.Numeric("Amount", digits=(16, 4),
        domain=['OR', ('amount', '=', None), ('amount', '>', 0)],
        help="For a voucher of a cash value.")
    products = fields.One2Many('spp.entitlement.redeem.start.line', None,
        "Products", help="For a basket voucher: the quantities handed "
        "out, in the units of the voucher.")
    vendor = fields.Char("Vendor")
    date = fields.Date("Date", required=True)

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class RedeemStartLine(ModelView):
    "Redeem Voucher Product"
    __string__ = "Redeem Voucher Product"
    __name__ = 'spp.entitlement.redeem.start.line'
    product = fields.Many2One('product.product', "Product", required=True)
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True,
        domain=[('quantity', '>', 0)])


class Redeem(Wizard):
    "Redeem Voucher"
    __string__ = "Redeem Voucher"
    __name__ = 'spp.entitlement.redeem'
    start = StateView('spp.entitlement.redeem.start',
        'spp_entitlement.redeem_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Redeem", 'redeem', 'tryton-ok', default=True),
            ])
    redeem = StateTransition()

    def transition_redeem(self):
        """An amount redeems a cash voucher, product quantities a basket
        voucher; one of the two, not both."""
        Entitlement = Pool().get('spp.entitlement')
        start = self.start
        if bool(start.amount) == bool(start.products):
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_voucher_amount_or_products',
                    code=start.code))
        if start.products:
            quantities = {}
            for line in start.products:
                quantities[line.product] = (
                    quantities.get(line.product, 0) + line.quantity)
            Entitlement.redeem_products(start.code, quantities,
                vendor=start.vendor, date=start.date)
        else:
            Entitlement.redeem(start.code, start.amount,
                vendor=start.vendor, date=start.date)
        return 'end'
