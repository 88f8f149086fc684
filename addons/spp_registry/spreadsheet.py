"""Cells of the CSV and XLSX files the project reads and writes.

Reading: files come from caseworkers and providers, so a cell may hold
anything. Python's csv module refuses a cell over csv.field_size_limit()
(131,072 characters) by raising in the middle of the file, which would
abort the whole import; the limit is therefore raised once for the process
(a cell can never be larger than the file, which is in memory already) and
readers refuse a cell over MAX_CELL, or holding a NUL character
(PostgreSQL's text columns cannot store it), as an error of its row.

Writing: a text cell that starts with =, +, -, @, a tab or a carriage
return is read as a formula by spreadsheet programs (CSV or formula
injection), so every text cell of an export goes through neutralise() (or
neutralised_sql() where PostgreSQL writes the CSV itself), which prefixes
it with a single quote, as OWASP advises. A cell that is a plain number
(-12.50, +63 917 123 4567) is left as it is: as a formula it only computes
itself, and a phone number or an amount must reach the provider intact.
"""
import csv
import re

from sql import Literal
from sql.conditionals import Case
from sql.functions import Substring
from sql.operators import BinaryOperator, Concat

# The default of csv.field_size_limit(), kept as the limit of a cell.
MAX_CELL = 131_072
NUL = '\x00'
FORMULA_TRIGGERS = ('=', '+', '-', '@', '\t', '\r')
# A sign, digits, and the spaces, separators, brackets and dashes of
# amounts and phone numbers; the same pattern for Python and PostgreSQL.
PLAIN_NUMBER = '[-+]?[0-9][0-9 .,()-]*'
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)

if csv.field_size_limit() < 2 ** 31 - 1:
    csv.field_size_limit(2 ** 31 - 1)


def csv_reader(lines, **options):
    """A csv.reader of `lines` whose cells may be of any size: check them
    with cell_error()."""
    return csv.reader(lines, **options)


def cell_error(value):
    """'nul' when the cell holds a NUL character, 'size' when it is over
    MAX_CELL characters, else None."""
    if not isinstance(value, str):
        return None
    if NUL in value:
        return 'nul'
    if len(value) > MAX_CELL:
        return 'size'
    return None


def printable(text, limit=60):
    """`text` without NUL characters and cut to `limit` characters: a
    refused cell as an error message may quote it."""
    text = text.replace(NUL, '')
    return text if len(text) <= limit else text[:limit] + '…'


def neutralise(value):
    "The text `value` safe as a spreadsheet cell; other values unchanged."
    if (isinstance(value, str) and value[:1] in FORMULA_TRIGGERS
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


class _DoesNotMatch(BinaryOperator):
    "PostgreSQL's negated POSIX regular expression match."
    __slots__ = ()
    _operator = '!~'


def neutralised_sql(column):
    "The SQL expression of neutralise(column), for PostgreSQL."
    return Case(
        (Substring(column, 1, 1).in_(list(FORMULA_TRIGGERS))
            & _DoesNotMatch(column, f'^{PLAIN_NUMBER}$'),
            Concat(Literal("'"), column)),
        else_=column)
