"""Grievance figures for the dashboards: tickets received, open, open
and breached, resolved and resolved in time, by category and area. A
reader outside the Grievance Sensitive Cases group counts no sensitive
ticket, whatever other group lets them read grievances."""
import datetime as dt

from sql import Null
from sql.aggregate import Count, Min

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.spp_grievance.grievance import OPEN_STATES
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from . import sql_views
from .registry import RecordsMixin
from .scope import (
    by_level, count_if, period_domain, scoped, share, source, typed_null,
    write_columns)
from .snapshot import Indicator, _Trend


def sees_sensitive():
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    if not Transaction().check_access or not Transaction().user:
        return True
    return ModelData.get_id('spp_grievance', 'group_sensitive') in (
        User.get_groups())


class GrievanceArea(RecordsMixin, ModelSQL, ModelView):
    "Grievances by Category and Area"
    __string__ = "Grievances by Category and Area"
    __name__ = 'spp.report.grievance'
    category = fields.Many2One('spp.grievance.category', "Category",
        readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True)
    received = fields.Integer("Received", readonly=True)
    open_count = fields.Integer("Open", readonly=True)
    breached = fields.Integer("Open and Breached", readonly=True)
    resolved = fields.Integer("Resolved", readonly=True)
    resolved_in_time = fields.Integer("Resolved in Time", readonly=True)
    in_time_share = fields.Float("Resolved in Time (%)", digits=(3, 1),
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('received', 'DESC'), ('id', 'ASC')]

    @classmethod
    def _domain(cls):
        domain = period_domain('received_on', is_datetime=True)
        program = Transaction().context.get('program')
        if program and 'program' in Pool().get('spp.grievance')._fields:
            domain.append(('program', '=', program))
        if not sees_sensitive():
            domain.append(('sensitive', '=', False))
        return domain

    @classmethod
    def table_query(cls):
        Grievance = Pool().get('spp.grievance')
        tables, where = scoped(Grievance, 'area', cls._domain())
        from_, grievance = source(tables)
        from_, area = by_level(from_, grievance.area)
        is_open = grievance.state.in_(OPEN_STATES)
        done = grievance.resolved_on != Null
        in_time = done & ((grievance.resolution_due == Null)
            | (grievance.resolved_on <= grievance.resolution_due))
        resolved = count_if(done)
        resolved_in_time = count_if(in_time)
        return from_.select(
            Min(grievance.id).as_('id'), *write_columns(),
            grievance.category.as_('category'), area.as_('area'),
            Count().as_('received'),
            count_if(is_open).as_('open_count'),
            count_if(is_open & (grievance.sla_status == 'breached')).as_(
                'breached'),
            resolved.as_('resolved'),
            resolved_in_time.as_('resolved_in_time'),
            share(resolved_in_time, resolved).as_('in_time_share'),
            where=where, group_by=[grievance.category, area])

    def _records(self):
        return 'spp.grievance', [('category', '=', self.category.id)] + (
            self._area_domain('area', self.area) + self._domain())


class Snapshot(metaclass=PoolMeta):
    __name__ = 'spp.report.snapshot'

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        sql_views.create_views(sql_views.GRIEVANCES)

    @classmethod
    def _indicators(cls):
        Grievance = Pool().get('spp.grievance')

        def tickets(condition):
            def query(start, end):
                grievance = Grievance.__table__()
                return grievance.select(grievance.area.as_('area'),
                    typed_null('INTEGER').as_('program'),
                    Count().as_('value'),
                    # Trends are read by anyone with the reporting
                    # groups: sensitive tickets stay out of them.
                    where=(grievance.sensitive != True)
                    & condition(grievance, start, end),
                    group_by=[grievance.area])
            return query

        def received(grievance, start, end):
            return ((grievance.received_on
                    >= dt.datetime.combine(start, dt.time()))
                & (grievance.received_on
                    < dt.datetime.combine(end, dt.time())))

        def is_open(grievance, start, end):
            return grievance.state.in_(OPEN_STATES)
        return super()._indicators() + [
            Indicator('grievances_received', "Grievances Received",
                tickets(received)),
            Indicator('grievances_open', "Grievances Open",
                tickets(is_open)),
            Indicator('grievances_breached', "Grievances Open and Breached",
                tickets(lambda g, start, end: is_open(g, start, end)
                    & (g.sla_status == 'breached'))),
            ]


class TrendGrievance(_Trend):
    "Grievance Trend"
    __string__ = "Grievance Trend"
    __name__ = 'spp.report.trend.grievance'
    _indicator_fields = {
        'received': 'grievances_received',
        'open_count': 'grievances_open',
        'breached': 'grievances_breached',
        }
    received = fields.Integer("Received", readonly=True)
    open_count = fields.Integer("Open (at month end)", readonly=True)
    breached = fields.Integer("Open and Breached (at month end)",
        readonly=True)
