"Helpers of the spp_programs tests that other addons' tests use too."
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
