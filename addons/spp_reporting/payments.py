"""Payment figures: payments by status and failure reason, and per cycle
the reconciliation rate (sent payments whose outcome the provider
reported) and the days from the entitlement's approval to payment."""
import datetime as dt

from sql import Null
from sql.aggregate import Avg, Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.spp_entitlement.fund import COMMITTED
from trytond.pool import Pool, PoolMeta

from . import sql_views
from .money import cycle_domain, join_beneficiary
from .registry import RecordsMixin
from .scope import (
    by_level, count_if, days_between, period_domain, scoped, share, source,
    write_columns)
from .snapshot import Indicator, _Trend

# Sent to the provider; of those, the ones it answered.
SENT = ('sent', 'paid', 'failed')
ANSWERED = ('paid', 'failed')


def join_entitlement(from_, payment):
    "(from_, entitlement): from_ joined to the entitlement of `payment`."
    entitlement = Pool().get('spp.entitlement').__table__()
    return from_.join(entitlement,
        condition=entitlement.id == payment.entitlement), entitlement


class PaymentStatus(RecordsMixin, ModelSQL, ModelView):
    "Payments by Status"
    __string__ = "Payments by Status"
    __name__ = 'spp.report.payment.status'
    _records_area = 'entitlement.cycle_membership.area'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True)
    state = fields.Selection('get_states', "Status", readonly=True)
    failure_reason = fields.Char("Failure Reason", readonly=True)
    payments = fields.Integer("Payments", readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 2), readonly=True)
    paid_amount = fields.Numeric("Paid Amount", digits=(16, 2),
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('cycle', 'DESC'), ('payments', 'DESC'),
            ('id', 'ASC')]

    @classmethod
    def get_states(cls):
        Payment = Pool().get('spp.payment')
        return Payment.fields_get(['state'])['state']['selection']

    @classmethod
    def table_query(cls):
        Payment = Pool().get('spp.payment')
        tables, where = scoped(Payment, cls._records_area,
            cycle_domain() + period_domain('cycle.start_date'))
        from_, payment = source(tables)
        from_, entitlement = join_entitlement(from_, payment)
        from_, beneficiary, cycle = join_beneficiary(from_, entitlement)
        from_, area = by_level(from_, beneficiary.area)
        group = [cycle.program, payment.cycle, area, payment.state,
            payment.failure_reason]
        return from_.select(
            Min(payment.id).as_('id'), *write_columns(),
            cycle.program.as_('program'), payment.cycle.as_('cycle'),
            area.as_('area'), payment.state.as_('state'),
            payment.failure_reason.as_('failure_reason'),
            Count().as_('payments'),
            Sum(payment.amount).as_('amount'),
            Sum(Coalesce(payment.paid_amount, 0)).as_('paid_amount'),
            where=where, group_by=group)

    def _records(self):
        return 'spp.payment', [('cycle', '=', self.cycle.id),
            ('state', '=', self.state),
            ('failure_reason', '=', self.failure_reason)] + (
            self._area_domain(self._records_area, self.area))


class PaymentCycle(RecordsMixin, ModelSQL, ModelView):
    "Payment Performance by Cycle"
    __string__ = "Payment Performance by Cycle"
    __name__ = 'spp.report.payment.cycle'
    _records_area = 'entitlement.cycle_membership.area'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    cycle = fields.Many2One('spp.cycle', "Cycle", readonly=True)
    payments = fields.Integer("Payments", readonly=True)
    blocked = fields.Integer("Blocked", readonly=True)
    issued = fields.Integer("Issued", readonly=True)
    sent = fields.Integer("Sent", readonly=True,
        help="Sent to the provider and not answered yet.")
    paid = fields.Integer("Paid", readonly=True)
    failed = fields.Integer("Failed", readonly=True)
    paid_amount = fields.Numeric("Paid Amount", digits=(16, 2),
        readonly=True)
    failed_amount = fields.Numeric("Failed Amount", digits=(16, 2),
        readonly=True)
    reconciliation_rate = fields.Float("Reconciled (%)", digits=(3, 1),
        readonly=True, help="Payments sent to the provider whose outcome "
        "(paid or failed) it reported.")
    days_to_pay = fields.Float("Days from Approval to Payment",
        digits=(16, 1), readonly=True,
        help="On average, from the entitlement's approval to the day the "
        "provider paid it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('cycle', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Payment = pool.get('spp.payment')
        Cycle = pool.get('spp.cycle')
        tables, where = scoped(Payment, cls._records_area,
            cycle_domain() + period_domain('cycle.start_date'))
        from_, payment = source(tables)
        from_, entitlement = join_entitlement(from_, payment)
        cycle = Cycle.__table__()
        from_ = from_.join(cycle, condition=cycle.id == payment.cycle)
        state = payment.state
        sent = count_if(state.in_(SENT))
        answered = count_if(state.in_(ANSWERED))
        days = Case(((state == 'paid') & (payment.paid_date != Null)
                & (entitlement.approved_at != Null),
                days_between(entitlement.approved_at, payment.paid_date)),
            else_=Null)
        return from_.select(
            Min(payment.id).as_('id'), *write_columns(),
            cycle.program.as_('program'), payment.cycle.as_('cycle'),
            Count().as_('payments'),
            *[count_if(state == s).as_(s)
                for s in ['blocked', 'issued', 'sent', 'paid', 'failed']],
            Sum(Case((state == 'paid', Coalesce(payment.paid_amount, 0)),
                    else_=0)).as_('paid_amount'),
            Sum(Case((state == 'failed', payment.amount),
                    else_=0)).as_('failed_amount'),
            share(answered, sent).as_('reconciliation_rate'),
            Avg(days).as_('days_to_pay'),
            where=where, group_by=[cycle.program, payment.cycle])

    def _records(self):
        return 'spp.payment', [('cycle', '=', self.cycle.id)]


class Snapshot(metaclass=PoolMeta):
    __name__ = 'spp.report.snapshot'

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        sql_views.create_views(sql_views.ENTITLEMENTS)
        sql_views.create_views(sql_views.PAYMENTS)

    @classmethod
    def _indicators(cls):
        pool = Pool()
        Payment = pool.get('spp.payment')
        Entitlement = pool.get('spp.entitlement')

        def payments(value, condition):
            def query(start, end):
                payment = Payment.__table__()
                from_, entitlement = join_entitlement(payment, payment)
                from_, beneficiary, cycle = join_beneficiary(
                    from_, entitlement)
                return from_.select(
                    beneficiary.area.as_('area'),
                    cycle.program.as_('program'), value(payment).as_('value'),
                    where=condition(payment, start, end),
                    group_by=[beneficiary.area, cycle.program])
            return query

        def paid_in(payment, start, end):
            return ((payment.state == 'paid') & (payment.paid_date >= start)
                & (payment.paid_date < end))

        def approved_in(start, end):
            entitlement = Entitlement.__table__()
            from_, beneficiary, cycle = join_beneficiary(
                entitlement, entitlement)
            approved_at = entitlement.approved_at
            return from_.select(
                beneficiary.area.as_('area'), cycle.program.as_('program'),
                Sum(entitlement.amount).as_('value'),
                where=entitlement.state.in_(COMMITTED)
                & (approved_at >= dt.datetime.combine(start, dt.time()))
                & (approved_at < dt.datetime.combine(end, dt.time())),
                group_by=[beneficiary.area, cycle.program])
        return super()._indicators() + [
            Indicator('approved_amount', "Amount Approved", approved_in),
            Indicator('paid_amount', "Amount Paid", payments(
                    lambda p: Sum(Coalesce(p.paid_amount, 0)), paid_in)),
            Indicator('paid_payments', "Payments Paid", payments(
                    lambda p: Count(), paid_in)),
            Indicator('failed_payments', "Payments Failed", payments(
                    lambda p: Count(),
                    lambda p, start, end: p.state == 'failed')),
            ]


class TrendPayment(_Trend):
    "Payment Trend"
    __string__ = "Payment Trend"
    __name__ = 'spp.report.trend.payment'
    _indicator_fields = {
        'approved_amount': 'approved_amount',
        'paid_amount': 'paid_amount',
        'paid_payments': 'paid_payments',
        'failed_payments': 'failed_payments',
        }
    _by_program = True
    program = fields.Many2One('spp.program', "Program", readonly=True)
    approved_amount = fields.Numeric("Amount Approved", digits=(16, 2),
        readonly=True)
    paid_amount = fields.Numeric("Amount Paid", digits=(16, 2),
        readonly=True)
    paid_payments = fields.Integer("Payments Paid", readonly=True)
    failed_payments = fields.Integer("Payments Failed (at month end)",
        readonly=True)
