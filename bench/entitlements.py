#!/usr/bin/env python3
"""Entitlements and payments benchmark on PostgreSQL: prepare, approve,
payment batches + CSV export, reconciliation import.

In a database with spp_payment and a synthetic registry (`spp-demo
generate`), a program enrols every household (`member_count >= 1`), gets
three cash items (a base, +20.00 for a female head, +25.50 per child up
to 3 children), a cap of 150.00 and a 1.5% fee, and one approved cycle.
Each step runs in its own committed transaction and is measured three
ways: the set-based path the addons use, the per-record ORM path on a
--sample (rolled back, extrapolated to the population) and a raw SQL
floor: the same work written by hand into a plain table (a primary key,
no other index, no foreign key or unique constraint). Prepare and approve
also get a second floor, `floor_same_table`: the same hand-written SQL
into an empty copy of spp_entitlement's definition (its columns, checks,
unique and exclusion constraints, indexes and fill factor, without
foreign keys), which is what the set-based path must pay at least and the
plain floor does not.

    .venv/bin/python -O bench/entitlements.py --households 100000

prints JSON and writes bench/results/entitlements_<households>.json.
--reuse keeps an existing database of that size. The stage functions are
also what bench/run_all.py runs (through bench/stage_entitlements.py).
"""
import argparse
import csv
import datetime as dt
import io
import json
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


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default=None,
        help="default: bench_entitlements_<households>")
    parser.add_argument('--households', type=int, default=100_000)
    parser.add_argument('--sample', type=int, default=10_000,
        help="beneficiaries of the per-record ORM comparison")
    parser.add_argument('--reuse', action='store_true')
    parser.add_argument('--cycle', type=int, default=None,
        help="with --reuse: measure again on this approved cycle of an "
        "earlier run (its entitlements and payments are deleted first) "
        "instead of enrolling a new program")
    parser.add_argument('--stages', default='prepare,approve,batches_export,'
        'reconciliation', help="comma-separated stages to run, in order "
        "(each needs the ones before it)")
    parser.add_argument('--output', default=None)
    return parser.parse_args()


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
    statement, spp_programs/bulk_insert.py) is part of what is measured
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


# The bench rules written by hand: (amount) of a party_party row `p`.
FLOOR_AMOUNT = (
    'CROSS JOIN LATERAL (SELECT ROUND(LEAST('
    '60.00 + CASE WHEN p.female_head THEN 20.00 ELSE 0 END '
    '+ CASE WHEN p.child_count >= 1 THEN 25.50 * LEAST('
    'GREATEST(COALESCE(p.child_count, 0), 0), 3) ELSE 0 END, '
    '150.00), 2) AS amount) t ')


# -- stages -------------------------------------------------------------------

def stage_prepare(database, cycle_id, sample):
    from trytond.pool import Pool
    pool = Pool(database)
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    CycleMembership = pool.get('spp.cycle.membership')
    preview_s, (count, total, fee) = timed(database,
        lambda: Entitlement.preview(Cycle(cycle_id)))

    def orm():
        "Per record: the Python rules, one create per beneficiary."
        cycle = Cycle(cycle_id)
        program = cycle.program
        members = CycleMembership.search([('cycle', '=', cycle_id)],
            limit=sample, order=[('id', 'ASC')])
        for member in members:
            amount, fee = program.compute_entitlement(member.registrant)
            if amount > 0:
                Entitlement.create([{'cycle': cycle_id,
                            'cycle_membership': member.id,
                            'amount': amount, 'fee': fee}])
        return len(members)
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, rows = timed(database,
        lambda: Entitlement.prepare(Cycle(cycle_id)))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_entitlement ('
            'id SERIAL PRIMARY KEY, cycle INTEGER, cycle_membership INTEGER, '
            'registrant INTEGER, kind VARCHAR, amount NUMERIC, fee NUMERIC, '
            'state VARCHAR, approved_by INTEGER, approved_at TIMESTAMP, '
            'create_uid INTEGER, create_date TIMESTAMP)')
        cur.execute(
            'INSERT INTO bench_floor_entitlement (cycle, cycle_membership, '
            'registrant, kind, amount, fee, state, create_uid, create_date) '
            'SELECT %(cycle)s, m.id, m.registrant, \'cash\', t.amount, '
            'ROUND(t.amount * 1.5 / 100, 2), \'draft\', 0, NOW() '
            'FROM spp_cycle_membership m JOIN party_party p '
            'ON p.id = m.registrant ' + FLOOR_AMOUNT +
            'WHERE m.cycle = %(cycle)s AND t.amount > 0', {'cycle': cycle_id})
        return cur.rowcount

    def floor_same_table():
        "The columns the set-based INSERT writes, into the same definition."
        cur = cursor()
        cur.execute(
            'INSERT INTO bench_floor_entitlement_same (cycle, '
            'cycle_membership, registrant, kind, item_key, slot, amount, '
            'fee, valid_from, valid_until, state, create_uid, create_date) '
            'SELECT m.cycle, m.id, m.registrant, \'cash\', 0, 1, t.amount, '
            'ROUND(t.amount * 1.5 / 100, 2), c.start_date, c.end_date, '
            '\'draft\', 0, NOW() '
            'FROM spp_cycle_membership m JOIN spp_cycle c ON c.id = m.cycle '
            'JOIN party_party p ON p.id = m.registrant ' + FLOOR_AMOUNT +
            'WHERE m.cycle = %(cycle)s AND t.amount > 0', {'cycle': cycle_id})
        return cur.rowcount
    timed(database, drop_floor)
    timed(database, lambda: create_like(
            'bench_floor_entitlement_same', 'spp_entitlement'))
    floor_s, floor_rows = timed(database, floor)
    same_s, same_rows = timed(database, floor_same_table)
    return {
        'rows': rows, 'seconds': seconds,
        'preview': {'seconds': round(preview_s, 2), 'count': count,
            'total': str(total), 'fee': str(fee)},
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2),
            'definition': PLAIN_FLOOR},
        'floor_same_table': {'rows': same_rows, 'seconds': round(same_s, 2),
            'definition': SAME_TABLE_FLOOR},
        }


def stage_approve(database, cycle_id, sample):
    from trytond.pool import Pool
    pool = Pool(database)
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    timed(database, lambda: Cycle.submit_entitlements([Cycle(cycle_id)]))

    def orm():
        "Per record: one approval (with its fund check) per entitlement."
        ids = [e.id for e in Entitlement.search([('cycle', '=', cycle_id)],
                limit=sample, order=[('id', 'ASC')])]
        for id_ in ids:
            # A fresh instance: no prefetch of the whole list after each
            # approval clears the cache.
            Entitlement.approve([Entitlement(id_)])
        return len(ids)
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, rows = timed(database,
        lambda: Entitlement._approve(Cycle(cycle_id)))

    def floor():
        cur = cursor()
        cur.execute('SELECT SUM(amount + fee) FROM '
            'bench_floor_entitlement WHERE state = \'draft\'')
        cur.execute('UPDATE bench_floor_entitlement SET '
            'state = \'approved\', approved_by = 0, approved_at = NOW() '
            'WHERE state = \'draft\'')
        return cur.rowcount

    def floor_same_table():
        "The columns the set-based UPDATE writes, in the same definition."
        cur = cursor()
        cur.execute('SELECT SUM(amount + fee) FROM '
            'bench_floor_entitlement_same WHERE cycle = %s '
            'AND state = \'draft\'', (cycle_id,))
        cur.execute('UPDATE bench_floor_entitlement_same SET '
            'state = \'approved\', approved_by = 0, '
            'approved_at = LOCALTIMESTAMP(0), write_uid = 0, '
            'write_date = NOW() WHERE cycle = %s AND state = \'draft\'',
            (cycle_id,))
        return cur.rowcount
    floor_s, floor_rows = timed(database, floor)
    same_s, same_rows = timed(database, floor_same_table)
    return {
        'rows': rows, 'seconds': seconds,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2),
            'definition': PLAIN_FLOOR},
        'floor_same_table': {'rows': same_rows, 'seconds': round(same_s, 2),
            'definition': SAME_TABLE_FLOOR},
        }


def stage_batches(database, cycle_id, sample, directory):
    from trytond.modules.spp_payment.export import export_csv
    from trytond.pool import Pool
    pool = Pool(database)
    Batch = pool.get('spp.payment.batch')
    Payment = pool.get('spp.payment')
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')

    def orm():
        "Per record: one create per payment, the CSV from ORM reads."
        batch, = Batch.create([{'cycle': cycle_id, 'number': 10 ** 6}])
        entitlements = Entitlement.search([('cycle', '=', cycle_id),
                ('state', '=', 'approved')], limit=sample,
            order=[('id', 'ASC')])
        payments = []
        for entitlement in entitlements:
            payments += Payment.create([{'batch': batch.id,
                        'entitlement': entitlement.id, 'cycle': cycle_id,
                        'registrant': entitlement.registrant.id,
                        'amount': entitlement.amount, 'attempt': 1,
                        'slot': 1,
                        'reference': f'ORM-{entitlement.id}'}])
        output = io.StringIO()
        writer = csv.writer(output)
        for payment in Payment.browse([p.id for p in payments]):
            writer.writerow([payment.reference, payment.registrant.name,
                    payment.payee_phone, payment.amount])
        return len(payments)
    orm_s, orm_rows = timed(database, orm, commit=False)

    def set_based():
        batches = Batch.create_for_cycle(Cycle(cycle_id), size=BATCH_SIZE)
        Batch.approve(batches)
        size = 0
        for batch in batches:
            data = export_csv(batch)
            (directory / f'batch_{batch.number}.csv').write_bytes(data)
            size += len(data)
        return len(batches), size
    seconds, (batches, size) = timed(database, set_based)
    _, rows = timed(database, lambda: Payment.search_count(
            [('cycle', '=', cycle_id)]))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_payment ('
            'id SERIAL PRIMARY KEY, batch INTEGER, entitlement INTEGER, '
            'registrant INTEGER, amount NUMERIC, reference VARCHAR, '
            'state VARCHAR, paid_amount NUMERIC, paid_date DATE, '
            'provider_reference VARCHAR, create_uid INTEGER, '
            'create_date TIMESTAMP)')
        cur.execute('INSERT INTO bench_floor_payment (batch, '
            'entitlement, registrant, amount, reference, state, create_uid, '
            'create_date) SELECT (ROW_NUMBER() OVER (ORDER BY id) - 1) '
            '/ %s, id, registrant, amount, \'PAY-\' || id || \'-1\', '
            '\'issued\', 0, NOW() FROM spp_entitlement '
            'WHERE cycle = %s AND state = \'approved\'',
            (BATCH_SIZE, cycle_id))
        count = cur.rowcount
        output = io.BytesIO()
        with cur.copy('COPY (SELECT f.reference, p.name, f.amount '
                'FROM bench_floor_payment f JOIN party_party p '
                'ON p.id = f.registrant ORDER BY f.id) TO STDOUT '
                'WITH (FORMAT csv, HEADER)') as copy:
            for data in copy:
                output.write(data)
        (directory / 'floor.csv').write_bytes(output.getvalue())
        return count
    floor_s, floor_rows = timed(database, floor)
    return {
        'rows': rows, 'seconds': seconds, 'batches': batches,
        'csv_bytes': size,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }


def reconciliation_file(cycle_id, path):
    "Every payment of the cycle paid, as the provider would send it."
    from trytond.pool import Pool
    Payment = Pool().get('spp.payment')
    table = Payment.__table__()
    cur = cursor()
    cur.execute(*table.select(table.reference, table.amount,
            where=table.cycle == cycle_id, order_by=[table.id.asc]))
    today = dt.date.today().isoformat()
    with path.open('w', newline='') as file:
        writer = csv.writer(file, lineterminator='\n')
        writer.writerow(['reference', 'status', 'paid_amount', 'date',
                'provider_reference'])
        count = 0
        for reference, amount in cur:
            writer.writerow([reference, 'paid', amount, today,
                    f'PRV-{reference}'])
            count += 1
    return count


def stage_reconcile(database, cycle_id, sample, directory):
    from trytond.modules.spp_payment.reconcile import import_reconciliation
    from trytond.pool import Pool
    Payment = Pool(database).get('spp.payment')
    path = directory / 'reconciliation.csv'
    timed(database, lambda: reconciliation_file(cycle_id, path))

    def orm():
        "Per line: search the payment by reference, check, write."
        lines = 0
        with path.open() as file:
            reader = csv.DictReader(file)
            for line in reader:
                if lines >= sample:
                    break
                payment, = Payment.search(
                    [('reference', '=', line['reference'])])
                if payment.amount != Decimal(line['paid_amount']):
                    continue
                Payment.write([payment], {'state': 'paid',
                        'paid_amount': Decimal(line['paid_amount']),
                        'paid_date': dt.date.fromisoformat(line['date']),
                        'provider_reference': line['provider_reference']})
                lines += 1
        return lines
    orm_s, orm_rows = timed(database, orm, commit=False)
    seconds, report = timed(database,
        lambda: import_reconciliation(path.read_bytes()))
    again_s, again = timed(database,
        lambda: import_reconciliation(path.read_bytes()))

    def floor():
        cur = cursor()
        cur.execute('CREATE TABLE bench_floor_reconciliation ('
            'reference VARCHAR, status VARCHAR, paid_amount NUMERIC, '
            'paid_date DATE, provider_reference VARCHAR)')
        with path.open('rb') as file, cur.copy(
                'COPY bench_floor_reconciliation FROM STDIN '
                'WITH (FORMAT csv, HEADER)') as copy:
            while data := file.read(1 << 20):
                copy.write(data)
        cur.execute('UPDATE bench_floor_payment f SET state = r.status, '
            'paid_amount = r.paid_amount, paid_date = r.paid_date, '
            'provider_reference = r.provider_reference '
            'FROM bench_floor_reconciliation r '
            'WHERE r.reference = f.reference')
        return cur.rowcount
    floor_s, floor_rows = timed(database, floor)
    return {
        'rows': report.paid, 'seconds': seconds,
        'refused': len(report.errors),
        'reimport': {'seconds': round(again_s, 2),
            'unchanged': again.unchanged, 'paid': again.paid},
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(
                orm_s * report.paid / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }


def ratios(result):
    seconds = result['seconds']
    figures = {
        'set_based_vs_floor': round(seconds / result['floor']['seconds'], 2)
        if result['floor']['seconds'] else None,
        'orm_vs_set_based': round(
            result['orm']['extrapolated_seconds'] / seconds, 1),
        }
    same = result.get('floor_same_table')
    if same:
        figures['set_based_vs_floor_same_table'] = (
            round(seconds / same['seconds'], 2) if same['seconds'] else None)
    return figures


def main():
    options = parse_arguments()
    database = options.database or (
        f'bench_entitlements_{options.households}')
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    if not (options.reuse and database_exists(options.uri, database)):
        create_database(options.uri, database, options.households)
    setup_s = time.perf_counter() - started

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    started = time.perf_counter()
    if options.reuse and options.cycle:
        cycle_id = options.cycle
        _, program_id = timed(database, lambda: reset_cycle(cycle_id))
    else:
        _, program_id = timed(database, lambda: setup_program('ENT'))
        timed(database, lambda: add_rules(program_id))
        _, cycle_id = timed(database, lambda: new_cycle(program_id))
        timed(database, lambda: approve_cycle(cycle_id))
        timed(database, lambda: post_funds(program_id, Decimal(10 ** 12)))
    timed(database, drop_floor)
    timed(database, analyze)
    setup_s += time.perf_counter() - started
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        runners = {
            'prepare': lambda: stage_prepare(
                database, cycle_id, options.sample),
            'approve': lambda: stage_approve(
                database, cycle_id, options.sample),
            'batches_export': lambda: stage_batches(database, cycle_id,
                options.sample, directory),
            'reconciliation': lambda: stage_reconcile(database, cycle_id,
                options.sample, directory),
            }
        stages = {}
        for name in options.stages.split(','):
            stages[name] = runners[name]()
            timed(database, analyze)
    timed(database, drop_floor)
    for result in stages.values():
        result['seconds'] = round(result['seconds'], 2)
        result['ratios'] = ratios(result)
    figures = {
        'database': database,
        'households': options.households,
        'beneficiaries': stages.get('prepare', {}).get('rows'),
        'sample': options.sample,
        'python_optimize': bool(sys.flags.optimize),
        'setup_s': round(setup_s, 1),
        'stages': stages,
        'targets_1m': {'prepare_s': 25, 'approve_s': 15,
            'batches_export_s': 20, 'reconciliation_s': 30,
            'set_based_vs_floor_max': 1.5, 'orm_vs_set_based_min': 30},
        'load_average': os.getloadavg(),
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds'),
        }
    output = Path(options.output or
        RESULTS / f'entitlements_{options.households}.json')
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + '\n')
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
