"""Small pieces of the set-based statements: typed literals, statistics,
page space, indexes and the ORM's cache after SQL changes."""
from decimal import Decimal

from sql import Cast, Literal

from trytond import backend
from trytond.transaction import Transaction


def typed(Model, name, value):
    """A literal cast to the SQL type of Model's field, so that PostgreSQL
    knows its type in the select list of an INSERT ... SELECT."""
    return Cast(Literal(value), Model._fields[name].sql_type().base)


def number(value):
    "A decimal literal typed NUMERIC (SQLite receives Decimal as bytes)."
    return Cast(Literal(str(Decimal(value))), 'NUMERIC')


def analyze_table(Model):
    """Refresh PostgreSQL's statistics of Model's table (or of the table
    named `Model`, e.g. a temporary one) after a bulk change: with the
    statistics of an empty table the planner would loop over the new rows
    instead of hashing them."""
    if backend.name == 'postgresql':
        table = Model if isinstance(Model, str) else Model._table
        cursor = Transaction().connection.cursor()
        cursor.execute(f'ANALYZE "{table}"')


def reserve_page_space(Model, fillfactor):
    """Have PostgreSQL fill new pages of Model's table to `fillfactor`
    percent only: a bulk INSERT packs its pages full otherwise, and
    changing the state of each of its rows, a column no index holds, then
    moves every row to another page and writes an entry in every index.
    With room on the page the change is a HOT update, with no new index
    entry. Run at module registration; the rows already there stay."""
    if backend.name == 'postgresql':
        cursor = Transaction().connection.cursor()
        cursor.execute(f'ALTER TABLE "{Model._table}" '
            f'SET (fillfactor = {int(fillfactor)})')


def without_index_on(indexes, *columns):
    """The indexes but those on one of `columns` alone: a unique constraint
    starting with the column serves its look-ups already, and each extra
    index slows down every bulk INSERT and UPDATE."""
    return {index for index in indexes
        if not (len(index.expressions) == 1
            and getattr(index.expressions[0][0], 'name', None) in columns
            and not index.options.get('where'))}


def invalidate_cache(*models):
    """Forget cached values of models (classes or model names) after they
    were updated in SQL."""
    transaction = Transaction()
    transaction.counter += 1
    names = [getattr(model, '__name__', model) for model in models]
    for cache in transaction.cache.values():
        for name in names:
            cache.pop(name, None)
