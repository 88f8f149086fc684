"""Population-scale INSERT ... SELECT with foreign keys checked once per
statement instead of once per row, on PostgreSQL.

PostgreSQL checks a foreign key row by row: a trigger, a look-up and a
`FOR KEY SHARE` lock written into the referenced row. Importing 800,000
members therefore writes 800,000 rows of `party_party`, and the checks
cost more than the rows themselves (45.5 s against 21.6 s at 1,000,000
households). `insert_select()` runs the statement with the row checks of
PostgreSQL's own foreign keys switched off for it alone
(`session_replication_role = replica`) and keeps their guarantee by two
pieces installed with the table (`guard_references()`):

- **the check**: an `ENABLE ALWAYS` statement-level trigger on the table
  that anti-joins the statement's new rows (a transition table) to every
  table its foreign keys reference, and refuses the statement with
  PostgreSQL's own `foreign_key_violation` when a value is missing;
- **the guard**: a row per referenced table in `spp_reference_guard`.
  Every DELETE on a referenced table updates its row (a statement
  trigger); `insert_select()` locks the rows `FOR SHARE` first. A delete
  therefore waits for a bulk insert in progress, and PostgreSQL's own
  foreign key (still in place: the delete side is unchanged) then sees the
  new rows and refuses the delete. A bulk insert that starts after a
  delete committed since its snapshot fails to lock with a serialization
  error, and is retried (trytond retries requests and queue tasks) on a
  snapshot where the deleted row is gone. That is the race the row lock of
  a foreign key covers.

Every other write to these tables (the ORM's, one row at a time) keeps the
per-row checks. Setting `session_replication_role` takes a superuser or,
from PostgreSQL 15, `GRANT SET ON PARAMETER session_replication_role TO
<role>`; without it, or on SQLite (no foreign keys), `insert_select()` is
a plain execute."""
from trytond import backend
from trytond.transaction import Transaction

GUARD_TABLE = 'spp_reference_guard'
GUARD_TRIGGER = 'spp_reference_guard'
CHECK_TRIGGER = 'spp_reference_check'

_GUARD_FUNCTION = f'''
CREATE OR REPLACE FUNCTION spp_reference_guard_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "{GUARD_TABLE}" SET deletions = deletions + 1
    WHERE table_name = TG_TABLE_NAME;
    RETURN NULL;
END $$'''

# The foreign keys are read when the trigger fires, so a key that a later
# module adds to the table is checked too. Values are checked distinct:
# a key to a row that every new row shares (program, cycle, batch) costs
# one look-up per statement.
_CHECK_FUNCTION = '''
CREATE OR REPLACE FUNCTION spp_reference_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    fk record;
    missing text;
BEGIN
    IF current_setting('session_replication_role') <> 'replica' THEN
        RETURN NULL;  -- PostgreSQL checked every row already
    END IF;
    FOR fk IN
        SELECT c.conname, a.attname AS col, c.confrelid::regclass AS ref,
            ra.attname AS refcol
        FROM pg_constraint c
        JOIN pg_attribute a
            ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra
            ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.conrelid = TG_RELID AND c.contype = 'f'
    LOOP
        EXECUTE format('SELECT d.v::text FROM (SELECT DISTINCT n.%1$I AS v '
            'FROM spp_new_rows n WHERE n.%1$I IS NOT NULL) d '
            'WHERE NOT EXISTS (SELECT 1 FROM %2$s r WHERE r.%3$I = d.v) '
            'LIMIT 1', fk.col, fk.ref, fk.refcol) INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
                CONSTRAINT = fk.conname, TABLE = TG_TABLE_NAME,
                MESSAGE = format('insert or update on table "%s" violates '
                    'foreign key constraint "%s"', TG_TABLE_NAME, fk.conname),
                DETAIL = format('Key (%s)=(%s) is not present in table '
                    '"%s".', fk.col, missing, fk.ref);
        END IF;
    END LOOP;
    RETURN NULL;
END $$'''


def _foreign_keys(cursor, table):
    """The foreign keys of `table`: {column: (referenced table, whether it
    is guarded)}."""
    cursor.execute(
        'SELECT a.attname, r.relname, EXISTS ('
            'SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.confrelid '
            'AND t.tgname = %s) '
        'FROM pg_constraint c JOIN pg_attribute a '
            'ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] '
        'JOIN pg_class r ON r.oid = c.confrelid '
        'WHERE c.conrelid = %s::regclass AND c.contype = \'f\'',
        (GUARD_TRIGGER, f'"{table}"'))
    return {column: (referenced, guarded)
        for column, referenced, guarded in cursor}


def _has_trigger(cursor, table, name):
    cursor.execute('SELECT 1 FROM pg_trigger '
        'WHERE tgrelid = %s::regclass AND tgname = %s', (f'"{table}"', name))
    return cursor.fetchone() is not None


def guard_references(Model):
    """Install the check on Model's table and the guard on every table its
    foreign keys reference (see the module's docstring). Run at module
    registration, after the table and its keys exist; idempotent."""
    if backend.name != 'postgresql':
        return
    cursor = Transaction().connection.cursor()
    cursor.execute(f'CREATE TABLE IF NOT EXISTS "{GUARD_TABLE}" ('
        'table_name VARCHAR PRIMARY KEY, '
        'deletions BIGINT NOT NULL DEFAULT 0)')
    cursor.execute(_GUARD_FUNCTION)
    cursor.execute(_CHECK_FUNCTION)
    table = Model._table
    for referenced, guarded in set(_foreign_keys(cursor, table).values()):
        cursor.execute(f'INSERT INTO "{GUARD_TABLE}" (table_name) '
            'VALUES (%s) ON CONFLICT DO NOTHING', (referenced,))
        if not guarded:
            cursor.execute(f'CREATE TRIGGER "{GUARD_TRIGGER}" '
                f'BEFORE DELETE ON "{referenced}" FOR EACH STATEMENT '
                'EXECUTE FUNCTION spp_reference_guard_touch()')
    if not _has_trigger(cursor, table, CHECK_TRIGGER):
        cursor.execute(f'CREATE TRIGGER "{CHECK_TRIGGER}" '
            f'AFTER INSERT ON "{table}" REFERENCING NEW TABLE AS spp_new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION spp_reference_check()')
        cursor.execute(f'ALTER TABLE "{table}" '
            f'ENABLE ALWAYS TRIGGER "{CHECK_TRIGGER}"')


def may_skip_row_checks(cursor):
    "Whether this connection may set session_replication_role."
    cursor.execute("SELECT current_setting('is_superuser') = 'on', "
        "current_setting('server_version_num')::int")
    superuser, version = cursor.fetchone()
    if superuser:
        return True
    if version < 150000:
        return False
    cursor.execute("SELECT has_parameter_privilege("
        "'session_replication_role', 'SET')")
    return cursor.fetchone()[0]


def _lock_guards(cursor, table, columns):
    """Lock FOR SHARE the guard rows of the tables that `columns` of
    `table` reference; False when one of them is not guarded (a key added
    after registration)."""
    if not _has_trigger(cursor, table, CHECK_TRIGGER):
        return False
    keys = _foreign_keys(cursor, table)
    referenced = {keys[c] for c in columns if c in keys}
    if not all(guarded for _, guarded in referenced):
        return False
    names = sorted({name for name, _ in referenced})
    cursor.execute(f'SELECT table_name FROM "{GUARD_TABLE}" '
        'WHERE table_name = ANY(%s) ORDER BY table_name FOR SHARE',
        (names,))
    return len(cursor.fetchall()) == len(names)


def insert_select(Model, query):
    """Execute `query`, an INSERT into Model's table, with its foreign
    keys checked once for the statement (see the module's docstring);
    return the number of rows inserted."""
    cursor = Transaction().connection.cursor()
    unchecked = (backend.name == 'postgresql'
        and may_skip_row_checks(cursor)
        and _lock_guards(cursor, Model._table,
            [column.name for column in query.columns]))
    if unchecked:
        cursor.execute('SET LOCAL session_replication_role = replica')
    # On an error the transaction (or savepoint) is rolled back, and the
    # setting with it.
    cursor.execute(*query)
    rows = cursor.rowcount
    if unchecked:
        cursor.execute('SET LOCAL session_replication_role = DEFAULT')
    return rows
