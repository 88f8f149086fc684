"""Bulk-load mode on PostgreSQL, with the rebuild on several connections.

bulk.py rebuilds the secondary indexes and constraints one after the other
in the load's transaction. A server builds one index per connection: a
B-tree with parallel workers (max_parallel_maintenance_workers), a GIN
index (the trigram ones on names and codes) or a hash index on one core
only, so one after the other those leave cores idle. Here the same
statements run on `jobs` connections at once, the longest first.

A connection sees only committed rows, so the load commits before the
rebuild. What that means for a failure:

* before the load commits (drawing, COPY): the transaction rolls back and
  the database is as it was, indexes included;
* after (the rebuild): the rows stay, and the plan of what is left to
  rebuild stays in the table PLAN, committed with the rows. The rebuild
  is safely re-runnable: every step is skipped when already done, and
  `spp-demo generate --households 0` (or any generation, before it drops
  anything) finishes it. A unique index refused because of a duplicate
  fails again until the duplicate is removed.

Foreign keys come back `NOT VALID` in the load's transaction, so rows that
others write after the commit are checked already; their validation
(`VALIDATE CONSTRAINT`, the same join as `ADD CONSTRAINT`) runs with the
indexes. Unique constraints are built as unique indexes named as the
constraint, with the others, then attached (`ADD CONSTRAINT … USING
INDEX`). The result is the schema bulk.py leaves: the same index and
constraint definitions, every constraint validated. Until the rebuild ends
the tables have no secondary index and no unique constraint: generate
into a database nobody else writes to meanwhile (bulk.py's path locks the
tables instead, until its commit)."""
import threading
import time

from .bulk import (
    MAINTENANCE_WORK_MEM, WORK_MEM, secondary_indexes, table_oids,
    unique_and_foreign_keys)

PLAN = 'spp_demo_index_rebuild'
# Relative cost per page of the table, to start the longest builds first:
# a trigram GIN index costs several B-trees and uses one core.
WEIGHTS = {'gin': 4.0, 'hash': 1.5, 'btree': 1.0, 'foreign': 1.0,
    'analyze': 0.1}


def pending(cursor):
    "Whether a rebuild of an earlier load is left to do."
    cursor.execute('SELECT to_regclass(%s) IS NOT NULL', (PLAN,))
    return cursor.fetchone()[0]


def drop_for_load(cursor, tables):
    """Drop the secondary indexes, unique constraints and foreign keys of
    `tables` and record how to build them again in PLAN (in the caller's
    transaction: a rollback restores everything)."""
    oids = table_oids(cursor, tables)
    cursor.execute(f'CREATE TABLE "{PLAN}" (position serial PRIMARY KEY, '
        'step varchar NOT NULL, table_name varchar NOT NULL, '
        'name varchar NOT NULL, definition text NOT NULL, '
        'weight float NOT NULL)')
    indexes = secondary_indexes(cursor, oids)
    constraints = unique_and_foreign_keys(cursor, oids)
    rows = [('index', t, n, d, WEIGHTS.get(am, 1.0))
        for t, n, d, am in indexes]
    for table, name, kind, definition, index in constraints:
        if kind == 'u':
            # Built as an index of the constraint's name, attached at the
            # end; what follows the columns (DEFERRABLE …) is kept.
            tail = definition[definition.rindex(')') + 1:]
            rows.append(('unique', table, name, index, WEIGHTS['btree']))
            rows.append(('attach', table, name, tail, 0))
        else:
            rows.append(('foreign', table, name, definition,
                    WEIGHTS['foreign']))
    rows += [('analyze', t, t, '', WEIGHTS['analyze']) for t in oids]
    for row in rows:
        cursor.execute(f'INSERT INTO "{PLAN}" (step, table_name, name, '
            'definition, weight) VALUES (%s, %s, %s, %s, %s)', row)
    for table, name, *_ in constraints:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for _, name, *_ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return len(indexes) + len(constraints)


def add_foreign_keys(cursor):
    """After the load, in its transaction: the foreign keys back, checked
    for new rows (NOT VALID: the existing ones are validated later)."""
    for table, name, definition in _plan(cursor, 'foreign'):
        if not _constraint_exists(cursor, table, name):
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" '
                f'{definition} NOT VALID')


def rebuild(connect, release, jobs=2, figures=None):
    """Run PLAN on `jobs` connections (`connect()` gives one, in autocommit;
    `release(connection)` gives it back): indexes and validations, the
    longest first; ANALYZE of each table once its indexes are built; then
    attach the unique constraints and drop PLAN in one transaction. Each
    step done is skipped (a rebuild that failed is run again)."""
    started = time.perf_counter()
    connection = connect()
    try:
        cursor = connection.cursor()
        if not pending(cursor):
            return
        # The longest first: weight by the size of the loaded table.
        cursor.execute('SELECT step, table_name, name, definition '
            f'FROM "{PLAN}" WHERE step <> %s ORDER BY weight * '
            'pg_relation_size(quote_ident(table_name)::regclass) DESC, '
            'position', ('attach',))
        tasks = [t for t in cursor.fetchall() if not _done(cursor, *t[:3])]
    finally:
        release(connection)
    timings = _run_tasks(tasks, connect, release, jobs)
    built = time.perf_counter()
    connection = connect()
    try:
        cursor = connection.cursor()
        cursor.execute('BEGIN')
        for table, name, tail in _plan(cursor, 'attach'):
            if not _constraint_exists(cursor, table, name):
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT '
                    f'"{name}" UNIQUE USING INDEX "{name}"{tail}')
        cursor.execute(f'DROP TABLE "{PLAN}"')
        cursor.execute('COMMIT')
    finally:
        release(connection)
    if figures is not None:
        def total(*steps):
            return round(sum(s for step, _, s in timings if step in steps), 3)
        figures.update({
                'rebuild_jobs': jobs,
                'rebuild_seconds': round(time.perf_counter() - started, 3),
                'attach_seconds': round(time.perf_counter() - built, 3),
                'indexes_rebuilt': sum(
                    step in {'index', 'unique'} for step, _, _ in timings),
                # Seconds of each kind of step, added over the connections
                # (they overlap: more than the rebuild's wall time).
                'index_task_seconds': total('index', 'unique'),
                'constraint_task_seconds': total('foreign'),
                'analyze_task_seconds': total('analyze'),
                'constraints_revalidated': sum(
                    step == 'foreign' for step, _, _ in timings),
                'slowest_indexes': dict((name, seconds) for seconds, name
                    in sorted(((s, n) for step, n, s in timings
                            if step in {'index', 'unique'}),
                        reverse=True)[:8]),
                })


def _run_tasks(tasks, connect, release, jobs):
    """Run tasks on `jobs` threads, each with its connection. A validation
    or ANALYZE of a table waits until its indexes are built (their locks
    conflict: it would only block a connection) and runs alone on its
    table. The first error stops the handing out and is raised."""
    condition = threading.Condition()
    waiting = list(tasks)
    building = {}  # table -> index builds not finished
    for step, table, *_ in tasks:
        if step in {'index', 'unique'}:
            building[table] = building.get(table, 0) + 1
    busy = set()  # tables with a validation or ANALYZE running
    timings, errors = [], []

    def next_task():
        for task in waiting:
            step, table = task[:2]
            if step in {'index', 'unique'} or (
                    not building.get(table) and table not in busy):
                waiting.remove(task)
                return task

    def lane():
        connection = connect()
        try:
            cursor = connection.cursor()
            cursor.execute(
                f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            cursor.execute(f"SET work_mem = '{WORK_MEM}'")
            while True:
                with condition:
                    task = next_task()
                    while task is None and waiting and not errors:
                        condition.wait()
                        task = next_task()
                    if task is None or errors:
                        return
                    step, table, name, definition = task
                    if step not in {'index', 'unique'}:
                        busy.add(table)
                begun = time.perf_counter()
                try:
                    _execute(cursor, step, table, name, definition)
                except Exception as error:
                    with condition:
                        errors.append(error)
                        condition.notify_all()
                    return
                with condition:
                    timings.append(
                        (step, name, round(time.perf_counter() - begun, 3)))
                    if step in {'index', 'unique'}:
                        building[table] -= 1
                    busy.discard(table)
                    condition.notify_all()
        finally:
            try:
                connection.cursor().execute('RESET ALL')
            finally:
                release(connection)

    threads = [threading.Thread(target=lane, name=f'spp-demo-rebuild-{i}')
        for i in range(max(1, min(jobs, len(tasks))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return timings


def _execute(cursor, step, table, name, definition):
    if step in {'index', 'unique'}:
        cursor.execute(definition)
    elif step == 'foreign':
        cursor.execute(
            f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{name}"')
    elif step == 'analyze':
        cursor.execute(f'ANALYZE "{table}"')


def _plan(cursor, step):
    cursor.execute(f'SELECT table_name, name, definition FROM "{PLAN}" '
        'WHERE step = %s ORDER BY position', (step,))
    return cursor.fetchall()


def _constraint_exists(cursor, table, name, validated=False):
    cursor.execute('SELECT convalidated FROM pg_constraint '
        'WHERE conrelid = %s::regclass AND conname = %s',
        (f'"{table}"', name))
    row = cursor.fetchone()
    return row is not None and (row[0] or not validated)


def _done(cursor, step, table, name):
    if step in {'index', 'unique'}:
        cursor.execute('SELECT to_regclass(%s) IS NOT NULL', (f'"{name}"',))
        return cursor.fetchone()[0]
    if step == 'foreign':
        return _constraint_exists(cursor, table, name, validated=True)
    # ANALYZE again: cheap, and the statistics then know every index.
    return False
