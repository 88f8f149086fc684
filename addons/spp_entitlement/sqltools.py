"Small helpers for the set-based SQL of entitlements and payments."
from decimal import Decimal

from sql import Cast, Literal

from trytond.transaction import Transaction


def typed(Model, name, value):
    """A literal cast to the SQL type of Model's field, so that PostgreSQL
    knows its type in the select list of an INSERT ... SELECT."""
    return Cast(Literal(value), Model._fields[name].sql_type().base)


def number(value):
    "A decimal literal typed NUMERIC (SQLite receives Decimal as bytes)."
    return Cast(Literal(str(Decimal(value))), 'NUMERIC')


def invalidate_cache(*models):
    "Forget cached values of models after they were updated in SQL."
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        for model in models:
            cache.pop(model.__name__, None)
