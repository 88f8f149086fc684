#!/usr/bin/env python3
"""What the audit trail costs (issue 20): the REST lookups and the
lifecycle stages with spp_audit activated and without, in the same run,
and the verification of a long chain. Prints JSON figures and writes them
to bench/results/audit_*.json.

    .venv/bin/python bench/audit.py all --size 1000000 --entries 10000000
    .venv/bin/python bench/audit.py rest [--api-size 100000] [--pairs 3]
    .venv/bin/python bench/audit.py lifecycle [--size 10000]
    .venv/bin/python bench/audit.py chain [--entries 10000000]

rest: bench/api.py's REST lookup by national ID (closed loop, --clients
clients, gunicorn with --workers workers) against two databases of the
same population, `bench_api` (spp_api) and `bench_api_audit` (spp_api and
spp_audit, whose access entry each call writes), both servers up, in
--pairs pairs of --duration seconds whose order alternates (off-on,
on-off, ...) so that the machine's drift falls on both. Reported: each
pair's throughput and server CPU per request, their on/off ratios, and the
audit entries written per request. Target: throughput with access logging
>= 90% of without.

lifecycle: bench/run_all.py's stages (generate, indicators, eligibility
and enrolment, cycle preparation, entitlements, approval, payment batches
and export, reconciliation, API lookups) on two databases made the same
way with the same seed, one with every installed addon and one without
spp_audit (run_all.py --audit off), in the same PostgreSQL cluster (a
private one, as run_all.py makes, unless --uri). Each stage runs on both
before the next stage, in alternating order. Reported per stage: seconds
of the set-based path each way, on/off, the ORM sample's on/off, and the
audit entries the stage wrote. Target: every stage <= 5% slower.

chain: bench/audit_chain.py (build a chain of --entries on the shared
server, time its verification). Target: 10,000,000 entries in <= 60 s.

`all` runs the three, each in a process of its own, and writes
bench/results/audit_<size>.json with the three summaries.
"""
import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / 'results'
MODES = ('off', 'on')
REST_TARGET = 0.90
STAGE_TARGET = 1.05

sys.path.insert(0, str(BENCH))


def log(message):
    print(message, file=sys.stderr, flush=True)


def write(path, figures):
    text = json.dumps(figures, indent=2, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + '\n')
    return text


def now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')


def alternate(index):
    "The order of a pair: off first in even pairs, on first in odd ones."
    return MODES if index % 2 == 0 else MODES[::-1]


def ratio(on, off, digits=3):
    return round(on / off, digits) if on is not None and off else None


# -- REST lookups -------------------------------------------------------------

def audit_entries(uri, database):
    "How many entries the database's chain holds (None without spp_audit)."
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/' + database,
            autocommit=True) as connection:
        found = connection.execute(
            "SELECT to_regclass('spp_audit_log')").fetchone()[0]
        if not found:
            return None
        return connection.execute(
            "SELECT count(*) FROM spp_audit_log").fetchone()[0]


def rest(options):
    import api
    servers = {}
    for mode in MODES:
        server = argparse.Namespace(uri=options.uri,
            database='bench_api_audit' if mode == 'on' else 'bench_api',
            audit=mode, reset=False, size=options.api_size,
            workers=options.workers, clients=options.clients,
            load_processes=options.load_processes,
            duration=options.duration)
        api.ensure_database(server)
        api.populate(server)
        server.key = api.make_client(server)
        servers[mode] = server
    figures = {'what': "REST lookup by national ID, closed loop",
        'size': options.api_size, 'workers': options.workers,
        'clients': options.clients, 'duration': options.duration,
        'pairs': options.pairs, 'cpus': os.cpu_count(), 'date': now(),
        'load_average_at_start': os.getloadavg(),
        # [spp_audit] seal_delay of the servers (spp_audit/seal.py): a
        # large one leaves the entries unsealed, the cost of the insert
        # alone.
        'seal_delay': os.environ.get('TRYTOND_SPP_AUDIT__SEAL_DELAY',
            'default'),
        'databases': {m: s.database for m, s in servers.items()}}
    runs = {mode: [] for mode in MODES}
    with contextlib.ExitStack() as stack:
        ports = {mode: stack.enter_context(api.gunicorn(servers[mode]))
            for mode in MODES}
        for mode in MODES:
            log(f"warm-up ({mode})")
            warm = argparse.Namespace(**{**vars(servers[mode]),
                    'duration': 3, 'clients': 4})
            api.lookups(warm, ports[mode], servers[mode].key, 'rest')
        for index in range(options.pairs):
            for mode in alternate(index):
                server = servers[mode]
                before = audit_entries(options.uri, server.database)
                result = api.lookups(server, ports[mode], server.key,
                    'rest')
                after = audit_entries(options.uri, server.database)
                if before is not None:
                    result['audit_entries'] = after - before
                    result['audit_entries_per_request'] = round(
                        (after - before) / max(result['requests'], 1), 3)
                result['pair'] = index + 1
                runs[mode].append(result)
                log(f"  pair {index + 1} {mode}: "
                    f"{result['requests_per_s']} requests/s, p95 "
                    f"{result['p95_ms']} ms")
    figures['runs'] = runs
    pairs = [ratio(on['requests_per_s'], off['requests_per_s'])
        for off, on in zip(runs['off'], runs['on'])]
    total = {mode: sum(r['requests'] for r in runs[mode]) for mode in MODES}
    cpu = {mode: statistics.median(
            (r['server_cpu_ms_per_request'] or 0)
            + (r['postgresql_cpu_ms_per_request'] or 0)
            for r in runs[mode]) for mode in MODES}
    throughput = ratio(total['on'], total['off'])
    figures['summary'] = {
        'requests_per_s': {mode: round(total[mode] / (
                    options.duration * options.pairs), 1) for mode in MODES},
        'throughput_on_vs_off': throughput,
        'throughput_on_vs_off_per_pair': pairs,
        'p95_ms': {mode: statistics.median(r['p95_ms'] for r in runs[mode])
            for mode in MODES},
        'cpu_ms_per_request': {m: round(c, 2) for m, c in cpu.items()},
        'cpu_per_request_on_vs_off': ratio(cpu['on'], cpu['off']),
        'audit_entries_per_request': statistics.median(
            r.get('audit_entries_per_request', 0) for r in runs['on']),
        'target_throughput_on_vs_off': REST_TARGET,
        'meets_target': throughput is not None and throughput >= REST_TARGET,
        }
    figures['load_average_at_end'] = os.getloadavg()
    return figures


# -- lifecycle ----------------------------------------------------------------

def run_stage(context, name, module, function, modules):
    "One stage on one database, as run_all.run_stages runs it."
    import run_all
    import run_all_stages as lifecycle
    if context.options.stages and name not in context.options.stages:
        return {'stage': name, 'status': 'not run',
            'reason': "left out of this run (--stages)"}
    if module and module not in modules:
        return {'stage': name, 'status': 'not built',
            'reason': f"addon {module} is not installed"}
    if function is None:
        return {'stage': name, 'status': 'not built',
            'reason': "no bench function measures it yet"}
    try:
        result = function(context)
    except lifecycle.NotBuilt as reason:
        return {'stage': name, 'status': 'not built', 'reason': str(reason)}
    except Exception as exception:
        log(traceback.format_exc())
        return {'stage': name, 'status': 'error',
            'error': f'{type(exception).__name__}: {exception}'[:500]}
    return run_all.summarise(name, result)


def compare(off, on, entries):
    "The on/off figures of one stage."
    figures = {'stage': off['stage']}
    if off.get('status') != 'measured' or on.get('status') != 'measured':
        figures['status'] = {'off': off.get('status'),
            'on': on.get('status')}
        for mode, result in (('off', off), ('on', on)):
            if result.get('status') != 'measured':
                figures[f'{mode}_reason'] = result.get('reason') or (
                    result.get('error'))
        return figures
    figures.update({
        'rows': {'off': off['rows'], 'on': on['rows']},
        'seconds': {'off': off['seconds'], 'on': on['seconds']},
        'on_vs_off': ratio(on['seconds'], off['seconds']),
        'audit_entries': entries,
        })
    if off['stage'] == 'api_lookups':
        # A fixed time: the throughput is what compares.
        figures['on_vs_off'] = None
        figures['throughput_on_vs_off'] = ratio(on['rows'], off['rows'])
        figures['p50_ms'] = {'off': off['details']['p50_ms'],
            'on': on['details']['p50_ms']}
    else:
        figures['slower_percent'] = round(
            (on['seconds'] / off['seconds'] - 1) * 100, 1)
        figures['within_target'] = on['seconds'] <= (
            off['seconds'] * STAGE_TARGET)
    orm_off, orm_on = off.get('orm') or {}, on.get('orm') or {}
    if orm_off.get('seconds') and orm_on.get('seconds'):
        figures['orm_sample'] = {'rows': orm_on.get('rows'),
            'seconds': {'off': orm_off['seconds'], 'on': orm_on['seconds']},
            'on_vs_off': ratio(orm_on['seconds'], orm_off['seconds'])}
    return figures


def lifecycle(options):
    import run_all
    import run_all_stages as stages
    databases = {mode: f'bench_audit_{mode}_{options.size}'
        for mode in MODES}
    output = RESULTS / f'audit_lifecycle_{options.size}.json'
    figures = {'size': options.size, 'seed': options.seed,
        'orm_sample': options.sample,
        'generate_orm_sample': options.generate_sample,
        'databases': databases, 'machine': run_all.machine(),
        'date': now()}
    started = time.perf_counter()
    if options.uri_lifecycle:
        cluster = contextlib.nullcontext((options.uri_lifecycle, None))
    else:
        cluster = run_all.private_cluster(options)
    with cluster as (uri, directory):
        options.uri = uri
        os.environ['TRYTOND_DATABASE__URI'] = uri
        os.environ.pop('TRYTOND_CONFIG', None)
        if directory is None:
            run_all.session_settings(options)
        effective, version = run_all.effective_settings(
            options, run_all.read_settings())
        figures['postgresql'] = {'profile': options.settings,
            'server': 'private cluster (initdb)' if directory else uri,
            'server_version': version, 'effective': effective}
        addons = {}
        for mode in MODES:
            log(f"creating {databases[mode]} (audit {mode}) ...")
            options.audit = mode
            addons[mode], failures = run_all.create_database(
                options, databases[mode])
            if failures:
                raise SystemExit(f"activating every addon failed ({mode}): "
                    f"{failures}")
        from trytond.pool import Pool
        Pool.start()
        contexts, modules = {}, {}
        for mode in MODES:
            pool = Pool(databases[mode])
            pool.init()
            modules[mode] = run_all.activated_modules(databases[mode])
            contexts[mode] = stages.Context(options=options,
                database=databases[mode], pool=pool, uri=uri,
                size=options.size, state={})
        # Off leaves out spp_audit and what depends on it (spp_demo, which
        # registers nothing: its generator runs without it activated).
        allowed = run_all.needing('spp_audit', run_all.installed_addons())
        difference = modules['on'] ^ modules['off']
        if ('spp_audit' in modules['off']
                or 'spp_audit' not in modules['on']
                or not difference <= allowed):
            raise SystemExit("the databases differ by more than spp_audit: "
                f"{sorted(difference)}")
        figures['addons'] = {m: sorted(modules[m]) for m in MODES}
        figures['addons_only_on'] = sorted(difference)
        functions = dict(stages.STAGES)
        functions.update(run_all.load_plugins())
        report, compared = {m: [] for m in MODES}, []
        try:
            for index, (name, module) in enumerate(stages.ORDER):
                entries = None
                for mode in alternate(index):
                    log(f"stage {name} (audit {mode}) ...")
                    # Both runs start with no dirty buffers of the run
                    # before (its checkpoint would fall on this one).
                    stages.sql(contexts[mode], 'CHECKPOINT')
                    before = audit_entries(uri, databases[mode])
                    result = run_stage(contexts[mode], name, module,
                        functions.get(name), modules[mode])
                    after = audit_entries(uri, databases[mode])
                    if mode == 'on' and before is not None:
                        entries = after - before
                    result['ran'] = 'first' if mode == alternate(
                        index)[0] else 'second'
                    report[mode].append(result)
                    log(f"  {result.get('rows')} rows in "
                        f"{result.get('seconds')} s")
                compared.append(compare(report['off'][-1],
                        report['on'][-1], entries))
                write(output, {**figures, 'complete': False,
                        'comparison': compared, 'stages': report})
        finally:
            from trytond import backend
            for database in databases.values():
                try:
                    backend.Database(database).close()
                except Exception:
                    pass
    measured = [c for c in compared if c.get('on_vs_off')]
    figures['summary'] = {
        'on_vs_off': {c['stage']: c['on_vs_off'] for c in measured},
        'slowest_stage': max(measured, key=lambda c: c['on_vs_off'])[
            'stage'] if measured else None,
        'stages_over_target': [c['stage'] for c in measured
            if not c['within_target']],
        'target_on_vs_off': STAGE_TARGET,
        'api_lookups_throughput_on_vs_off': next(
            (c.get('throughput_on_vs_off') for c in compared
                if c['stage'] == 'api_lookups'), None),
        'total_seconds': round(time.perf_counter() - started, 1),
        }
    figures['comparison'] = compared
    figures['stages'] = report
    figures['complete'] = True
    figures['machine']['load_average_at_end'] = os.getloadavg()
    write(output, figures)
    return figures


# -- chain --------------------------------------------------------------------

def chain(options):
    output = RESULTS / f'audit_chain_{options.entries}.json'
    command = [sys.executable, str(BENCH / 'audit_chain.py'),
        '--entries', str(options.entries), '--uri', options.uri,
        '--repeat', str(options.repeat), '--output', str(output)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(output.read_text())


# -- main ---------------------------------------------------------------------

def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('what', choices=['all', 'rest', 'lifecycle',
            'chain'])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'),
        help="the server of the REST and chain benchmarks")
    # rest
    parser.add_argument('--api-size', type=int, default=100_000,
        help="individuals of the REST benchmark (bench/api.py's default)")
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--load-processes', type=int, default=2)
    parser.add_argument('--duration', type=float, default=20)
    parser.add_argument('--pairs', type=int, default=3)
    # lifecycle (the options of bench/run_all.py)
    parser.add_argument('--size', type=int, default=10_000,
        help="households of the lifecycle")
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--sample', type=int, default=300)
    parser.add_argument('--generate-sample', type=int)
    parser.add_argument('--settings', choices=['tuned', 'default'],
        default='tuned')
    parser.add_argument('--uri-lifecycle', help="run the lifecycle on this "
        "server (default: a private cluster, as bench/run_all.py)")
    parser.add_argument('--keep-cluster', action='store_true')
    parser.add_argument('--stages', help="comma-separated lifecycle stages")
    # chain
    parser.add_argument('--entries', type=int, default=10_000_000)
    parser.add_argument('--repeat', type=int, default=1)
    options = parser.parse_args()
    options.stages = set(options.stages.split(',')) if options.stages \
        else None
    if options.generate_sample is None:
        options.generate_sample = (options.sample
            if options.size <= 100_000 else min(options.sample, 20))
    return options


def main():
    options = parse_arguments()
    if options.what == 'all':
        figures = {'date': now(), 'parts': {}}
        for part in ['chain', 'rest', 'lifecycle']:
            log(f"== {part}")
            arguments = [a for a in sys.argv[1:] if a != 'all']
            result = subprocess.run([sys.executable, __file__, part,
                    *arguments], stdout=subprocess.PIPE, text=True)
            if result.returncode:
                figures['parts'][part] = {'status': 'error',
                    'returncode': result.returncode}
                continue
            done = json.loads(result.stdout)
            figures['parts'][part] = done.get('summary') or done.get(
                'verify')
        print(write(RESULTS / f'audit_{options.size}.json', figures))
        return
    if options.what == 'rest':
        os.environ.pop('TRYTOND_CONFIG', None)
        figures = rest(options)
        print(write(RESULTS / f'audit_rest_{options.api_size}.json',
                figures))
    elif options.what == 'lifecycle':
        print(json.dumps(lifecycle(options), indent=2, default=str))
    else:
        print(json.dumps(chain(options), indent=2))


if __name__ == '__main__':
    main()
