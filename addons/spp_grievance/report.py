"""Grievance reports: open and breached tickets, average times to
acknowledge and to resolve, and the share resolved within the deadline,
by category, by area and by team, for the tickets received in the chosen
period. Each is one aggregate over the tickets the reader may see: the
grievance record rules apply (their domain, as a search applies it), so
nobody counts another area's or the sensitive tickets through a report."""
import datetime as dt

from sql import Literal, Null
from sql.aggregate import Avg, Count, Min, Sum
from sql.conditionals import Case
from sql.functions import DatePart, Function

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.model.modelsql import convert_from
from trytond.pool import Pool
from trytond.transaction import Transaction

from .grievance import OPEN_STATES


class JulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


def hours_between(start, end):
    "The hours from start to end, as SQL of the database's dialect."
    if backend.name == 'postgresql':
        # DATE_PART is a float; EXTRACT a numeric, slower to average.
        return DatePart('epoch', end - start) / 3600
    return (JulianDay(end) - JulianDay(start)) * 24


class ReportContext(ModelView):
    "Grievance Report Context"
    __string__ = "Grievance Report Context"
    __name__ = 'spp.grievance.report.context'
    from_date = fields.Date("Received From")
    to_date = fields.Date("Received To")


class _Report(ModelSQL, ModelView):
    _group = None  # the grievance column the rows are of

    total = fields.Integer("Received")
    open_count = fields.Integer("Open")
    breached = fields.Integer("Open and Breached")
    resolved = fields.Integer("Resolved")
    resolved_in_time = fields.Integer("Resolved in Time")
    share_in_time = fields.Float("Resolved in Time (%)", digits=(3, 1))
    avg_ack_hours = fields.Float("Average Hours to Acknowledge",
        digits=(16, 1))
    avg_resolution_hours = fields.Float("Average Hours to Resolve",
        digits=(16, 1))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('open_count', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Grievance = pool.get('spp.grievance')
        Rule = pool.get('ir.rule')
        context = Transaction().context
        domain = []
        # received_on is a datetime: the period's days from midnight.
        if context.get('from_date'):
            domain.append(('received_on', '>=', dt.datetime.combine(
                        context['from_date'], dt.time())))
        if context.get('to_date'):
            domain.append(('received_on', '<', dt.datetime.combine(
                        context['to_date'] + dt.timedelta(days=1),
                        dt.time())))
        # The tickets the reader may see: the period and the reader's
        # record rules as one condition on the tickets' table, as search
        # builds it, so that the aggregate reads the table once (an
        # "id IN (search query)" joined the table with itself).
        tables, where = Grievance.search_domain(domain)
        rule_domain = Rule.domain_get(Grievance.__name__, mode='read')
        if rule_domain:
            tables, rule_where = Grievance.search_domain(rule_domain,
                active_test=False, tables=tables)
            where &= rule_where
        grievance, _ = tables[None]
        group = getattr(grievance, cls._group)
        is_open = grievance.state.in_(OPEN_STATES)
        done = grievance.resolved_on != Null
        in_time = done & ((grievance.resolution_due == Null)
            | (grievance.resolved_on <= grievance.resolution_due))
        one = Literal(1)
        resolved = Sum(Case((done, one), else_=Literal(0)))
        resolved_in_time = Sum(Case((in_time, one), else_=Literal(0)))
        return convert_from(None, tables).select(
            # An aggregate, not the grouped column: the ORM's read of some
            # rows ("id = ANY(...)") then filters the groups (HAVING)
            # instead of every ticket before grouping.
            Min(group).as_('id'),
            group.as_(cls._group),
            Literal(0).as_('create_uid'),
            Literal(None).as_('create_date'),
            Literal(0).as_('write_uid'),
            Literal(None).as_('write_date'),
            # COUNT(*): COUNT of a '*' parameter has no type PostgreSQL
            # can tell.
            Count().as_('total'),
            Sum(Case((is_open, one), else_=Literal(0))).as_('open_count'),
            Sum(Case((is_open & (grievance.sla_status == 'breached'), one),
                    else_=Literal(0))).as_('breached'),
            resolved.as_('resolved'),
            resolved_in_time.as_('resolved_in_time'),
            Case((resolved > 0,
                    resolved_in_time * Literal(100.0) / resolved),
                else_=Null).as_('share_in_time'),
            Avg(hours_between(grievance.received_on,
                    grievance.acknowledged_on)).as_('avg_ack_hours'),
            Avg(hours_between(grievance.received_on,
                    grievance.resolved_on)).as_('avg_resolution_hours'),
            where=where & (group != Null),
            group_by=[group])


class ByCategory(_Report):
    "Grievances by Category"
    __string__ = "Grievances by Category"
    __name__ = 'spp.grievance.report.category'
    _group = 'category'
    category = fields.Many2One('spp.grievance.category', "Category")


class ByArea(_Report):
    "Grievances by Area"
    __string__ = "Grievances by Area"
    __name__ = 'spp.grievance.report.area'
    _group = 'area'
    area = fields.Many2One('spp.area', "Area")


class ByTeam(_Report):
    "Grievances by Team"
    __string__ = "Grievances by Team"
    __name__ = 'spp.grievance.report.team'
    _group = 'team'
    team = fields.Many2One('spp.grievance.team', "Team")
