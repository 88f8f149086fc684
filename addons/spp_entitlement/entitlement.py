"""Entitlements: prepared for a cycle in SQL, approved against the funds.

Each entitlement holds a `slot` (1 while it is live, NULL once rejected or
cancelled) in its unique key: a beneficiary has at most one live
entitlement per cycle, kind and item, and a correction (cancel + new) keeps
both records."""
import datetime as dt
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Coalesce, Least
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.modules.spp_programs.action import (
    now_in_seconds, reserve_page_space, without_index_on)
from trytond.modules.spp_programs.bulk_insert import (
    guard_references, insert_select)
from trytond.modules.spp_programs.copied import CopiedReferenceMixin
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import EntitlementError
from .sqltools import invalidate_cache, typed

KINDS = [
    ('cash', "Cash"),
    ('in_kind', "In-Kind"),
    ('voucher', "Voucher"),
    ]
LOCKED_FIELDS = {'cycle', 'cycle_membership', 'registrant', 'kind', 'item',
    'amount', 'fee', 'valid_from', 'valid_until', 'in_kind_item', 'product',
    'quantity', 'uom'}
PREPARABLE_CYCLE_STATES = {'draft', 'to_approve', 'approved'}


class Entitlement(CopiedReferenceMixin, Workflow, ModelSQL, ModelView):
    "Entitlement"
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
    item_key = fields.Integer("Item Key", required=True, readonly=True)
    slot = fields.Integer("Live", readonly=True,
        help="1 while the entitlement is live; empty once rejected or "
        "cancelled (it then frees its place for a correction).")
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    amount = fields.Numeric("Amount", digits=(16, 4), required=True,
        domain=[('amount', '>=', 0)], states=_states)
    fee = fields.Numeric("Fee", digits=(16, 4), required=True,
        domain=[('fee', '>=', 0)], states=_states)
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

    def get_currency(self, name):
        return self.cycle.program.currency.id

    def get_rec_name(self, name):
        return f'{self.registrant.rec_name} / {self.cycle.rec_name}'

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
                            state=entitlement.state))
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

    # Set-based preparation ----------------------------------------------

    @classmethod
    def _computed_query(cls, cycle):
        """Sub-query (cycle_membership, registrant, amount, fee) of the
        cash entitlements the rules give to the cycle's beneficiaries who
        have no live entitlement beyond draft."""
        pool = Pool()
        CycleMembership = pool.get('spp.cycle.membership')
        Party = pool.get('party.party')
        membership = CycleMembership.__table__()
        party = Party.__table__()
        from_, amount, fee = cycle.program.sql_entitlement(
            party, membership.join(party,
                condition=membership.registrant == party.id))
        where = membership.cycle == cycle.id
        unsettled = cls._unsettled(cycle, membership,
            cycle.program.entitlement_kind, 0)
        if unsettled is not None:
            where &= unsettled
        return from_.select(
            membership.id.as_('membership'),
            membership.registrant.as_('registrant'),
            amount.as_('amount'), fee.as_('fee'),
            where=where)

    @classmethod
    def _unsettled(cls, cycle, membership, kind, item_key):
        """Condition that the cycle membership row `membership` has no
        live entitlement of `kind` and `item_key` beyond draft, or None
        when the cycle has none at all (the usual first preparation).

        The anti-join is left out when it cannot match: right after a bulk
        insert (or the rollback of one) PostgreSQL's statistics may still
        call the table empty, and the planner then probes it by a
        sequential scan per beneficiary, which stalled preparation at
        100,000 beneficiaries. When it is needed, it matches the unique
        key's columns in order so that each probe is an index look-up."""
        table = cls.__table__()

        def settled(table):
            return ((table.cycle == cycle.id) & (table.kind == kind)
                & (table.item_key == item_key) & (table.slot == 1)
                & (table.state != 'draft'))
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(Literal(1), where=settled(table),
                limit=1))
        if not cursor.fetchone():
            return None
        existing = cls.__table__()
        return ~Exists(existing.select(existing.id, where=settled(existing)
                & (existing.cycle_membership == membership.id)))

    @classmethod
    def _item_beneficiaries(cls, cycle, item, kind):
        """(from, membership table, party table, where) of the cycle's
        beneficiaries matching `item`'s condition who have no live
        entitlement of `kind` for it beyond draft: what an in-kind or a
        basket item's preparation selects from."""
        pool = Pool()
        CycleMembership = pool.get('spp.cycle.membership')
        Party = pool.get('party.party')
        membership = CycleMembership.__table__()
        party = Party.__table__()
        from_ = membership.join(party,
            condition=membership.registrant == party.id)
        condition = item.condition_query()
        if condition is not None:
            from_ = from_.join(condition, condition=condition.id == party.id)
        where = membership.cycle == cycle.id
        unsettled = cls._unsettled(cycle, membership, kind, item.id)
        if unsettled is not None:
            where &= unsettled
        return from_, membership, party, where

    @classmethod
    def preview(cls, cycle):
        "(count, total amount, total fee) that preparing would write."
        cls.check_preparable(cycle)
        computed = cls._computed_query(cycle)
        cursor = Transaction().connection.cursor()
        cursor.execute(*computed.select(Count(computed.membership),
                Coalesce(Sum(computed.amount), 0),
                Coalesce(Sum(computed.fee), 0),
                where=computed.amount > 0))
        count, amount, fee = cursor.fetchone()
        currency = cycle.program.currency
        return (count, currency.round(Decimal(str(amount))),
            currency.round(Decimal(str(fee))))

    @staticmethod
    def check_preparable(cycle):
        if cycle.state not in PREPARABLE_CYCLE_STATES:
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_cycle_not_preparable',
                    cycle=cycle.rec_name, state=cycle.state))
        if not cycle.program.has_entitlement_rules():
            raise EntitlementError(gettext(
                    'spp_entitlement.msg_program_no_items',
                    program=cycle.program.rec_name))

    @staticmethod
    def validity(cycle):
        "(valid from, valid until) of the entitlements of `cycle`."
        program = cycle.program
        valid_until = cycle.end_date
        if program.entitlement_validity_days:
            valid_until = cycle.start_date + dt.timedelta(
                days=program.entitlement_validity_days - 1)
        return cycle.start_date, valid_until

    @classmethod
    def prepare(cls, cycle):
        """(Re)prepare the entitlements of a cycle (cash or vouchers, as the
        program says; the amount from the cash items): delete its drafts
        and insert one draft per beneficiary with a positive amount, in
        two statements; beneficiaries already submitted keep theirs."""
        cls.check_preparable(cycle)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        kind = cycle.program.entitlement_kind
        cursor.execute(*table.delete(where=(table.cycle == cycle.id)
                & (table.state == 'draft') & (table.kind == kind)))
        if not cycle.program.entitlement_items:
            return 0
        computed = cls._computed_query(cycle)
        valid_from, valid_until = cls.validity(cycle)
        user = Transaction().user
        count = insert_select(cls, table.insert([
                    table.cycle, table.cycle_membership, table.registrant,
                    table.kind, table.item_key, table.slot, table.amount,
                    table.fee, table.valid_from, table.valid_until,
                    table.state, table.create_uid, table.create_date],
                computed.select(
                    typed(cls, 'cycle', cycle.id), computed.membership,
                    computed.registrant, typed(cls, 'kind', kind),
                    typed(cls, 'item_key', 0), typed(cls, 'slot', 1),
                    computed.amount, computed.fee,
                    Literal(valid_from), Literal(valid_until),
                    typed(cls, 'state', 'draft'),
                    typed(cls, 'create_uid', user), CurrentTimestamp(),
                    where=computed.amount > 0,
                    # Ids in registrant order whatever the plan: payments
                    # and files follow them.
                    order_by=[computed.registrant.asc])))
        invalidate_cache(cls)
        return count


class Cycle(metaclass=PoolMeta):
    __name__ = 'spp.cycle'
    entitlements = fields.One2Many('spp.entitlement', 'cycle',
        "Entitlements", readonly=True)
    next_expiry = fields.Date("Next Entitlement Expiry", readonly=True,
        help="The earliest end of validity of the cycle's approved "
        "entitlements: the day after it, the daily task expires those "
        "not yet redeemed.")

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

    @classmethod
    @ModelView.button
    def approve_entitlements(cls, cycles):
        """Approve every pending entitlement of the cycles (Finance
        Validators), refused as a whole beyond the program's funds."""
        Entitlement = Pool().get('spp.entitlement')
        for cycle in cycles:
            Entitlement._approve(cycle)


class PreviewEntitlementsStart(ModelView):
    "Prepare Entitlements"
    __name__ = 'spp.entitlement.preview.start'
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    count = fields.Integer("Entitlements", readonly=True)
    amount = fields.Numeric("Total Amount", digits=(16, 4), readonly=True)
    fee = fields.Numeric("Total Fee", digits=(16, 4), readonly=True)
    in_kind = fields.Text("In-Kind", readonly=True,
        help="Per in-kind item: beneficiaries and total quantity.")


class PreviewEntitlements(Wizard):
    "Prepare Entitlements"
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
        return {'cycle': self.record.id, 'count': count, 'amount': amount,
            'fee': fee, 'in_kind': in_kind}

    def transition_prepare(self):
        Entitlement = Pool().get('spp.entitlement')
        Entitlement.prepare(self.record)
        return 'end'
