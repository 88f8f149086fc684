"""Cycles and money: per cycle and area, the beneficiaries and the
entitlements planned, approved and paid with their fees; per cycle the
plan (the program targets) against what was done; per program the fund:
posted, committed, paid and available."""
from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Coalesce

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.spp_entitlement.fund import COMMITTED, PAID
from trytond.pool import Pool
from trytond.transaction import Transaction

from .programs import program_domain
from .registry import RecordsMixin
from .scope import (
    by_level, count_if, period_domain, reporting_areas, scoped, share,
    source, sum_if, typed_null, write_columns)

# Planned: every entitlement of the cycle but those refused or withdrawn.
NOT_PLANNED = ('rejected', 'cancelled')


def cycle_domain(field='cycle'):
    "The domain of the context's cycle (else program) on the cycle field."
    context = Transaction().context
    if context.get('cycle'):
        return [(field, '=', context['cycle'])]
    return program_domain(field + '.program')


def join_beneficiary(from_, entitlement):
    """(from_, beneficiary, cycle): from_ joined to the beneficiary (cycle
    membership: its area) and the cycle (its program) of `entitlement`."""
    pool = Pool()
    beneficiary = pool.get('spp.cycle.membership').__table__()
    cycle = pool.get('spp.cycle').__table__()
    from_ = from_.join(beneficiary,
        condition=beneficiary.id == entitlement.cycle_membership).join(
        cycle, condition=cycle.id == entitlement.cycle)
    return from_, beneficiary, cycle


class CycleArea(RecordsMixin, ModelSQL, ModelView):
    "Cycle Money by Area"
    __string__ = "Cycle Money by Area"
    __name__ = 'spp.report.cycle.area'
    _records_area = 'cycle_membership.area'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True)
    beneficiaries = fields.Integer("Beneficiaries", readonly=True)
    planned = fields.Integer("Planned", readonly=True,
        help="Entitlements of the cycle, but rejected or cancelled ones.")
    planned_amount = fields.Numeric("Planned Amount", digits=(16, 2),
        readonly=True)
    approved = fields.Integer("Approved", readonly=True,
        help="Approved entitlements, paid or not.")
    approved_amount = fields.Numeric("Approved Amount", digits=(16, 2),
        readonly=True)
    paid = fields.Integer("Paid", readonly=True,
        help="Entitlements distributed or redeemed.")
    paid_amount = fields.Numeric("Paid Amount", digits=(16, 2),
        readonly=True)
    fees = fields.Numeric("Fees", digits=(16, 2), readonly=True,
        help="The fees of the approved entitlements.")
    paid_share = fields.Float("Paid (%)", digits=(3, 1), readonly=True,
        help="Paid entitlements out of the approved ones.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('cycle', 'DESC'), ('approved_amount', 'DESC'),
            ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Entitlement = Pool().get('spp.entitlement')
        tables, where = scoped(Entitlement, 'cycle_membership.area',
            cycle_domain() + period_domain('cycle.start_date'))
        from_, entitlement = source(tables)
        from_, beneficiary, cycle = join_beneficiary(from_, entitlement)
        from_, area = by_level(from_, beneficiary.area)
        state = entitlement.state
        planned = ~state.in_(NOT_PLANNED)
        committed = state.in_(COMMITTED)
        paid = state.in_(PAID)
        approved = count_if(committed)
        paid_count = count_if(paid)
        return from_.select(
            Min(entitlement.id).as_('id'), *write_columns(),
            cycle.program.as_('program'),
            entitlement.cycle.as_('cycle'), area.as_('area'),
            Count(entitlement.cycle_membership, distinct=True).as_(
                'beneficiaries'),
            count_if(planned).as_('planned'),
            sum_if(planned, entitlement.amount).as_('planned_amount'),
            approved.as_('approved'),
            sum_if(committed, entitlement.amount).as_('approved_amount'),
            paid_count.as_('paid'),
            sum_if(paid, entitlement.amount).as_('paid_amount'),
            sum_if(committed, Coalesce(entitlement.fee, 0)).as_('fees'),
            share(paid_count, approved).as_('paid_share'),
            where=where,
            group_by=[cycle.program, entitlement.cycle, area])

    def _records(self):
        return 'spp.entitlement', [('cycle', '=', self.cycle.id)] + (
            self._area_domain('cycle_membership.area', self.area))


class CyclePlan(RecordsMixin, ModelSQL, ModelView):
    "Plan and Actual by Cycle"
    __string__ = "Plan and Actual by Cycle"
    __name__ = 'spp.report.cycle.plan'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    planned_beneficiaries = fields.Integer("Planned Beneficiaries",
        readonly=True, help="From the program targets: the cycle's, else "
        "the program's standing target; empty without one.")
    beneficiaries = fields.Integer("Beneficiaries", readonly=True)
    beneficiaries_share = fields.Float("Beneficiaries of Plan (%)",
        digits=(3, 1), readonly=True)
    planned_budget = fields.Numeric("Planned Budget", digits=(16, 2),
        readonly=True)
    approved_amount = fields.Numeric("Approved Amount", digits=(16, 2),
        readonly=True)
    paid_amount = fields.Numeric("Paid Amount", digits=(16, 2),
        readonly=True)
    budget_share = fields.Float("Approved of Budget (%)", digits=(3, 1),
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('program', 'ASC'), ('cycle', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Target = pool.get('spp.program.target')
        Entitlement = pool.get('spp.entitlement')
        Beneficiary = pool.get('spp.cycle.membership')
        cycle = Cycle.__table__()
        own, standing = Target.__table__(), Target.__table__()
        # The actuals from the cycle's beneficiaries and entitlements
        # the reader may count (one aggregate each, joined by cycle).
        b_tables, b_where = scoped(Beneficiary, 'area', cycle_domain())
        b_from, beneficiary = source(b_tables)
        counted = b_from.select(beneficiary.cycle.as_('cycle'),
            Count().as_('beneficiaries'),
            where=b_where, group_by=[beneficiary.cycle])
        e_tables, e_where = scoped(Entitlement, 'cycle_membership.area',
            cycle_domain())
        e_from, entitlement = source(e_tables)
        spent = e_from.select(entitlement.cycle.as_('cycle'),
            sum_if(entitlement.state.in_(COMMITTED),
                entitlement.amount).as_('approved'),
            sum_if(entitlement.state.in_(PAID),
                entitlement.amount).as_('paid'),
            where=e_where, group_by=[entitlement.cycle])
        where = cycle.state != 'cancelled'
        context = Transaction().context
        if context.get('cycle'):
            where &= cycle.id == context['cycle']
        elif context.get('program'):
            where &= cycle.program == context['program']
        planned_beneficiaries = Coalesce(
            own.beneficiaries, standing.beneficiaries)
        planned_budget = Coalesce(own.budget, standing.budget)
        beneficiaries = Coalesce(counted.beneficiaries, 0)
        approved = Coalesce(spent.approved, 0)
        return cycle.join(own, 'LEFT', condition=(
                (own.program == cycle.program) & (own.cycle == cycle.id))
            ).join(standing, 'LEFT', condition=(
                (standing.program == cycle.program)
                & (standing.cycle == Null))
            ).join(counted, 'LEFT', condition=counted.cycle == cycle.id
            ).join(spent, 'LEFT', condition=spent.cycle == cycle.id
            ).select(
            cycle.id.as_('id'), *write_columns(),
            cycle.program.as_('program'), cycle.id.as_('cycle'),
            planned_beneficiaries.as_('planned_beneficiaries'),
            beneficiaries.as_('beneficiaries'),
            share(beneficiaries, planned_beneficiaries).as_(
                'beneficiaries_share'),
            planned_budget.as_('planned_budget'),
            approved.as_('approved_amount'),
            Coalesce(spent.paid, 0).as_('paid_amount'),
            share(approved, planned_budget).as_('budget_share'),
            where=where)

    def _records(self):
        return 'spp.cycle.membership', [('cycle', '=', self.cycle.id)]


class Fund(RecordsMixin, ModelSQL, ModelView):
    "Program Funds"
    __string__ = "Program Funds"
    __name__ = 'spp.report.fund'
    _records_area = None
    program = fields.Many2One('spp.program', "Program", readonly=True)
    budget = fields.Numeric("Budget", digits=(16, 2), readonly=True,
        help="Funds posted to the program (national figures only: empty "
        "for a report limited to some areas).")
    committed = fields.Numeric("Committed", digits=(16, 2), readonly=True,
        help="Approved entitlements, amount and fee, paid or not.")
    paid = fields.Numeric("Paid", digits=(16, 2), readonly=True)
    available = fields.Numeric("Available", digits=(16, 2), readonly=True,
        help="Budget minus committed (national figures only).")

    @classmethod
    def table_query(cls):
        pool = Pool()
        Program = pool.get('spp.program')
        ProgramFund = pool.get('spp.program.fund')
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        program = Program.__table__()
        fund = ProgramFund.__table__()
        cycle = Cycle.__table__()
        e_tables, e_where = scoped(Entitlement, 'cycle_membership.area',
            [('state', 'in', COMMITTED)] + period_domain('cycle.start_date'))
        e_from, entitlement = source(e_tables)
        cost = entitlement.amount + Coalesce(entitlement.fee, 0)
        spent = e_from.join(cycle,
            condition=cycle.id == entitlement.cycle).select(
            cycle.program.as_('program'),
            Sum(cost).as_('committed'),
            sum_if(entitlement.state.in_(PAID), cost).as_('paid'),
            where=e_where, group_by=[cycle.program])
        national = (reporting_areas() is None
            and not Transaction().context.get('area'))
        posted = fund.select(fund.program.as_('program'),
            Sum(fund.amount).as_('amount'),
            where=fund.state == 'posted', group_by=[fund.program])
        committed = Coalesce(spent.committed, 0)
        if national:
            budget = Coalesce(posted.amount, 0)
            available = budget - committed
        else:
            budget = available = typed_null('NUMERIC')
        where = Literal(True)
        if Transaction().context.get('program'):
            where &= program.id == Transaction().context['program']
        return program.join(posted, 'LEFT',
            condition=posted.program == program.id).join(spent, 'LEFT',
            condition=spent.program == program.id).select(
            program.id.as_('id'), *write_columns(),
            program.id.as_('program'),
            budget.as_('budget'), committed.as_('committed'),
            Coalesce(spent.paid, 0).as_('paid'),
            available.as_('available'),
            where=where)

    def _records(self):
        return 'spp.program.fund', [('program', '=', self.program.id)]

