"""Bulk-load mode on PostgreSQL: build secondary indexes once, at the end.

Maintaining a dozen indexes row by row costs far more than loading the
rows; sorting once per index afterwards is the classic bulk-load recipe.
Foreign keys and unique constraints are dropped too and added again
afterwards, which validates them once (one join per foreign key, one sort
per unique constraint) instead of once per row: a duplicate or a dangling
reference still fails the load, at its end. Primary keys stay (ids come
in order, so their index only grows at its end).

Everything runs in the caller's transaction: DROP INDEX locks the tables
until the commit (other sessions wait), and a failure rolls all of it
back, indexes included."""
import time
from contextlib import contextmanager

MAINTENANCE_WORK_MEM = '1GB'
# Validating a foreign key joins the whole table to its target: with a
# small work_mem that join spills to disk in many batches (at 1,000,000
# households, constraints took a quarter of the index rebuild's time).
WORK_MEM = '1GB'


def table_oids(cursor, tables):
    "{table name: oid} of `tables` in the current schema."
    cursor.execute('SELECT c.oid, c.relname FROM pg_class c '
        'JOIN pg_namespace n ON n.oid = c.relnamespace '
        'WHERE n.nspname = current_schema() AND c.relname = ANY(%s)',
        (list(tables),))
    return {name: oid for oid, name in cursor.fetchall()}


def secondary_indexes(cursor, oids):
    """(table, index, definition, access method) of the indexes of the
    tables `oids` that no constraint owns."""
    cursor.execute('SELECT c.relname, i.relname, pg_get_indexdef(i.oid), '
            'a.amname '
        'FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid '
        'JOIN pg_class c ON c.oid = x.indrelid '
        'JOIN pg_am a ON a.oid = i.relam '
        'WHERE x.indrelid = ANY(%s) AND NOT EXISTS ('
            'SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)',
        (list(oids.values()),))
    return cursor.fetchall()


def unique_and_foreign_keys(cursor, oids):
    """(table, constraint, kind 'u' or 'f', definition, index definition)
    of the tables `oids`, unique constraints first (to be added back
    before the foreign keys that may need them)."""
    cursor.execute('SELECT c.relname, k.conname, k.contype, '
            'pg_get_constraintdef(k.oid), pg_get_indexdef(k.conindid) '
        'FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid '
        "WHERE k.contype IN ('u', 'f') AND k.conrelid = ANY(%s) "
        'ORDER BY k.contype DESC, k.conname', (list(oids.values()),))
    return cursor.fetchall()


@contextmanager
def deferred_indexes(connection, tables, figures=None):
    """Drop the secondary indexes and foreign keys of `tables`, run the
    block, then build them again and ANALYZE the tables."""
    cursor = connection.cursor()
    oids = table_oids(cursor, tables)
    indexes = [(name, definition)
        for _, name, definition, _ in secondary_indexes(cursor, oids)]
    foreign_keys = [(table, name, definition)
        for table, name, _, definition, _ in unique_and_foreign_keys(
            cursor, oids)]
    for table, name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    started = time.perf_counter()
    cursor.execute(
        f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    index_timings = []
    for name, definition in indexes:
        built = time.perf_counter()
        cursor.execute(definition)
        index_timings.append((round(time.perf_counter() - built, 3), name))
    indexed = time.perf_counter()
    for table, name, definition in foreign_keys:
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    constrained = time.perf_counter()
    for table in oids:
        cursor.execute(f'ANALYZE "{table}"')
    if figures is not None:
        figures.update({
                'indexes_rebuilt': len(indexes),
                'index_seconds': round(indexed - started, 3),
                # The slowest ones: where a faster load has to look first.
                'slowest_indexes': dict((name, seconds) for seconds, name
                    in sorted(index_timings, reverse=True)[:8]),
                'constraints_revalidated': len(foreign_keys),
                'constraint_seconds': round(constrained - indexed, 3),
                'analyze_seconds': round(
                    time.perf_counter() - constrained, 3),
                })
