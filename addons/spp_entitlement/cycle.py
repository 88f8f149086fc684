"""The entitlements of a cycle: its buttons to prepare, submit and approve
them, the next expiry it keeps, and the preview wizard."""
from decimal import Decimal

from sql.aggregate import Count, Min, Sum
from sql.conditionals import Coalesce, Least
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .preparation import PREPARABLE_CYCLE_STATES


class Cycle(metaclass=PoolMeta):
    __name__ = 'spp.cycle'
    entitlements = fields.One2Many('spp.entitlement', 'cycle',
        "Entitlements", readonly=True)
    next_expiry = fields.Date("Next Entitlement Expiry", readonly=True,
        help="The earliest end of validity of the cycle's approved "
        "entitlements: the day after it, the daily task expires those "
        "not yet redeemed.")
    entitlement_count = fields.Function(fields.Integer("Entitlements",
            help="The cycle's entitlements, not counting those rejected "
            "or cancelled."), 'get_entitlement_totals')
    entitlement_amount = fields.Function(Monetary("Entitlements Total",
            currency='currency', digits='currency',
            help="The amounts of these entitlements, fees not included."),
        'get_entitlement_totals')
    entitlement_fee = fields.Function(Monetary("Fees",
            currency='currency', digits='currency',
            help="The transfer fees of these entitlements."),
        'get_entitlement_totals')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'prepare_entitlements': {
                    'invisible': ~Eval('state').in_(
                        list(PREPARABLE_CYCLE_STATES)),
                    'depends': ['state'],
                    },
                'submit_entitlements': {
                    'invisible': ~Eval('state').in_(
                        list(PREPARABLE_CYCLE_STATES)),
                    'depends': ['state'],
                    },
                'approve_entitlements': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        migrate = (not table_h.column_exist('next_expiry')
            and backend.TableHandler.table_exist('spp_entitlement'))
        super().__register__(module)
        if migrate:
            cls.reset_expiry()

    @classmethod
    def plan_expiry(cls, cycle, expiry):
        "Bring the cycle's next expiry forward to `expiry` if it is earlier."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.next_expiry],
                [Least(Coalesce(table.next_expiry, expiry), expiry)],
                where=table.id == cycle.id))
        invalidate_cache(cls)

    @classmethod
    def reset_expiry(cls, cycle=None):
        """Set the next expiry of `cycle` (of every cycle if None) to the
        earliest validity end of its approved entitlements."""
        Entitlement = Pool().get('spp.entitlement')
        table, entitlement = cls.__table__(), Entitlement.__table__()
        cursor = Transaction().connection.cursor()
        earliest = entitlement.select(Min(entitlement.valid_until),
            where=(entitlement.cycle == table.id)
            & (entitlement.state == 'approved'))
        cursor.execute(*table.update([table.next_expiry], [earliest],
                where=(table.id == cycle.id) if cycle else None))
        invalidate_cache(cls)

    @classmethod
    def get_entitlement_totals(cls, cycles, names):
        """Number, total amount and total fee of the entitlements of each
        cycle (rejected and cancelled ones left out), in one GROUP BY."""
        Entitlement = Pool().get('spp.entitlement')
        table = Entitlement.__table__()
        cursor = Transaction().connection.cursor()
        ids = [c.id for c in cycles]
        totals = {i: (0, Decimal(0), Decimal(0)) for i in ids}
        for sub_ids in grouped_slice(ids, 10000):
            cursor.execute(*table.select(table.cycle, Count(table.id),
                    Coalesce(Sum(table.amount), 0),
                    Coalesce(Sum(table.fee), 0),
                    where=table.cycle.in_(list(sub_ids))
                    & ~table.state.in_(['rejected', 'cancelled']),
                    group_by=[table.cycle]))
            for cycle, count, amount, fee in cursor:
                totals[cycle] = (count, Decimal(str(amount)),
                    Decimal(str(fee)))
        columns = ['entitlement_count', 'entitlement_amount',
            'entitlement_fee']
        return {name: {i: t[columns.index(name)] for i, t in totals.items()}
            for name in names}

    @classmethod
    def contents(cls, cycles):
        """Cycles with entitlements hold their number and total ("237
        entitlements, 118,500.00 PHP"); the others their beneficiaries."""
        result = super().contents(cycles)
        lang = Pool().get('ir.lang').get()
        totals = cls.get_entitlement_totals(cycles, [
                'entitlement_count', 'entitlement_amount', 'entitlement_fee'])
        for cycle in cycles:
            count = totals['entitlement_count'][cycle.id]
            if not count:
                continue
            currency = cycle.currency

            def money(value):
                return (f'{lang.format_number(value, currency.digits)} '
                    f'{currency.code}')
            fee = totals['entitlement_fee'][cycle.id]
            result[cycle.id] = gettext(
                'spp_entitlement.msg_cycle_entitlements'
                + ('_fee' if fee else ''),
                count=lang.format_number(count, 0),
                amount=money(totals['entitlement_amount'][cycle.id]),
                fee=money(fee))
        return result

    @classmethod
    def copy(cls, cycles, default=None):
        default = default.copy() if default else {}
        default.setdefault('entitlements', None)
        default.setdefault('next_expiry', None)
        return super().copy(cycles, default=default)

    @classmethod
    @ModelView.button_action('spp_entitlement.wizard_preview_entitlements')
    def prepare_entitlements(cls, cycles):
        pass

    @classmethod
    @ModelView.button
    def submit_entitlements(cls, cycles):
        "Submit every draft entitlement of the cycles for validation."
        Entitlement = Pool().get('spp.entitlement')
        table = Entitlement.__table__()
        cursor = Transaction().connection.cursor()
        for cycle in cycles:
            cursor.execute(*table.update(
                    [table.state, table.write_uid, table.write_date],
                    ['pending_validation', Transaction().user,
                        CurrentTimestamp()],
                    where=(table.cycle == cycle.id)
                    & (table.state == 'draft')))
        invalidate_cache(Entitlement)
        cls.notify_done(cycles,
            'spp_entitlement.msg_cycle_entitlements_submitted_notice')

    @classmethod
    @ModelView.button
    def approve_entitlements(cls, cycles):
        """Approve every pending entitlement of the cycles (Finance
        Validators), refused as a whole beyond the program's funds."""
        Entitlement = Pool().get('spp.entitlement')
        for cycle in cycles:
            Entitlement._approve(cycle)
        cls.notify_done(cycles,
            'spp_entitlement.msg_cycle_entitlements_approved_notice')


class PreviewEntitlementsStart(ModelView):
    "Prepare Entitlements"
    __string__ = "Prepare Entitlements"
    __name__ = 'spp.entitlement.preview.start'
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    count = fields.Integer("Entitlements", readonly=True)
    amount = Monetary("Total Amount", currency='currency',
        digits='currency', readonly=True)
    fee = Monetary("Total Fee", currency='currency', digits='currency',
        readonly=True)
    in_kind = fields.Text("In-Kind", readonly=True,
        help="Per in-kind item: beneficiaries and total quantity.")


class PreviewEntitlements(Wizard):
    "Prepare Entitlements"
    __string__ = "Prepare Entitlements"
    __name__ = 'spp.entitlement.preview'
    start = StateView('spp.entitlement.preview.start',
        'spp_entitlement.preview_entitlements_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Prepare", 'prepare', 'tryton-ok', default=True),
            ])
    prepare = StateTransition()

    def default_start(self, fields):
        Entitlement = Pool().get('spp.entitlement')
        count, amount, fee = Entitlement.preview(self.record)
        in_kind = '\n'.join(
            f'{item.rec_name}: {quantity} {item.uom.symbol} for {count}'
            for item, count, quantity in Entitlement.preview_in_kind(
                self.record))
        return {'cycle': self.record.id,
            'currency': self.record.program.currency.id,
            'count': count, 'amount': amount, 'fee': fee,
            'in_kind': in_kind}

    def transition_prepare(self):
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Entitlement.prepare(self.record)
        Cycle.notify_done([self.record],
            'spp_entitlement.msg_cycle_entitlements_prepared_notice')
        return 'end'
