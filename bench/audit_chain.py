#!/usr/bin/env python3
"""Benchmark of the audit chain's verification (issue 20): build a chain of
`--entries` entries on PostgreSQL, then time `chain.verify(Log.rows(...))`,
the walk `tools/sppdb.py audit-verify` makes, and print JSON figures.

    .venv/bin/python bench/audit_chain.py --entries 10000000

The database (default `bench_audit_chain`, spp_audit and its dependencies)
is made once; the chain is built only when it does not hold `--entries`
entries already (re-runs reuse it; --rebuild makes it again). The entries
are made in one pass of Python over generated content (hashed as
`Log.append` hashes them: chain.COLUMNS order, chain's encoder) and
streamed with COPY into the real table, its indexes and constraints
dropped during the load and made again after. Their content is what the
log holds in use: access entries of the REST API and the client (a few
ids, the fields read or the query), changes of registrants (a few fields,
old and new values as JSON), creations, and named actions with their
parameters, several entries sharing a request.

The verification runs in a read-only trytond transaction as the command
does; the figures split the time between fetching the rows (the same
query, rows read and dropped) and the whole walk. Target (issue 20):
10,000,000 entries verified in <= 60 s.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
TARGET_SECONDS_PER_10M = 60

MODELS = ['party.party', 'party.identifier', 'party.contact_mechanism',
    'party.address', 'spp.group.membership']
FIELDS = ['given_name', 'family_name', 'birth_date', 'gender', 'area',
    'disability', 'phone', 'code', 'type', 'active']
GIVEN = ['Ana', 'Maria', 'Jose', 'Luz', 'Pedro', 'Rosa', 'Juan', 'Elena',
    'Miguel', 'Sofia', 'Carlos', 'Ramon', 'Teresa', 'Jun', 'Lourdes']


def log(message):
    print(message, file=sys.stderr, flush=True)


def conninfo(uri, database):
    return uri.rstrip('/') + '/' + database


def ensure_database(options):
    env = {**os.environ, 'TRYTOND_DATABASE__URI': options.uri}
    env.pop('TRYTOND_CONFIG', None)
    password = Path(tempfile.mkdtemp()) / 'pw'
    password.write_text(secrets.token_urlsafe(16) + '\n')
    log(f"database {options.database}: ensuring (spp_audit)")
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'sppdb.py'),
            'ensure', options.database, '--password-file', str(password),
            '--modules', 'spp_audit'], env=env, check=True, cwd=ROOT,
        stdout=subprocess.DEVNULL)


def entries(count, seed):
    """(COLUMNS...) tuples of a chain of `count` entries, positions 1..count,
    timestamps increasing (about a year of a busy registry for 10M)."""
    rng = random.Random(seed)
    choice, randint, random_ = rng.choice, rng.randint, rng.random
    start = dt.datetime(2026, 1, 1, 6, 0, 0)
    micro = 0
    position = 0
    while position < count:
        # One request (transaction): 1 to 5 entries of one kind.
        request_id = '%032x' % rng.getrandbits(128)
        kind = random_()
        size = 1 if kind < 0.6 else randint(1, 5)
        micro += randint(1, 6_000_000)
        user = choice((1, 2, 3, 4, 5))
        for _ in range(size):
            position += 1
            if position > count:
                return
            micro += randint(0, 999)
            timestamp = start + dt.timedelta(microseconds=micro)
            record = randint(1, 5_000_000)
            model = choice(MODELS)
            api_client = records = changes = query = details = None
            record_id = record
            n = 1
            if kind < 0.45:
                # The REST API: one individual by ID, or a search page.
                channel, action, model, api_client = (
                    'rest', 'access', 'party.party', 2)
                if random_() < 0.2:
                    ids = sorted(rng.sample(range(1, 5_000_000),
                            randint(2, 20)))
                    records = ',' + ','.join(map(str, ids)) + ','
                    record_id, n = None, len(ids)
                    query = json.dumps([['area', '=', randint(1, 2000)],
                            ['registrant_type', '=', 'individual']],
                        separators=(',', ':'))
            elif kind < 0.6:
                # The web client: a form read, its fields listed.
                channel, action = 'rpc', 'access'
                details = json.dumps({'fields': sorted(
                            rng.sample(FIELDS, randint(2, 6)))},
                    separators=(',', ':'))
            elif kind < 0.9:
                channel, action = 'rpc', 'write'
                changes = {f: [choice(GIVEN), choice(GIVEN)]
                    for f in rng.sample(FIELDS, randint(1, 3))}
                changes = json.dumps(changes, ensure_ascii=False,
                    separators=(',', ':'), sort_keys=True)
            elif kind < 0.98:
                channel, action = choice(('rpc', 'system')), 'create'
                changes = json.dumps({
                        'given_name': [None, choice(GIVEN)],
                        'family_name': [None, choice(GIVEN) + 's'],
                        'birth_date': [None, f'19{randint(40, 99)}-0'
                            f'{randint(1, 9)}-1{randint(0, 9)}'],
                        'area': [None, randint(1, 2000)],
                        'registrant_type': [None, 'individual']},
                    ensure_ascii=False, separators=(',', ':'),
                    sort_keys=True)
            else:
                channel, action, model = 'system', choice(
                    ('disable', 'import', 'detect_duplicates')), 'party.party'
                record_id, n = None, randint(1, 100_000)
                details = json.dumps({'reason': 'bench', 'rows': n},
                    separators=(',', ':'), sort_keys=True)
            yield (position, timestamp, user, api_client, channel,
                request_id, model, record_id, records, n, action, changes,
                query, details)


def build(options):
    """The chain of options.entries entries in spp_audit_log, by COPY;
    returns the build figures."""
    import psycopg
    from trytond.modules.spp_audit import chain
    encode, sha256 = chain._encode, hashlib.sha256
    timestamp_text = chain.timestamp_text
    columns = list(chain.COLUMNS) + ['hash', 'create_uid', 'create_date']
    with psycopg.connect(conninfo(options.uri, options.database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT count(*) FROM spp_audit_log")
        if cursor.fetchone()[0]:
            log("emptying spp_audit_log (its append-only trigger disabled "
                "for the statement)")
            cursor.execute("ALTER TABLE spp_audit_log DISABLE TRIGGER "
                "spp_audit_log_append_only")
            cursor.execute("TRUNCATE spp_audit_log")
            cursor.execute("ALTER TABLE spp_audit_log ENABLE TRIGGER "
                "spp_audit_log_append_only")
        # Users 1..5 for the entries (the table's user references res_user).
        cursor.execute("SELECT max(id) FROM res_user")
        have, = cursor.fetchone()
        for number in range(have + 1, 6):
            cursor.execute("INSERT INTO res_user (name, login, active, "
                "create_uid, create_date) VALUES (%s, %s, true, 0, now())",
                (f'Bench {number}', f'bench_audit_{number}'))
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'spp_audit_log' AND indexname LIKE 'idx_%%'")
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = 'spp_audit_log'::regclass "
            "AND contype IN ('u', 'f')")
        constraints = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, _ in constraints:
            cursor.execute(
                f'ALTER TABLE spp_audit_log DROP CONSTRAINT "{name}"')
        conn.commit()

        started = time.perf_counter()
        previous = chain.GENESIS
        with cursor.copy(
                'COPY spp_audit_log ('
                + ', '.join(f'"{c}"' for c in columns)
                + ') FROM STDIN') as copy:
            write_row = copy.write_row
            created = timestamp_text(dt.datetime.now())
            for row in entries(options.entries, options.seed):
                values = list(row)
                values[1] = timestamp_text(row[1])
                previous = sha256((previous + encode(values)).encode(
                        'utf-8')).hexdigest()
                values += [previous, 0, created]
                write_row(values)
                if not row[0] % 1_000_000:
                    log(f"  {row[0]:,} entries "
                        f"({time.perf_counter() - started:.0f} s)")
        conn.commit()
        load_s = time.perf_counter() - started
        rebuild = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE spp_audit_log ADD CONSTRAINT '
                f'"{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SELECT setval(pg_get_serial_sequence("
            "'spp_audit_log', 'id'), (SELECT max(id) FROM spp_audit_log))")
        conn.commit()
        rebuild_s = time.perf_counter() - rebuild
        conn.autocommit = True
        vacuum = time.perf_counter()
        cursor.execute("VACUUM (ANALYZE) spp_audit_log")
        vacuum_s = time.perf_counter() - vacuum
        cursor.execute("SELECT pg_total_relation_size('spp_audit_log')")
        size, = cursor.fetchone()
    return {'entries': options.entries,
        'generate_hash_copy_seconds': round(load_s, 1),
        'index_constraint_seconds': round(rebuild_s, 1),
        'vacuum_analyze_seconds': round(vacuum_s, 1),
        'table_bytes_with_indexes': size,
        'bytes_per_entry': round(size / options.entries)}


def chain_length(options):
    import psycopg
    with psycopg.connect(conninfo(options.uri, options.database)) as conn:
        return conn.execute("SELECT count(*), coalesce(max(position), 0) "
            "FROM spp_audit_log").fetchone()


def verify(options):
    "Time the fetch alone, then the whole verification, `repeat` times."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.spp_audit import chain
    Pool.start()
    pool = Pool(options.database)
    with Transaction().start(options.database, 0, readonly=True):
        pool.init()
    Log = pool.get('spp.audit.log')
    runs = []
    for _ in range(options.repeat):
        with Transaction().start(options.database, 0,
                readonly=True) as transaction:
            cursor = transaction.connection.cursor()
            started = time.perf_counter()
            fetched = sum(1 for _ in Log.rows(cursor))
            fetch_s = time.perf_counter() - started
        with Transaction().start(options.database, 0,
                readonly=True) as transaction:
            cursor = transaction.connection.cursor()
            cpu = time.process_time()
            started = time.perf_counter()
            verified = chain.verify(Log.rows(cursor))
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
        assert verified == fetched, (verified, fetched)
        runs.append({'seconds': round(seconds, 2),
                'fetch_only_seconds': round(fetch_s, 2),
                'client_cpu_seconds': round(cpu, 2)})
        log(f"  verified {verified:,} entries in {seconds:.1f} s "
            f"(fetch alone {fetch_s:.1f} s)")
    best = min(runs, key=lambda r: r['seconds'])
    return verified, best, runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='bench_audit_chain')
    parser.add_argument('--entries', type=int, default=10_000_000)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--rebuild', action='store_true',
        help="build the chain even when the database holds one that long")
    parser.add_argument('--repeat', type=int, default=1,
        help="verifications (the best is reported)")
    parser.add_argument('--output', help="default: "
        "bench/results/audit_chain_<entries>.json ('-': none)")
    options = parser.parse_args()
    # Before trytond is imported: it reads its configuration once.
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)

    ensure_database(options)
    figures = {'entries': options.entries, 'cpus': os.cpu_count(),
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds'),
        'load_average_at_start': os.getloadavg()}
    count, last = chain_length(options)
    if options.rebuild or count != options.entries or last != count:
        log(f"building a chain of {options.entries:,} entries")
        figures['build'] = build(options)
    else:
        figures['build'] = {'reused': True}
    verified, best, runs = verify(options)
    seconds = best['seconds']
    figures['verify'] = {
        'entries': verified,
        'seconds': seconds,
        'entries_per_s': round(verified / seconds),
        'fetch_only_seconds': best['fetch_only_seconds'],
        'hash_seconds': round(seconds - best['fetch_only_seconds'], 2),
        'client_cpu_seconds': best['client_cpu_seconds'],
        'runs': runs,
        'seconds_per_10m': round(seconds * 10_000_000 / verified, 1),
        'target_seconds_per_10m': TARGET_SECONDS_PER_10M,
        'meets_target': seconds * 10_000_000 / verified
            <= TARGET_SECONDS_PER_10M,
        }
    figures['load_average_at_end'] = os.getloadavg()
    text = json.dumps(figures, indent=2)
    print(text)
    if options.output != '-':
        output = Path(options.output or
            RESULTS / f'audit_chain_{options.entries}.json')
        output.write_text(text + '\n')
        log(f"written to {output}")


if __name__ == '__main__':
    main()
