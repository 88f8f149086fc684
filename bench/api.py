#!/usr/bin/env python3
"""Benchmark of the API: lookups by national ID (REST and DCI sync search)
at N concurrent clients, and a paginated export of individuals, against
gunicorn (several workers) on PostgreSQL. Prints JSON figures.

    .venv/bin/python bench/api.py --size 100000 --workers 4 --clients 50

The database (default `bench_api`) is made once with every addon needed by
tools/sppdb.py and filled with `--size` individuals, each with a national
ID, by set-based SQL (the ORM path would take minutes per 100,000; the API
reads them the same way). Re-runs reuse it. The load generator runs on the
same machine as the server and takes CPU from it: the figures are a floor.

Each kind of lookup runs twice: closed loop (every client sends again as
soon as it is answered: the most the server answers, and a latency that
is just clients / throughput), then at a fixed offered rate (`--rate`,
default 500 requests/s, the target) from the same clients, timed from each
request's scheduled time: the latency users see at that load.

Targets (issue 8): p95 <= 50 ms for a lookup, >= 500 requests/s on 2 cores,
export >= 20,000 records/s.
"""
import argparse
import contextlib
import hashlib
import http.client
import json
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY_NAME = 'bench'


def log(message):
    print(message, file=sys.stderr, flush=True)


def conninfo(uri, database):
    parts = urllib.parse.urlparse(uri)
    return parts._replace(scheme='postgresql', path='/' + database).geturl()


def national_id(number):
    return f'{number:010d}'


def ensure_database(options):
    env = {**os.environ, 'TRYTOND_DATABASE__URI': options.uri}
    password = Path(tempfile.mkdtemp()) / 'pw'
    password.write_text(secrets.token_urlsafe(16) + '\n')
    modules = getattr(options, 'modules', None) or ['spp_api'] + (
        ['spp_audit'] if getattr(options, 'audit', 'off') == 'on' else [])
    command = [sys.executable, str(ROOT / 'tools' / 'sppdb.py'), 'ensure',
        options.database, '--password-file', str(password),
        '--modules', *modules]
    if options.reset:
        command.append('--reset')
    log(f"database {options.database}: ensuring ({', '.join(modules)} "
        "and dependencies)")
    subprocess.run(command, env=env, check=True, cwd=ROOT,
        stdout=subprocess.DEVNULL)


def populate(options):
    "Individuals 1..size with national IDs 0000000001..., set-based."
    import psycopg
    with psycopg.connect(conninfo(options.uri, options.database),
            autocommit=False) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM party_identifier "
            "WHERE type = 'national_id' AND code LIKE 'B%%'")
        have, = cursor.fetchone()
        if have >= options.size:
            log(f"population: {have} individuals already there")
            return
        started = time.monotonic()
        cursor.execute("SELECT id FROM spp_area WHERE code = 'BENCH'")
        row = cursor.fetchone()
        if row:
            area, = row
        else:
            cursor.execute("INSERT INTO spp_area (name, code, active, "
                "\"left\", \"right\", create_uid, create_date) VALUES "
                "('Bench', 'BENCH', true, 0, 0, 0, now()) RETURNING id")
            area, = cursor.fetchone()
        # Party codes B<n> and ID numbers B<n> padded keep the bench rows
        # apart from anything else in the database.
        cursor.execute("""
            INSERT INTO party_party (name, code, registrant_type,
                family_name, given_name, name_key, birth_date, area,
                active, disability, birth_date_approximate,
                registration_date, member_count, child_count,
                elderly_count, create_uid, create_date)
            SELECT 'Bench ' || g, 'B' || g, 'individual', 'Bench',
                'Person ' || g, 'bench person ' || g,
                DATE '1950-01-01' + (g %% 25000), %s, true, false, false,
                CURRENT_DATE, 0, 0, 0, 0, now()
            FROM generate_series(%s::integer, %s::integer) AS g
            """, (area, have + 1, options.size))
        cursor.execute("""
            INSERT INTO party_identifier (party, type, code, code_compact,
                unique_code, active, create_uid, create_date)
            SELECT p.id, 'national_id', 'B' || lpad(substr(p.code, 2), 9, '0'),
                'B' || lpad(substr(p.code, 2), 9, '0'),
                'national_id:B' || lpad(substr(p.code, 2), 9, '0'),
                true, 0, now()
            FROM party_party p
            WHERE p.code LIKE 'B%%' AND p.registrant_type = 'individual'
                AND NOT EXISTS (SELECT 1 FROM party_identifier i
                    WHERE i.party = p.id)
            """)
        connection.commit()
        cursor.execute("ANALYZE party_party")
        cursor.execute("ANALYZE party_identifier")
        connection.commit()
        log(f"population: {options.size - have} individuals inserted in "
            f"{time.monotonic() - started:.1f} s")


def bench_id(number):
    return 'B' + f'{number:09d}'


def make_client(options):
    "An API client with read scopes and no rate limit; returns its key."
    import psycopg
    key = 'spp_' + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    with psycopg.connect(conninfo(options.uri, options.database)) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT db_id FROM ir_model_data "
            "WHERE module = 'spp_api' AND fs_id = 'user_api'")
        user, = cursor.fetchone()
        cursor.execute("DELETE FROM spp_api_client WHERE name = %s",
            (KEY_NAME,))
        cursor.execute("""INSERT INTO spp_api_client (name, "user", scopes,
                rate_limit, key_hash, key_hint, key_issued, create_uid,
                create_date)
            VALUES (%s, %s, %s, 0, %s, %s, now(), 0, now())""",
            (KEY_NAME, user, json.dumps(['individual:read',
                        'registry:search']), digest, key[:10]))
    return key


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(options, database=None, extra_config='', timeout=120):
    """gunicorn serving `database` (default options.database) with
    options.workers workers and `extra_config` added to its trytond.conf;
    yields its port."""
    database = database or options.database
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix='bench-api-'))
    config = workdir / 'trytond.conf'
    config.write_text(f"[database]\nuri = {options.uri}\n"
        "[web]\nlisten = 127.0.0.1:8000\n" + extra_config)
    env = {**os.environ, 'TRYTOND_CONFIG': str(config),
        'TRYTOND_DATABASE_NAMES': database,
        'TRYTOND_LOGGING_LEVEL': '30'}
    env.pop('TRYTOND_DATABASE__URI', None)
    log_file = open(workdir / 'gunicorn.log', 'wb')
    process = subprocess.Popen([str(BIN / 'gunicorn'),
            '--workers', str(options.workers),
            '--bind', f'127.0.0.1:{port}', '--timeout', str(timeout),
            '--no-control-socket', 'trytond.application:app'],
        env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection('127.0.0.1', port,
                    timeout=5)
                connection.request('GET',
                    f'/{database}/api/v1/openapi.json')
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError("gunicorn did not answer: "
                + (workdir / 'gunicorn.log').read_text()[-2000:])
        options.server_pid = process.pid
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        log_file.close()


def dci_body(number):
    now = time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime())
    return json.dumps({
            'header': {'version': '1.0.0', 'message_id': f'm{number}',
                'message_ts': now, 'action': 'search',
                'sender_id': 'bench', 'total_count': 1},
            'message': {'transaction_id': f't{number}', 'search_request': [{
                        'reference_id': 'r', 'timestamp': now,
                        'search_criteria': {'query_type': 'idtype-value',
                            'query': {'type': 'national_id',
                                'value': bench_id(number)}}}]},
            })


def load_worker(args):
    "One process of the load generator: threads issuing lookups."
    port, database, key, kind, size, threads, duration, seed, rate = args
    headers = {'Authorization': f'Bearer {key}',
        'Content-Type': 'application/json'}

    def make_request(rng):
        number = rng.randint(1, size)
        if kind == 'rest':
            return 'GET', (f'/{database}/api/v1/individuals/national_id%7C'
                f'{bench_id(number)}'), None
        return ('POST', f'/{database}/api/v1/registry/sync/search',
            dci_body(number))
    latencies, errors, _ = load.drive(port, headers, make_request, threads,
        duration, seed=seed, rate=rate)
    return latencies, errors


def tree_cpu_seconds(pid, database=None):
    """CPU time (user + system) of a process and its children (Linux);
    with database, of the local PostgreSQL backends serving it instead."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            if database:
                command = (entry / 'cmdline').read_bytes().decode(
                    errors='replace')
        except OSError:
            continue
        if database:
            if not (command.startswith('postgres:')
                    and f' {database} ' in command):
                continue
        elif not (int(entry.name) == pid or int(fields[1]) == pid):
            continue
        # fields[11] and fields[12] are utime and stime.
        total += int(fields[11]) + int(fields[12])
    return total / tick


def lookups(options, port, key, kind, rate=None):
    """Lookups by `options.clients` clients: closed loop (as fast as the
    server answers), or at `rate` requests/s offered in all."""
    processes = max(1, min(options.load_processes, options.clients))
    per_process = [options.clients // processes
        + (i < options.clients % processes) for i in range(processes)]
    args = [(port, options.database, key, kind, options.size, threads,
            options.duration, seed,
            rate * threads / options.clients if rate else None)
        for seed, threads in enumerate(per_process)]
    server_pid = getattr(options, 'server_pid', None)
    cpu_before = tree_cpu_seconds(server_pid) if server_pid else None
    pg_before = tree_cpu_seconds(None, options.database)
    started = time.monotonic()
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(load_worker, args)
    elapsed = time.monotonic() - started
    cpu = (tree_cpu_seconds(server_pid) - cpu_before) if server_pid else None
    pg_cpu = tree_cpu_seconds(None, options.database) - pg_before
    latencies = [v for r in results for v in r[0]]
    errors = sum(r[1] for r in results)
    return {
        'offered_requests_per_s': rate or 'closed loop',
        **load.summary(latencies, errors, options.duration),
        'seconds': round(elapsed, 1),
        # Server (gunicorn workers) CPU per request: on a shared machine
        # the figure that does not depend on what else runs.
        'server_cpu_ms_per_request': (round(cpu * 1000 / len(latencies), 2)
            if cpu is not None and latencies else None),
        'postgresql_cpu_ms_per_request': (round(
                pg_cpu * 1000 / len(latencies), 2) if latencies else None),
        }


def export(options, port, key):
    "Page through individuals (200 a page) for at most export_seconds."
    headers = {'Authorization': f'Bearer {key}'}
    server_pid = getattr(options, 'server_pid', None)
    cpu_before = tree_cpu_seconds(server_pid) if server_pid else None
    cursor, records, started = None, 0, time.monotonic()
    while time.monotonic() - started < options.export_seconds:
        path = f'/{options.database}/api/v1/individuals?limit=200'
        if cursor:
            path += f'&cursor={cursor}'
        connection = http.client.HTTPConnection('127.0.0.1', port,
            timeout=60)
        connection.request('GET', path, headers=headers)
        body = json.loads(connection.getresponse().read())
        connection.close()
        records += len(body['data'])
        cursor = body['next_cursor']
        if not cursor:
            break
    elapsed = time.monotonic() - started
    cpu = (tree_cpu_seconds(server_pid) - cpu_before) if server_pid else None
    return {'records': records, 'seconds': round(elapsed, 1),
        'records_per_s': round(records / elapsed, 1),
        'server_cpu_us_per_record': (round(cpu * 1e6 / records, 1)
            if cpu is not None and records else None),
        'complete': cursor is None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', help="default: bench_api, "
        "bench_api_audit with --audit on")
    parser.add_argument('--audit', choices=['off', 'on'], default='off',
        help="activate spp_audit too (its access entry of every call); "
        "bench/audit.py compares both in one run")
    parser.add_argument('--reset', action='store_true')
    parser.add_argument('--size', type=int, default=100_000)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--load-processes', type=int, default=2)
    parser.add_argument('--duration', type=float, default=20)
    parser.add_argument('--rate', type=float, default=500,
        help="requests/s offered in the fixed-rate runs (0: none)")
    parser.add_argument('--export-seconds', type=float, default=20)
    options = parser.parse_args()
    options.database = options.database or (
        'bench_api_audit' if options.audit == 'on' else 'bench_api')

    ensure_database(options)
    populate(options)
    key = make_client(options)
    figures = {'size': options.size, 'audit': options.audit,
        'workers': options.workers,
        'clients': options.clients, 'cpus': os.cpu_count()}
    with gunicorn(options) as port:
        log("warm-up")
        options_warm = argparse.Namespace(**{**vars(options),
                'duration': 3, 'clients': 4})
        lookups(options_warm, port, key, 'rest')
        for kind in ['rest', 'dci']:
            log(f"{kind} lookups by national ID, {options.clients} clients")
            figures[f'{kind}_lookup'] = lookups(options, port, key, kind)
            if options.rate:
                log(f"{kind} lookups at {options.rate:g} requests/s")
                figures[f'{kind}_lookup_at_rate'] = lookups(
                    options, port, key, kind, options.rate)
        log("export")
        figures['export'] = export(options, port, key)
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
