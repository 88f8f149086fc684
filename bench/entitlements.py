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
import datetime as dt
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

# The parts are siblings in bench/ (run as a script or loaded by
# bench/run_all.py through bench/stage_entitlements.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from entitlements_setup import (  # noqa: E402
    RESULTS, add_rules, analyze, approve_cycle, create_database,
    database_exists, drop_floor, new_cycle, post_funds, reset_cycle,
    setup_program, timed)
from entitlements_stages import (  # noqa: E402
    stage_approve, stage_batches, stage_prepare, stage_reconcile)

__all__ = ['add_rules', 'approve_cycle', 'drop_floor', 'post_funds',
    'stage_approve', 'stage_batches', 'stage_prepare', 'stage_reconcile',
    'timed']


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
