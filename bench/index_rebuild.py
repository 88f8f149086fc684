#!/usr/bin/env python3
"""The index rebuild of a bulk load alone: one connection against several.

    .venv/bin/python bench/index_rebuild.py \\
        --uri postgresql://postgres@127.0.0.1:PORT/ \\
        --database bench_run_100000 --jobs 1,2,3 --repeat 2

On a database that bench/run_all.py generated (`--keep-cluster` keeps its
private cluster), each run drops the secondary indexes, unique constraints
and foreign keys of the generated tables and builds them again as a
generation does: `--jobs` 1 in one transaction (spp_demo/bulk.py), more on
that many connections after a commit (spp_demo/rebuild.py). Runs alternate
between the job counts. Each run checks that the schema is the same
afterwards (index and constraint definitions, every constraint validated,
every index valid) and reports its wall seconds, the server's CPU seconds
(when the server runs on this machine: its processes' /proc figures) and
the load average, as JSON (--output).
"""
import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'addons'))
# spp_demo's bulk-load modules need nothing of trytond: load them alone.
import spp_demo.bulk as bulk  # noqa: E402
import spp_demo.rebuild as rebuild  # noqa: E402

TABLES = ['party_party', 'party_party__history', 'party_party_lang',
    'party_identifier', 'party_identifier__history',
    'party_contact_mechanism', 'spp_group_membership',
    'spp_group_membership__history', 'spp_group_membership-role']


def schema(cursor):
    "What the rebuild must restore, comparable between runs."
    cursor.execute('SELECT indexdef FROM pg_indexes '
        'WHERE tablename = ANY(%s) ORDER BY 1', (TABLES,))
    indexes = cursor.fetchall()
    cursor.execute('SELECT conname, pg_get_constraintdef(oid), convalidated '
        'FROM pg_constraint WHERE conrelid = ANY(SELECT oid FROM pg_class '
        'WHERE relname = ANY(%s)) ORDER BY 1', (TABLES,))
    constraints = cursor.fetchall()
    cursor.execute('SELECT count(*) FROM pg_index x JOIN pg_class c '
        'ON c.oid = x.indrelid WHERE c.relname = ANY(%s) '
        'AND NOT (x.indisvalid AND x.indisready)', (TABLES,))
    return indexes, constraints, cursor.fetchone()[0]


def server_cpu(postmaster):
    """CPU seconds of the server's processes: the live ones and, through
    the postmaster's children figures, those ended (parallel workers)."""
    tick = os.sysconf('SC_CLK_TCK')

    def fields(pid):
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rsplit(')', 1)[1].split()
    own = fields(postmaster)
    total = sum(int(v) for v in own[11:15])
    for entry in os.listdir('/proc'):
        if entry.isdigit() and entry != str(postmaster):
            try:
                values = fields(entry)
            except OSError:
                continue
            if values[1] == str(postmaster):
                total += int(values[11]) + int(values[12])
    return total / tick


def run(uri, jobs):
    with psycopg.connect(uri) as connection:
        cursor = connection.cursor()
        if jobs == 1:
            figures = {}
            started = time.perf_counter()
            with bulk.deferred_indexes(connection, TABLES, figures):
                dropped = time.perf_counter()
            connection.commit()
            return time.perf_counter() - dropped, dropped - started, figures
        started = time.perf_counter()
        rebuild.drop_for_load(cursor, TABLES)
        rebuild.add_foreign_keys(cursor)
        connection.commit()
    dropped = time.perf_counter()
    figures = {}
    rebuild.rebuild(lambda: psycopg.connect(uri, autocommit=True),
        lambda c: c.close(), jobs=jobs, figures=figures)
    return time.perf_counter() - dropped, dropped - started, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--uri', required=True)
    parser.add_argument('--database', required=True)
    parser.add_argument('--jobs', default='1,2')
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--output')
    options = parser.parse_args()
    uri = options.uri.rstrip('/') + '/' + options.database
    with psycopg.connect(uri, autocommit=True) as connection:
        cursor = connection.cursor()
        before = schema(cursor)
        cursor.execute('SELECT pg_backend_pid()')
        backend_pid = cursor.fetchone()[0]
        try:
            with open(f'/proc/{backend_pid}/stat') as stat:
                postmaster = int(stat.read().rsplit(')', 1)[1].split()[1])
        except OSError:
            postmaster = None
        cursor.execute("SELECT count(*) FROM party_party "
            "WHERE registrant_type = 'group'")
        households = cursor.fetchone()[0]
        cursor.execute('SHOW max_parallel_maintenance_workers')
        workers = cursor.fetchone()[0]
    results = []
    for _ in range(options.repeat):
        for jobs in (int(j) for j in options.jobs.split(',')):
            load = os.getloadavg()[0]
            cpu = server_cpu(postmaster) if postmaster else None
            seconds, drop_seconds, figures = run(uri, jobs)
            with psycopg.connect(uri, autocommit=True) as connection:
                same = schema(connection.cursor()) == before
            result = {'jobs': jobs, 'seconds': round(seconds, 2),
                'server_cpu_seconds': round(server_cpu(postmaster) - cpu, 1)
                if postmaster else None,
                'drop_seconds': round(drop_seconds, 2),
                'load_average_before': round(load, 2),
                'schema_restored': same, 'figures': figures}
            print(json.dumps({k: v for k, v in result.items()
                        if k != 'figures'}), file=sys.stderr, flush=True)
            if not same:
                raise SystemExit("the rebuild did not restore the schema")
            results.append(result)
    report = {'households': households, 'database': options.database,
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds'),
        'cpus': os.cpu_count(),
        'max_parallel_maintenance_workers': workers,
        'runs': results}
    text = json.dumps(report, indent=2)
    if options.output:
        Path(options.output).write_text(text + '\n')
    print(text)


if __name__ == '__main__':
    main()
