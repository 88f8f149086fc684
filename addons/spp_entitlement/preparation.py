"""Set-based preparation of a cycle's entitlements: what the rules give
each beneficiary, as one query, previewed or inserted in one statement."""
import datetime as dt
from decimal import Decimal

from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.modules.spp_registry.bulk import (
    insert_select, invalidate_cache, typed)
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import EntitlementError

PREPARABLE_CYCLE_STATES = {'draft', 'to_approve', 'approved'}


class EntitlementPreparationMixin:
    "Prepare and preview the entitlements of spp.entitlement for a cycle."
    __slots__ = ()

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
                    cycle=cycle.rec_name, state=cycle.state_string))
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
