"Small helpers for the set-based SQL of entitlements and payments."
from decimal import Decimal

from sql import Cast, Literal

# The same helpers as the program actions: one definition of each.
from trytond.modules.spp_programs.action import (  # noqa: F401
    invalidate_cache)


def typed(Model, name, value):
    """A literal cast to the SQL type of Model's field, so that PostgreSQL
    knows its type in the select list of an INSERT ... SELECT."""
    return Cast(Literal(value), Model._fields[name].sql_type().base)


def number(value):
    "A decimal literal typed NUMERIC (SQLite receives Decimal as bytes)."
    return Cast(Literal(str(Decimal(value))), 'NUMERIC')
