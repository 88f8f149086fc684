"""Entitlements: prepared for a cycle in SQL (preparation.py), approved
against the funds; the cycle's side is in cycle.py.

Each entitlement holds a `slot` (1 while it is live, NULL once rejected or
cancelled) in its unique key: a beneficiary has at most one live
entitlement per cycle, kind and item, and a correction (cancel + new) keeps
both records."""
import datetime as dt
from decimal import Decimal

from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.spp_programs.copied import CopiedReferenceMixin
from trytond.modules.spp_programs.run import now_in_seconds
from trytond.modules.spp_registry.bulk import (
    guard_references, invalidate_cache, reserve_page_space, without_index_on)
from trytond.modules.spp_registry.rec_name import any_field_matches
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import EntitlementError
from .preparation import EntitlementPreparationMixin

KINDS = [
    ('cash', "Cash"),
    ('in_kind', "In-Kind"),
    ('voucher', "Voucher"),
    ]
LOCKED_FIELDS = {'cycle', 'cycle_membership', 'registrant', 'kind', 'item',
    'amount', 'fee', 'valid_from', 'valid_until', 'in_kind_item', 'product',
    'quantity', 'uom'}


class Entitlement(EntitlementPreparationMixin, CopiedReferenceMixin, Workflow,
        ModelSQL, ModelView):
    "Entitlement"
    __string__ = "Entitlement"
    __name__ = 'spp.entitlement'
    _states = {'readonly': Eval('state') != 'draft'}
    cycle = fields.Many2One('spp.cycle', "Cycle", required=True,
        ondelete='RESTRICT', states=_states)
    cycle_membership = fields.Many2One('spp.cycle.membership', "Beneficiary",
        required=True, ondelete='RESTRICT', states=_states,
        domain=[('cycle', '=', Eval('cycle', -1))])
    registrant = fields.Many2One('party.party', "Registrant", required=True,
        ondelete='RESTRICT', states=_states)
    kind = fields.Selection(KINDS, "Kind", required=True, states=_states)
    item = fields.Many2One('spp.entitlement.item', "Item",
        ondelete='RESTRICT', states=_states,
        help="Empty for the cash total of a beneficiary.")
    item_name = fields.Function(fields.Char("Item",
            help="What the entitlement gives: the voucher or basket item, "
            "or the in-kind product; empty for a cash total."),
        'get_item_name')
    item_key = fields.Integer("Item Key", required=True, readonly=True)
    slot = fields.Integer("Live", readonly=True,
        help="1 while the entitlement is live; empty once rejected or "
        "cancelled (it then frees its place for a correction).")
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True, domain=[('amount', '>=', 0)], states=_states)
    fee = Monetary("Fee", currency='currency', digits='currency',
        required=True, domain=[('fee', '>=', 0)], states=_states)
    code = fields.Char("Code", readonly=True)
    valid_from = fields.Date("Valid From", states=_states)
    valid_until = fields.Date("Valid Until", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('pending_validation', "Pending Validation"),
            ('approved', "Approved"),
            ('distributed', "Distributed"),
            ('redeemed', "Redeemed"),
            ('rejected', "Rejected"),
            ('cancelled', "Cancelled"),
            ('expired', "Expired"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    approved_by = fields.Many2One('res.user', "Approved By", readonly=True)
    approved_at = fields.DateTime("Approved At", readonly=True)
    cancelled_by = fields.Many2One('res.user', "Cancelled By", readonly=True)
    cancelled_at = fields.DateTime("Cancelled At", readonly=True)
    correction_of = fields.Many2One('spp.entitlement', "Correction Of",
        readonly=True, ondelete='RESTRICT')
    del _states
    _copied_references = {
        'cycle': 'cycle_membership',
        'registrant': 'cycle_membership',
        }

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('beneficiary_unique', Unique(t, t.cycle, t.cycle_membership,
                    t.kind, t.item_key, t.slot),
                'spp_entitlement.msg_entitlement_unique'),
            ]
        # No index holds a column that submitting, approving or paying
        # writes (state, approved_by, approved_at): those bulk UPDATEs are
        # then HOT (see __register__). The unique key serves the look-ups
        # by cycle; the cycle's next_expiry leads the expiry cron.
        cls._sql_indexes.update({
                Index(t, (t.cycle_membership, Index.Range())),
                Index(t, (t.registrant, Index.Range())),
                # Deleting entitlements (re-preparing drafts) checks the
                # self-reference row by row: without an index each check
                # scans the table. Partial: most rows have none.
                Index(t, (t.correction_of, Index.Equality()),
                    where=t.correction_of != Null),
                Index(t, (t.item, Index.Equality()),
                    where=t.item != Null),
                })
        cls._order = [('cycle', 'DESC'), ('id', 'ASC')]
        cls._transitions |= {
            ('draft', 'pending_validation'),
            ('pending_validation', 'draft'),
            ('pending_validation', 'approved'),
            ('pending_validation', 'rejected'),
            ('approved', 'distributed'),
            ('approved', 'redeemed'),
            ('approved', 'expired'),
            ('draft', 'cancelled'),
            ('approved', 'cancelled'),
            }
        cls._buttons.update({
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reset_draft': {
                    'invisible': Eval('state') != 'pending_validation',
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'pending_validation',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': Eval('state') != 'pending_validation',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'approved']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __setup_indexes__(cls):
        """Leave out the index on `cycle` alone that the ORM adds for the
        cycle's One2Many: the unique key, which starts with the cycle,
        serves every look-up by cycle, and each index costs every prepared
        row an insertion."""
        super().__setup_indexes__()
        cls._sql_indexes = without_index_on(cls._sql_indexes, 'cycle')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # An entitlement changes state in bulk two or three times
        # (submitted, approved, paid): room for the next version of each
        # row on its page; the one before is pruned by then.
        reserve_page_space(cls, 50)
        guard_references(cls)

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_kind(cls):
        return 'cash'

    @classmethod
    def default_fee(cls):
        return Decimal(0)

    @classmethod
    def default_slot(cls):
        return 1

    @classmethod
    def get_currency(cls, entitlements, name):
        "The program's currency, in one query for all those read."
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Program = pool.get('spp.program')
        table, cycle = cls.__table__(), Cycle.__table__()
        program = Program.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice([e.id for e in entitlements], 10000):
            cursor.execute(*table.join(cycle,
                    condition=table.cycle == cycle.id).join(program,
                    condition=cycle.program == program.id).select(
                    table.id, program.currency,
                    where=table.id.in_(list(sub_ids))))
            result.update(cursor)
        return result

    def get_rec_name(self, name):
        return f'{self.registrant.rec_name} / {self.cycle.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        "Plain text finds the registrant (name or number) or the code."
        return any_field_matches(clause, ['registrant.rec_name', 'code'])

    @classmethod
    def get_item_name(cls, entitlements, name):
        # Browsing reads the items of all the entitlements at once.
        return {e.id: e.item.name if e.item else None for e in entitlements}

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            values.setdefault('item_key', values.get('item') or 0)
            if values.get('cycle_membership') and not values.get(
                    'registrant'):
                CycleMembership = Pool().get('spp.cycle.membership')
                values['registrant'] = CycleMembership(
                    values['cycle_membership']).registrant.id
        return values

    @classmethod
    def check_modification(cls, mode, entitlements, values=None,
            external=False):
        """Only drafts change: approved amounts are final, a correction
        is a cancellation and a new entitlement."""
        super().check_modification(
            mode, entitlements, values=values, external=external)
        if mode == 'write' and LOCKED_FIELDS & set(values or {}):
            for entitlement in entitlements:
                if entitlement.state != 'draft':
                    raise EntitlementError(gettext(
                            'spp_entitlement.msg_entitlement_locked',
                            entitlement=entitlement.rec_name,
                            state=entitlement.state_string))
        elif mode == 'delete':
            for entitlement in entitlements:
                if entitlement.state != 'draft':
                    raise EntitlementError(gettext(
                            'spp_entitlement.msg_entitlement_delete',
                            entitlement=entitlement.rec_name))

    @classmethod
    def validate_fields(cls, entitlements, field_names):
        super().validate_fields(entitlements, field_names)
        if field_names & {'amount', 'fee', 'cycle'}:
            for entitlement in entitlements:
                currency = entitlement.cycle.program.currency
                for value in [entitlement.amount, entitlement.fee]:
                    if currency.round(value) != value:
                        raise EntitlementError(gettext(
                                'spp_entitlement.msg_entitlement_digits',
                                amount=value, currency=currency.code))

    # Workflow -----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('pending_validation')
    def submit(cls, entitlements):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def reset_draft(cls, entitlements):
        pass

    @classmethod
    @ModelView.button
    def approve(cls, entitlements):
        """Approve pending entitlements: Finance Validators only (the
        button's group), on approved cycles, within the program's funds."""
        by_cycle = {}
        for entitlement in entitlements:
            by_cycle.setdefault(entitlement.cycle, []).append(entitlement.id)
        for cycle, ids in by_cycle.items():
            cls._approve(cycle, ids)

    @classmethod
    def _approve(cls, cycle, ids=None):
        """Approve the pending entitlements of `cycle` (those of `ids`
        only, if given) in one UPDATE after the fund check; return their
        number."""
        pool = Pool()
        Fund = pool.get('spp.program.fund')
        Cycle = pool.get('spp.cycle')
        Program = pool.get('spp.program')
        if cycle.state != 'approved':
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_cycle_not_approved',
                    cycle=cycle.rec_name))
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        where = (table.cycle == cycle.id) & (
            table.state == 'pending_validation')
        if ids is not None:
            where &= table.id.in_(ids)
        cursor.execute(*table.select(Count(table.id),
                Coalesce(Sum(table.amount + table.fee), 0),
                Min(table.valid_until), where=where))
        count, amount, expiry = cursor.fetchone()
        amount = Decimal(str(amount))
        Fund.check_available(cycle.program, amount)
        cursor.execute(*table.update(
                [table.state, table.approved_by, table.approved_at,
                    table.write_uid, table.write_date],
                ['approved', Transaction().user, now_in_seconds(),
                    Transaction().user, CurrentTimestamp()],
                where=where))
        Program.commit_amount(cycle.program, amount)
        if expiry is not None:
            Cycle.plan_expiry(cycle, expiry)
        invalidate_cache(cls)
        return count

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, entitlements):
        cls.write(entitlements, {'slot': None})

    @classmethod
    @ModelView.button
    def cancel(cls, entitlements):
        "Cancel; approved entitlements give their amount back to the funds."
        Program = Pool().get('spp.program')
        released = {}
        for entitlement in entitlements:
            if entitlement.state == 'approved':
                program = entitlement.cycle.program
                released[program] = released.get(program, 0) + (
                    entitlement.amount + (entitlement.fee or 0))
        cls._cancel(entitlements)
        for program, amount in released.items():
            Program.commit_amount(program, -amount)

    @classmethod
    @Workflow.transition('cancelled')
    def _cancel(cls, entitlements):
        cls.write(entitlements, {
                'slot': None,
                'cancelled_by': Transaction().user,
                'cancelled_at': dt.datetime.now(),
                })

    @classmethod
    def correct(cls, entitlement, amount, fee=None):
        """Cancel an approved entitlement and create its correction as a
        draft with the new amount; both stay recorded."""
        cls.cancel([entitlement])
        correction, = cls.copy([entitlement], default={
                'amount': amount,
                'fee': entitlement.fee if fee is None else fee,
                'state': 'draft', 'slot': 1,
                'approved_by': None, 'approved_at': None,
                'cancelled_by': None, 'cancelled_at': None,
                'correction_of': entitlement.id,
                })
        return correction

    @classmethod
    def expire_overdue(cls):
        """Expire approved entitlements not redeemed after their validity,
        cycle by cycle: only cycles whose next expiry has come are read."""
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Program = pool.get('spp.program')
        today = pool.get('ir.date').today()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for cycle in Cycle.search([('next_expiry', '<', today)]):
            approved = (table.cycle == cycle.id) & (table.state == 'approved')
            overdue = approved & (table.valid_until < today)
            cursor.execute(*table.select(
                    Coalesce(Sum(table.amount + table.fee), 0),
                    where=overdue))
            amount, = cursor.fetchone()
            cursor.execute(*table.update(
                    [table.state, table.write_date],
                    ['expired', CurrentTimestamp()],
                    where=overdue))
            Program.commit_amount(cycle.program, -Decimal(str(amount)))
            Cycle.reset_expiry(cycle)
        invalidate_cache(cls)
