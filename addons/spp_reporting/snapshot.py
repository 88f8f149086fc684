"""Monthly snapshots of the key indicators, so that coverage, payments
and complaints can be followed over time, past months included after
their records changed.

`Snapshot.take()` replaces the rows of the current month, one
INSERT … SELECT per indicator (an aggregate by area, and by program for
the program indicators), in one transaction: run twice, it counts once.
Past months are never rewritten. The daily cron job keeps the current
month's figures fresh until the month ends; its last run of a month is
that month's record. Stock indicators (enrolled, open grievances) are
the figure at the run; flow indicators (amounts paid, grievances
received) the total of the month up to the run.

Each addon adds its indicators by extending `_indicators()` (a list of
`Indicator`): the trend reports read them back by code."""
import datetime as dt
from collections import namedtuple

from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import StateTransition, Wizard

from . import sql_views
from .scope import (
    month_bounds, period_domain, scoped, source, typed_null, write_columns)

# code: stored in the snapshot rows; query(start, end): a SELECT of
# (area, program, value) columns, program NULL for registry indicators.
Indicator = namedtuple('Indicator', ['code', 'name', 'query'])


class Snapshot(ModelSQL, ModelView):
    "Indicator Snapshot"
    __string__ = "Indicator Snapshot"
    __name__ = 'spp.report.snapshot'
    month = fields.Date("Month", required=True, readonly=True)
    indicator = fields.Selection('get_indicator_names', "Indicator",
        required=True, readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True,
        ondelete='CASCADE')
    program = fields.Integer("Program Id", readonly=True,
        help="The program of a program indicator (its id).")
    value = fields.Numeric("Value", digits=(16, 2), readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('indicator', 'ASC'),
            ('id', 'ASC')]
        t = cls.__table__()
        # The trends read a period of some indicators; a run replaces a
        # month.
        cls._sql_indexes.add(Index(t,
                (t.month, Index.Range()), (t.indicator, Index.Equality())))

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        sql_views.create_views(sql_views.REGISTRY)

    @classmethod
    def get_indicator_names(cls):
        return [(i.code, i.name) for i in cls._indicators()]

    @classmethod
    def _indicators(cls):
        Party = Pool().get('party.party')

        def registrants(kind):
            def query(start, end):
                party = Party.__table__()
                return party.select(party.area.as_('area'),
                    typed_null('INTEGER').as_('program'),
                    Count().as_('value'),
                    where=(party.registrant_type == kind)
                    & (party.active == True),
                    group_by=[party.area])
            return query
        return [
            Indicator('households', "Households", registrants('group')),
            Indicator('individuals', "Individuals",
                registrants('individual')),
            ]

    @classmethod
    def take(cls, day=None):
        """Replace the snapshot of the month of `day` (today by default)
        with the figures now: one statement per indicator. Return the
        month and the number of rows written."""
        pool = Pool()
        Date = pool.get('ir.date')
        day = day or Date.today()
        start, end = month_bounds(day)
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cls.lock()
        cursor.execute(*table.delete(where=table.month == start))
        now = dt.datetime.now()
        user = Transaction().user
        count = 0
        for indicator in cls._indicators():
            figures = indicator.query(start, end)
            cursor.execute(*table.insert(
                    [table.month, table.indicator, table.area,
                        table.program, table.value,
                        table.create_uid, table.create_date],
                    figures.select(
                        Literal(start), Literal(indicator.code),
                        figures.area, figures.program, figures.value,
                        Literal(user), Literal(now),
                        where=figures.value != Null)))
            count += max(cursor.rowcount, 0)
        return start, count

    @classmethod
    def take_current(cls):
        "The cron job: the current month's snapshot."
        cls.take()


class TakeSnapshot(Wizard):
    "Take Snapshot"
    __string__ = "Take Snapshot"
    __name__ = 'spp.report.snapshot.take'
    start = StateTransition()

    def transition_start(self):
        Pool().get('spp.report.snapshot').take()
        return 'end'


class _Trend(ModelSQL, ModelView):
    """The snapshot rows pivoted: one row per month (and program), a
    column per indicator, summed over the areas the reader may see."""
    _indicator_fields = {}  # field name: indicator code
    _by_program = False
    month = fields.Date("Month", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Snapshot = Pool().get('spp.report.snapshot')
        context = Transaction().context
        domain = [('indicator', 'in', list(cls._indicator_fields.values()))]
        domain += period_domain('month')
        if cls._by_program and context.get('program'):
            domain.append(('program', '=', context['program']))
        tables, where = scoped(Snapshot, 'area', domain)
        from_, snapshot = source(tables)
        columns = [Sum(Case((snapshot.indicator == code, snapshot.value),
                    else_=0)).as_(name)
            for name, code in cls._indicator_fields.items()]
        group = [snapshot.month]
        if cls._by_program:
            group.append(snapshot.program)
            columns.append(snapshot.program.as_('program'))
        return from_.select(
            Min(snapshot.id).as_('id'), *write_columns(),
            snapshot.month.as_('month'), *columns,
            where=where, group_by=group)


class TrendRegistry(_Trend):
    "Registry Trend"
    __string__ = "Registry Trend"
    __name__ = 'spp.report.trend.registry'
    _indicator_fields = {
        'households': 'households',
        'individuals': 'individuals',
        }
    households = fields.Integer("Households", readonly=True)
    individuals = fields.Integer("Individuals", readonly=True)

