"Small helpers for the set-based SQL of entitlements and payments."
from decimal import Decimal

from sql import Cast, Literal

# The same helpers as the program actions: one definition of each.
from trytond.modules.spp_programs.action import (  # noqa: F401
    invalidate_cache, typed)


def number(value):
    "A decimal literal typed NUMERIC (SQLite receives Decimal as bytes)."
    return Cast(Literal(str(Decimal(value))), 'NUMERIC')
