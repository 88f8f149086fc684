"""Change request figures for the dashboards: requests by kind and
state, with the average days from request to application."""
from sql import Null
from sql.aggregate import Avg, Count, Min
from sql.conditionals import Case

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.spp_change_request.change_request import OPEN_STATES
from trytond.pool import Pool

from .registry import RecordsMixin
from .scope import (
    count_if, days_between, period_domain, scoped, source, write_columns)


class ChangeRequestKind(RecordsMixin, ModelSQL, ModelView):
    "Change Requests by Kind"
    __string__ = "Change Requests by Kind"
    __name__ = 'spp.report.change_request'
    kind = fields.Many2One('spp.change_request.kind', "Kind", readonly=True)
    requests = fields.Integer("Requests", readonly=True)
    pending = fields.Integer("Pending", readonly=True,
        help="Draft, submitted, sent back for revision or approved and "
        "not applied yet.")
    applied = fields.Integer("Applied", readonly=True)
    rejected = fields.Integer("Rejected", readonly=True)
    cancelled = fields.Integer("Cancelled", readonly=True)
    days_to_apply = fields.Float("Days to Apply", digits=(16, 1),
        readonly=True, help="On average, from the request to its "
        "application.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('requests', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Request = pool.get('spp.change_request')
        tables, where = scoped(Request, 'area',
            period_domain('requested_on', is_datetime=True))
        from_, request = source(tables)
        state = request.state
        days = Case(((request.applied_on != Null)
                & (request.requested_on != Null),
                days_between(request.requested_on, request.applied_on)),
            else_=Null)
        return from_.select(
            Min(request.id).as_('id'), *write_columns(),
            request.kind.as_('kind'),
            Count().as_('requests'),
            count_if(state.in_(OPEN_STATES)).as_('pending'),
            *[count_if(state == s).as_(s)
                for s in ['applied', 'rejected', 'cancelled']],
            Avg(days).as_('days_to_apply'),
            where=where, group_by=[request.kind])

    def _records(self):
        return 'spp.change_request', [('kind', '=', self.kind.id)] + (
            period_domain('requested_on', is_datetime=True))
