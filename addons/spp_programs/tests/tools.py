"Helpers of the spp_programs tests that other addons' tests use too."
import re

from trytond.transaction import Transaction


def foreign_keys(*tables):
    """{table: {column, ...}} of the foreign keys PostgreSQL holds on
    `tables`."""
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT c.conrelid::regclass::text, a.attname "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = ANY(c.conkey) WHERE c.contype = 'f' "
        "AND c.conrelid::regclass::text = ANY(%s)", (list(tables),))
    result = {table: set() for table in tables}
    for table, column in cursor:
        result[table].add(column)
    return result


def hot_updatable(table, column):
    """Whether PostgreSQL can change `column` of `table`'s rows in place
    (a HOT update): no index holds it, in its columns or its condition,
    and the table leaves room on its pages (fillfactor below 100)."""
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s",
        (table,))
    # What follows USING: the index's columns and its condition.
    if any(re.search(rf'\b{column}\b', definition.split(' USING ', 1)[1])
            for definition, in cursor):
        return False
    cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s",
        (table,))
    options, = cursor.fetchone()
    return any(o.startswith('fillfactor=') and int(o.split('=')[1]) < 100
        for o in options or [])
