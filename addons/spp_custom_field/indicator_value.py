"""The stored values of computed indicators: one narrow row per group and
indicator whose value is not 0 (see README.rst, Design: indicators)."""
from decimal import Decimal

from sql import Conflict, Literal, Null, Table
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond.model import ModelSQL, Unique, fields
from trytond.modules.spp_registry.bulk import analyze_table
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

# Temporary table of a recompute's values, read twice (upsert, delete).
COMPUTED = 'spp_custom_field_computed'


class _Excluded(Table):
    """The row proposed to an INSERT … ON CONFLICT DO UPDATE, lower case:
    python-sql's Excluded is quoted upper case, which PostgreSQL does not
    resolve."""

    def __init__(self):
        super().__init__('excluded')

    @property
    def alias(self):
        return 'excluded'


Excluded = _Excluded()


class IndicatorValue(ModelSQL):
    """Indicator Value

    The value of one computed custom field for one group. A narrow table
    rather than a key of the group's custom values: a full recompute then
    writes short rows under two small indexes instead of rewriting wide,
    heavily indexed party rows, and a recompute where nothing changed
    writes nothing.

    The rows are derived data, recomputed at will, so `group` and `field`
    are plain integers without foreign keys: a foreign key check locks the
    referenced party row for each inserted value (dirtying every group's
    page on a first computation), which cost more than the insert itself.
    The rows of a deleted group or indicator are deleted with it by the
    code below."""
    __name__ = 'spp.custom_field.indicator_value'
    group = fields.Integer("Group", required=True)
    field = fields.Integer("Indicator", required=True)
    value = fields.Numeric("Value", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            # Also the arbiter of the ON CONFLICT, the index of the
            # recompute's comparison and of rule filters (field = …).
            ('field_group_unique', Unique(t, t.field, t.group),
                'spp_custom_field.msg_indicator_value_unique'),
            ]

    @classmethod
    def delete_values(cls, groups=None, fields=None):
        "Delete the values of the group ids or of the indicator ids."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for column, ids in [(table.group, groups), (table.field, fields)]:
            for sub_ids in grouped_slice(ids or [], 10000):
                cursor.execute(*table.delete(
                        where=column.in_(list(sub_ids))))

    @classmethod
    def values_of(cls, ids):
        """{party id: {indicator name: value}} of the groups among ids,
        typed as the indicator (integer, boolean or Decimal); a group
        without a row has 0 (false)."""
        pool = Pool()
        CustomField = pool.get('spp.custom_field')
        Party = pool.get('party.party')
        names = {d['id']: (n, d['type'])
            for n, d in CustomField.definitions().items() if d['computed']}
        result = {}
        if not names:
            return result
        table = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(ids, 10000):
            sub_ids = list(sub_ids)
            cursor.execute(*party.select(party.id,
                    where=party.id.in_(sub_ids)
                    & (party.registrant_type == 'group')))
            for group, in cursor:
                result[group] = {n: typed(0, t) for n, t in names.values()}
            cursor.execute(*table.select(table.group, table.field,
                    table.value, where=table.field.in_(list(names))
                    & table.group.in_(sub_ids)))
            for group, field, value in cursor:
                name, type_ = names[field]
                result.setdefault(group, {})[name] = typed(value, type_)
        return result

    @classmethod
    def condition(cls, definition, party, operator, value):
        """SQL condition on the party table of the clause
        (custom_values.<indicator>, operator, value). Only values other
        than 0 have a row: a condition 0 does not meet is a semi-join on
        the rows that meet it; one 0 meets is "a group without a row that
        fails it" (an anti-join)."""
        from trytond.model.fields.field import SQL_OPERATORS
        table = cls.__table__()
        where = table.field == definition['id']
        is_group = party.registrant_type == 'group'
        if value is None and operator in {'=', '!='}:
            # Only groups have indicators.
            return (~is_group | (party.registrant_type == Null)
                if operator == '=' else is_group)

        def number(v):
            if isinstance(v, bool):
                return int(v)
            return v
        if isinstance(value, (list, tuple)):
            value = [number(v) for v in value if v is not None]
            if not value:
                return Literal(operator.startswith('not'))
        else:
            value = number(value)
        Operator = SQL_OPERATORS[operator]
        if not zero_matches(operator, value):
            return party.id.in_(table.select(table.group,
                    where=where & Operator(table.value, value)))
        return is_group & ~Exists(table.select(Literal(1),
                where=where & (table.group == party.id)
                & ~Operator(table.value, value)))

    @classmethod
    def store(cls, record, members, group_ids=None):
        """Store the (group, value) rows of the query members as the values
        of the indicator record for the groups (all when None): the values
        other than 0 go through a temporary table into one INSERT … ON
        CONFLICT DO UPDATE fed only with the rows that are new or differ,
        then the rows of groups now at 0 are deleted. A recompute where
        nothing changed writes nothing (and burns no ids)."""
        table = cls.__table__()
        current = cls.__table__()
        computed = Table(COMPUTED)
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        cursor.execute(f'CREATE TEMPORARY TABLE "{COMPUTED}" '
            '("group" INTEGER, "value" NUMERIC)')
        try:
            cursor.execute(*computed.insert(
                    [computed.group, computed.value],
                    members.select(members.group, members.value,
                        where=members.value != 0)))
            analyze_table(COMPUTED)
            query = (computed
                .join(current, 'LEFT',
                    condition=(current.group == computed.group)
                    & (current.field == record.id))
                .select(computed.group, Literal(record.id), computed.value,
                    Literal(transaction.user), CurrentTimestamp(),
                    where=(current.id == Null)
                    | (current.value != computed.value)))
            cursor.execute(*table.insert(
                    [table.group, table.field, table.value,
                        table.create_uid, table.create_date], query,
                    on_conflict=Conflict(table,
                        indexed_columns=[table.field, table.group],
                        columns=[table.value, table.write_uid,
                            table.write_date],
                        values=[Excluded.value, Literal(transaction.user),
                            CurrentTimestamp()])))
            where = (current.field == record.id) & (computed.group == Null)
            if group_ids is not None:
                where &= current.group.in_(group_ids)
            cursor.execute(*table.delete(where=table.id.in_(
                        current.join(computed, 'LEFT',
                            condition=computed.group == current.group)
                        .select(current.id, where=where))))
        finally:
            cursor.execute(f'DROP TABLE "{COMPUTED}"')


def zero_matches(operator, value):
    "Whether 0 (the value of a group without a row) meets the clause."
    compare = {
        '=': lambda v: 0 == v, '!=': lambda v: 0 != v,
        '<': lambda v: 0 < v, '<=': lambda v: 0 <= v,
        '>': lambda v: 0 > v, '>=': lambda v: 0 >= v,
        'in': lambda v: 0 in v, 'not in': lambda v: 0 not in v,
        }.get(operator)
    return bool(compare and compare(value))


def typed(value, type_):
    "The Python value of a stored number for the indicator type."
    if value is None:
        return None
    if type_ == 'boolean':
        return bool(value)
    if type_ == 'integer':
        return int(value)
    return Decimal(str(value))
