"""bench/entitlements.py: the database, the program and its approved
cycle, and the floor tables the stages compare with."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
NO_QUEUE = {'spp_programs_queue_threshold': 10 ** 12}
ITEMS = [
    {'name': "Base", 'amount': Decimal('60.00'), 'sequence': 1},
    {'name': "Female head", 'amount': Decimal('20.00'), 'sequence': 2,
        'condition': 'female_head'},
    {'name': "Per child", 'amount': Decimal('25.50'), 'sequence': 3,
        'condition': 'child_count >= 1', 'multiplier_field': 'child_count',
        'max_multiplier': 3},
    ]
MAX_AMOUNT = Decimal('150.00')
FEE_PERCENTAGE = Decimal('1.5')
BATCH_SIZE = 10_000
FLOOR_TABLES = ['bench_floor_entitlement', 'bench_floor_payment',
    'bench_floor_reconciliation', 'bench_floor_entitlement_same']
PLAIN_FLOOR = ("hand-written SQL into a plain table: primary key only, no "
    "other index, no unique, exclusion or foreign key constraint")
SAME_TABLE_FLOOR = ("hand-written SQL into an empty copy of "
    "spp_entitlement's definition (LIKE ... INCLUDING ALL: columns, "
    "checks, unique and exclusion constraints, indexes; plus the fill "
    "factor; no foreign key)")


def executable(name):
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def database_exists(uri, name):
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/postgres') as connection:
        return bool(connection.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (name,)).fetchone())


def create_database(uri, name, households):
    "Create `name` with spp_payment and generate the population."
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/postgres',
            autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        subprocess.run([executable('trytond-admin'), '-d', name,
                '-u', 'spp_payment', '--activate-dependencies',
                '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([executable('spp-demo'), 'generate', '-d', name,
                '--households', str(households), '--quiet'],
            env=env, check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(uri.rstrip('/') + '/' + name,
            autocommit=True) as connection:
        connection.execute('VACUUM ANALYZE')


def timed(database, function, commit=True):
    "Run function in its own transaction; return (seconds, result)."
    from trytond.transaction import Transaction
    started = time.perf_counter()
    with Transaction().start(database, 0, context=NO_QUEUE) as transaction:
        result = function()
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    return time.perf_counter() - started, result


def cursor():
    from trytond.transaction import Transaction
    return Transaction().connection.cursor()


# -- set-up -------------------------------------------------------------------

def setup_program(code, rule='member_count >= 1'):
    "A program with the bench rules, enrolled; return its id."
    from trytond.pool import Pool
    pool = Pool()
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    currency = Currency.search([('code', '=', 'BNC')])
    if not currency:
        currency = Currency.create([{
                    'name': "Bench", 'code': 'BNC', 'symbol': 'B'}])
    for old in Program.search([('code', '=', code)]):
        Program.write([old], {'code': f'{code}-old-{old.id}'})
    program, = Program.create([{
                'name': f"Bench {code}", 'code': code,
                'target_type': 'group', 'currency': currency[0].id,
                'eligibility_rule': rule,
                }])
    Program.activate([program])
    Program.import_eligible([program])
    Program.enrol([program])
    return program.id


def add_rules(program_id):
    "The bench entitlement rules on an existing program."
    from trytond.pool import Pool
    Program = Pool().get('spp.program')
    Program.write([Program(program_id)], {
            'max_amount': MAX_AMOUNT, 'fee_percentage': FEE_PERCENTAGE,
            'entitlement_items': [('create', ITEMS)]})


def approve_cycle(cycle_id):
    "Submit and approve a prepared cycle (approval itself is not timed)."
    from trytond.pool import Pool
    Cycle = Pool().get('spp.cycle')
    cycle = Cycle(cycle_id)
    if cycle.state == 'draft':
        if not cycle.prepared_at:
            Cycle.prepare([cycle])
        Cycle.submit([cycle])
        cycle = Cycle(cycle_id)
        cycle.submitted_by = None
        cycle.save()
    if cycle.state == 'to_approve':
        Cycle.approve([cycle])


def new_cycle(program_id):
    from trytond.pool import Pool
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Program = pool.get('spp.program')
    cycle = Cycle.create_next(Program(program_id))
    Cycle.prepare([cycle])
    return cycle.id


def post_funds(program_id, amount):
    from trytond.pool import Pool
    Fund = Pool().get('spp.program.fund')
    fund, = Fund.create([{'program': program_id, 'amount': amount,
                'reference': 'BENCH'}])
    Fund.post([fund])


def reset_cycle(cycle_id):
    "Delete the payments and entitlements of an earlier run's cycle."
    cur = cursor()
    for table in ['spp_payment', 'spp_payment_batch']:
        cur.execute('SELECT 1 FROM pg_tables WHERE tablename = %s', (table,))
        if cur.fetchone():
            cur.execute(f'DELETE FROM {table} WHERE cycle = %s', (cycle_id,))
    cur.execute('DELETE FROM spp_entitlement_redemption WHERE entitlement IN '
        '(SELECT id FROM spp_entitlement WHERE cycle = %s)', (cycle_id,))
    cur.execute('DELETE FROM spp_entitlement WHERE cycle = %s', (cycle_id,))
    cur.execute('SELECT program FROM spp_cycle WHERE id = %s', (cycle_id,))
    program_id, = cur.fetchone()
    return program_id


def analyze():
    """Refresh the planner statistics, as autovacuum does between steps a
    user runs minutes apart: a stage right after a bulk write would
    otherwise be planned on statistics that call the new rows absent (the
    reconciliation UPDATE then ran for minutes on a nested loop)."""
    cursor().execute('ANALYZE')


def drop_floor():
    for table in FLOOR_TABLES:
        cursor().execute(f'DROP TABLE IF EXISTS {table}')


def create_like(name, model_table):
    """Create `name`, an empty table with the definition of `model_table`:
    what LIKE ... INCLUDING ALL copies (columns, NOT NULL, defaults, identity,
    checks, primary key, unique and exclusion constraints, indexes) plus its
    fill factor (LIKE copies none), with an id sequence of its own. No
    foreign keys: what the set-based path pays for them (one check per
    statement, spp_registry/bulk/references.py) is part of what is measured
    against the floor."""
    cur = cursor()
    cur.execute(f'CREATE TABLE {name} (LIKE {model_table} INCLUDING ALL)')
    # LIKE copies no storage parameter: the same page fill factor too.
    cur.execute('SELECT reloptions FROM pg_class WHERE oid = %s::regclass',
        (model_table,))
    options, = cur.fetchone()
    if options:
        cur.execute(f'ALTER TABLE {name} SET ({", ".join(options)})')
    cur.execute('SELECT pg_get_serial_sequence(%s, \'id\')', (name,))
    sequence, = cur.fetchone()
    if not sequence or not sequence.split('.')[-1].startswith(name):
        # A DEFAULT nextval() of the model's sequence: one of its own.
        cur.execute(f'CREATE SEQUENCE {name}_id_seq OWNED BY {name}.id')
        cur.execute(f"ALTER TABLE {name} ALTER COLUMN id "
            f"SET DEFAULT nextval('{name}_id_seq')")
