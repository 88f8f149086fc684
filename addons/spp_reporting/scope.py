"""What a report counts: the records of the underlying model that the
reader may read (that model's record rules, as a search applies them)
and, for a Reporting Officer, only those of the reader's areas and the
areas below them. The filters of the report's context (area, period,
program, cycle) narrow it further. So an aggregate never counts a record
the reader could not list, and an area outside the reader's areas gives
empty figures, not totals that reveal it."""
import datetime as dt

from sql import Cast, Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import DateTrunc, Function

from trytond import backend
from trytond.model.modelsql import convert_from
from trytond.modules.spp_registry.area import (
    default_area_level, level_rollup)
from trytond.pool import Pool
from trytond.transaction import Transaction


class SQLiteDate(Function):
    __slots__ = ()
    _function = 'DATE'


class JulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


def month_bounds(day):
    "The first day of the month of `day` and of the next month."
    start = day.replace(day=1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


def month_start(column):
    "The first day of the month of a date or timestamp column, as SQL."
    if backend.name == 'postgresql':
        return DateTrunc('month', column).cast('DATE')
    return SQLiteDate(column, 'start of month')


def days_between(start, end):
    "The days from start to end (dates or timestamps), as SQL."
    if backend.name == 'postgresql':
        return end.cast('DATE') - start.cast('DATE')
    return JulianDay(SQLiteDate(end)) - JulianDay(SQLiteDate(start))


def reporting_areas():
    """None when the reader's reports cover every area (a Reporting
    Manager, or no access check), else the ids of the reader's areas."""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    transaction = Transaction()
    if not transaction.check_access or not transaction.user:
        return None
    manager = ModelData.get_id('spp_reporting', 'group_reporting_manager')
    if manager in User.get_groups():
        return None
    return User.get_spp_areas()


def context_dates(context=None):
    "The period of the report's context: (from_date, to_date), each or None."
    context = Transaction().context if context is None else context
    return context.get('from_date'), context.get('to_date')


def period_domain(field, is_datetime=False):
    "The domain of the context's period on `field` (a date or datetime)."
    from_date, to_date = context_dates()
    domain = []
    if from_date:
        domain.append((field, '>=', dt.datetime.combine(from_date, dt.time())
                if is_datetime else from_date))
    if to_date:
        if is_datetime:
            domain.append((field, '<', dt.datetime.combine(
                        to_date + dt.timedelta(days=1), dt.time())))
        else:
            domain.append((field, '<=', to_date))
    return domain


def scoped(Model, area_field, domain=None):
    """(tables, where) of the records of Model in `domain` that the
    reader may count: Model's read rules, the reader's reporting areas
    and the context's area (each with the areas below it) on
    `area_field`, a path to an spp.area of Model."""
    Rule = Pool().get('ir.rule')
    context = Transaction().context
    domain = list(domain or [])
    areas = reporting_areas()
    if areas is not None:
        domain.append((area_field, 'child_of', areas, 'parent'))
    if context.get('area'):
        domain.append((area_field, 'child_of', [context['area']], 'parent'))
    rule = Rule.domain_get(Model.__name__, mode='read')
    if rule:
        domain.append(rule)
    tables, where = Model.search_domain(domain)
    return tables, where


def source(tables):
    "The FROM of search tables, and the table of the searched model."
    return convert_from(None, tables), tables[None][0]


def by_level(from_, area_column):
    """(from_, area): the FROM joined to the roll-up of areas to the
    context's level (Region by default) and the column of the rolled-up
    area; an area with no ancestor of that level stays itself."""
    level = Transaction().context.get('area_level') or default_area_level()
    if not level:
        return from_, area_column
    rollup = level_rollup(level)
    from_ = from_.join(rollup, 'LEFT', condition=rollup.area == area_column)
    return from_, Coalesce(rollup.level_area, area_column)


def count_if(condition):
    "SUM of 1 where condition holds: a count of a part of the group."
    return Sum(Case((condition, Literal(1)), else_=Literal(0)))


def sum_if(condition, value):
    "SUM of value where condition holds."
    return Sum(Case((condition, value), else_=Literal(0)))


def share(part, whole):
    "part * 100 / whole, NULL when whole is 0."
    return Case((whole > 0, part * Literal(100.0) / whole), else_=Null)


def write_columns():
    "The create/write columns a table_query returns, as constants."
    return [Literal(0).as_('create_uid'),
        typed_null('TIMESTAMP').as_('create_date'),
        Literal(0).as_('write_uid'),
        typed_null('TIMESTAMP').as_('write_date')]


def typed_null(sql_type):
    "NULL of a type PostgreSQL can tell (a bare parameter has none)."
    return Cast(Literal(None), sql_type)
