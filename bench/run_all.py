#!/usr/bin/env python3
"""The whole lifecycle at one population size, each stage timed, on
PostgreSQL: generate -> recompute indicators -> eligibility + enrolment ->
cycle preparation -> entitlements -> approval -> payment batches + export
-> reconciliation -> API lookups.

    .venv/bin/python bench/run_all.py --size 100000        (make bench SIZE=100000)

It starts a private PostgreSQL cluster for the run (initdb + pg_ctl under
the temporary directory, removed at the end) with PostgreSQL's stock
configuration (--settings default) or that plus bench/postgresql.conf
(--settings tuned, the default), so that both profiles are measured with
every setting applied, shared_buffers included, and no shared server's
configuration changes. --uri uses an existing server instead, with the
tuned settings a session may set passed per connection (PGOPTIONS). It
creates a fresh database with every installed addon, runs the stages and
prints one JSON document, also written to
bench/results/run_<size>[_default].json.

Each stage reports rows, seconds and rows/s of the set-based path, and
where the stage defines them the per-record ORM path on a sample
(extrapolated to the population) and a raw SQL floor on the same data,
with their ratios. A stage whose addon is not installed, or that no bench
function measures yet, says "not built". Other addons plug their stages in
with a file bench/stage_<name>.py defining STAGES = {stage name: function};
a function gets the run context and returns
{'rows': n, 'seconds': s, 'orm': {...}, 'floor': {...}, ...}.
"""
import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from importlib.metadata import entry_points
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / 'results'
SETTINGS_FILE = BENCH / 'postgresql.conf'
SIZES = {'small': 10_000, 'medium': 100_000, 'large': 1_000_000}
NO_QUEUE = {'spp_programs_queue_threshold': 10 ** 12}

sys.path.insert(0, str(BENCH))
import run_all_stages as lifecycle  # noqa: E402


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', default=os.environ.get('SIZE', 'small'),
        help="households, or small (10,000), medium, large (1,000,000)")
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL'), help="an existing server (tuned "
        "settings per session only); default: a private cluster started "
        "for the run with initdb/pg_ctl under the temporary directory")
    parser.add_argument('--keep-cluster', action='store_true',
        help="leave the private cluster (stopped) on disk")
    parser.add_argument('--database', help="default: bench_run_<size>")
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--sample', type=int, default=300,
        help="households of the per-record ORM samples")
    parser.add_argument('--generate-sample', type=int, help="households "
        "of the ORM sample of the generate stage (default: --sample up to "
        "100,000 households, 20 above: each household created through the "
        "ORM costs more as the registry grows; 0 leaves it out)")
    parser.add_argument('--settings', choices=['tuned', 'default'],
        default='tuned')
    parser.add_argument('--audit', choices=['on', 'off'], default='on',
        help="off: every installed addon but spp_audit (bench/audit.py "
        "runs the lifecycle both ways in one run)")
    parser.add_argument('--stages', help="comma-separated stages to run "
        "(default: all); the others are reported as not run")
    parser.add_argument('--output')
    options = parser.parse_args()
    options.stages = set(options.stages.split(',')) if options.stages \
        else None
    size = str(options.size).lower().replace('_', '').replace(',', '')
    options.size = SIZES.get(size) or int(size)
    if options.generate_sample is None:
        options.generate_sample = (options.sample
            if options.size <= 100_000 else min(options.sample, 20))
    return options


# -- PostgreSQL ---------------------------------------------------------------

def server(options, database='postgres'):
    import psycopg
    return psycopg.connect(options.uri.rstrip('/') + '/' + database,
        autocommit=True)


def read_settings():
    settings = {}
    for line in SETTINGS_FILE.read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if '=' in line:
            name, value = (p.strip() for p in line.split('=', 1))
            settings[name] = value.strip("'")
    return settings


REPORTED = ['shared_buffers', 'work_mem', 'maintenance_work_mem',
    'effective_cache_size', 'max_wal_size', 'min_wal_size',
    'checkpoint_timeout', 'checkpoint_completion_target', 'wal_compression',
    'wal_buffers', 'max_parallel_maintenance_workers',
    'max_parallel_workers_per_gather', 'random_page_cost',
    'effective_io_concurrency', 'autovacuum', 'fsync', 'synchronous_commit']


def effective_settings(options, extra=()):
    "What the server runs with, and its version."
    with server(options) as connection:
        names = sorted(set(REPORTED) | set(extra))
        current = dict(connection.execute(
                'SELECT name, current_setting(name) FROM pg_settings '
                'WHERE name = ANY(%s) ORDER BY name', (names,)).fetchall())
        version = connection.execute('SHOW server_version').fetchone()[0]
    return current, version


def postgresql_bin():
    "The directory of initdb and pg_ctl (PG_BIN, pg_config, Debian path)."
    if os.environ.get('PG_BIN'):
        return Path(os.environ['PG_BIN'])
    try:
        found = Path(subprocess.run(['pg_config', '--bindir'],
                capture_output=True, text=True, check=True).stdout.strip())
        if (found / 'initdb').exists():
            return found
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'),
        key=lambda p: int(p.parent.parent.name), reverse=True)
    if not candidates:
        raise SystemExit("initdb not found: set PG_BIN or use --uri")
    return candidates[0].parent


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def private_cluster(options):
    """A throw-away PostgreSQL cluster under the temporary directory, with
    PostgreSQL's stock configuration (--settings default) or that plus
    bench/postgresql.conf (tuned, restart-only settings included): the
    two profiles compare on equal terms, and no shared server's
    configuration is touched. Stopped and removed at the end (unless
    --keep-cluster)."""
    binaries = postgresql_bin()
    root = Path(tempfile.mkdtemp(
            prefix=f'spp-bench-pg-{options.size}-{options.settings}-'))
    data = root / 'data'
    prefix = []
    if os.geteuid() == 0:
        # initdb and postgres refuse to run as root.
        owner = pwd.getpwnam('postgres')
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ['runuser', '-u', 'postgres', '--']

    def run(*arguments):
        subprocess.run(prefix + [str(a) for a in arguments], check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run(binaries / 'initdb', '-D', data, '-U', 'postgres', '--auth=trust',
        '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync')
    port = free_port()
    lines = [f'port = {port}', "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{root}'"]
    if options.settings == 'tuned':
        (data / 'bench.conf').write_text(SETTINGS_FILE.read_text())
        lines.append("include = 'bench.conf'")
    with open(data / 'postgresql.conf', 'a') as conf:
        conf.write('\n# bench/run_all.py\n' + '\n'.join(lines) + '\n')
    if prefix:
        subprocess.run(['chown', '-R', 'postgres:postgres', str(root)],
            check=True)
    log(f"private PostgreSQL cluster in {root} on port {port} "
        f"({options.settings} settings)")
    run(binaries / 'pg_ctl', '-D', data, '-l', root / 'server.log', '-w',
        '-t', '120', 'start')
    try:
        yield f'postgresql://postgres@127.0.0.1:{port}/', root
    finally:
        try:
            run(binaries / 'pg_ctl', '-D', data, '-m', 'fast', '-w',
                '-t', '300', 'stop')
        finally:
            if options.keep_cluster:
                log(f"cluster kept in {root} (pg_ctl -D {data} start)")
            else:
                shutil.rmtree(root, ignore_errors=True)


def session_settings(options):
    """On a server of someone else's (--uri), the tuned settings that a
    session may set go to every connection of the run (PGOPTIONS, read by
    libpq: trytond, psycopg, trytond-admin, gunicorn); the others are
    reported as not applied. Nothing is written to the server's
    configuration."""
    wanted = read_settings()
    if options.settings != 'tuned':
        os.environ.pop('PGOPTIONS', None)
        return {}, []
    with server(options) as connection:
        contexts = dict(connection.execute(
                'SELECT name, context FROM pg_settings '
                'WHERE name = ANY(%s)', (list(wanted),)).fetchall())
    session = {n: v for n, v in wanted.items()
        if contexts.get(n) in {'user', 'superuser'}}
    os.environ['PGOPTIONS'] = ' '.join(
        f'-c {n}={v}' for n, v in session.items())
    return session, sorted(set(wanted) - set(session))


def installed_addons():
    "Addons of the project that this environment can load."
    available = {e.name for e in entry_points(group='trytond.modules')}
    local = sorted(p.name for p in (ROOT / 'addons').iterdir()
        if (p / 'tryton.cfg').is_file())
    return [a for a in local if a in available]


def needing(addon, addons):
    """`addon` and the addons among `addons` that depend on it, directly
    or not (their tryton.cfg): what --audit off leaves out. spp_demo is
    among them, and registers nothing: its generator runs all the same."""
    import configparser
    depends = {}
    for name in addons:
        config = configparser.ConfigParser()
        config.read(ROOT / 'addons' / name / 'tryton.cfg')
        depends[name] = set(config.get('tryton', 'depends',
                fallback='').split())
    found, grown = {addon}, True
    while grown:
        more = {n for n, d in depends.items() if d & found} - found
        found |= more
        grown = bool(more)
    return found


def create_database(options, database):
    "A fresh database with every addon; return the addons activated."
    with server(options) as connection:
        connection.execute(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    addons = installed_addons()
    if getattr(options, 'audit', 'on') == 'off':
        left_out = needing('spp_audit', addons)
        addons = [a for a in addons if a not in left_out]
    admin = Path(sys.executable).parent / 'trytond-admin'
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('bench-admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=options.uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        failures = {}
        fallbacks = [addons, sorted({'spp_demo', 'spp_programs', 'spp_api'}
                & set(addons)), ['spp_demo']]
        for modules in fallbacks:
            with server(options) as connection:
                connection.execute(
                    f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{database}" '
                    "TEMPLATE template0 ENCODING 'unicode'")
            result = subprocess.run([str(admin), '-d', database,
                    '-u', *modules, '--activate-dependencies',
                    '--email', 'admin@example.org'], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True)
            if not result.returncode:
                return modules, failures
            failures[' '.join(modules)] = result.stderr.strip()[-300:]
            log(f"activating {modules} failed:\n{result.stderr[-2000:]}")
    raise SystemExit("could not create the benchmark database")


def activated_modules(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Module = Pool().get('ir.module')
        return {m.name for m in Module.search([('state', '=', 'activated')])}


# -- stages ---------------------------------------------------------------

def load_plugins():
    "Stage functions of bench/stage_*.py files (STAGES = {name: function})."
    stages = {}
    for path in sorted(BENCH.glob('stage_*.py')):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        stages.update(getattr(module, 'STAGES', {}))
    return stages


def summarise(name, result):
    "Add rows/s and ratios to what a stage function returned."
    rows, seconds = result.get('rows'), result.get('seconds')
    summary = {'stage': name, 'status': 'measured', 'rows': rows,
        'seconds': round(seconds, 3) if seconds is not None else None,
        'rows_per_s': round(rows / seconds, 1) if rows and seconds else None}
    for path in ['orm', 'floor']:
        if result.get(path):
            summary[path] = result[path]
    ratios = dict(result.get('ratios') or {})
    orm, floor = result.get('orm') or {}, result.get('floor') or {}
    if orm.get('extrapolated_seconds') and seconds and not ratios:
        ratios['orm_vs_set_based'] = round(
            orm['extrapolated_seconds'] / seconds, 1)
    if floor.get('seconds') and seconds and 'ratios' not in result:
        ratios['set_based_vs_floor'] = round(seconds / floor['seconds'], 2)
    if ratios:
        summary['ratios'] = ratios
    for key, value in result.items():
        if key not in {'rows', 'seconds', 'orm', 'floor', 'ratios'}:
            summary.setdefault('details', {})[key] = value
    return summary


def run_stages(context, modules, checkpoint=None):
    """Run the stages in order; `checkpoint(report)` after each, so that
    a long run that is stopped keeps the stages it measured."""
    stages = dict(lifecycle.STAGES)
    stages.update(load_plugins())
    report = []
    for name, module in lifecycle.ORDER:
        if checkpoint and report:
            checkpoint(report)
        function = stages.get(name)
        if context.options.stages and name not in context.options.stages:
            report.append({'stage': name, 'status': 'not run',
                    'reason': "left out of this run (--stages)"})
            continue
        if module and module not in modules:
            report.append({'stage': name, 'status': 'not built',
                    'reason': f"addon {module} is not installed"})
            continue
        if function is None:
            report.append({'stage': name, 'status': 'not built',
                    'reason': "no bench function measures it yet "
                    "(bench/stage_<name>.py)"})
            continue
        log(f"stage {name} ...")
        try:
            result = function(context)
        except lifecycle.NotBuilt as reason:
            report.append({'stage': name, 'status': 'not built',
                    'reason': str(reason)})
            continue
        except Exception as exception:
            log(traceback.format_exc())
            report.append({'stage': name, 'status': 'error',
                    'error': f'{type(exception).__name__}: {exception}'[
                        :500]})
            continue
        summary = summarise(name, result)
        report.append(summary)
        log(f"  {summary['rows']} rows in {summary['seconds']} s")
    return report


def machine():
    memory = 0
    with open('/proc/meminfo') as meminfo:
        for line in meminfo:
            if line.startswith('MemTotal:'):
                memory = int(line.split()[1]) / 1024 / 1024
    return {'cpus': os.cpu_count(), 'ram_gb': round(memory, 1),
        'python': platform.python_version(),
        'python_optimize': bool(sys.flags.optimize),
        'load_average_at_start': os.getloadavg()}


def main():
    options = parse_arguments()
    database = options.database or f'bench_run_{options.size}'
    suffix = '' if options.settings == 'tuned' else '_default'
    options.output = Path(options.output
        or RESULTS / f'run_{options.size}{suffix}.json')
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    figures = {'size': options.size, 'database': database,
        'seed': options.seed, 'orm_sample': options.sample,
        'generate_orm_sample': options.generate_sample,
        'machine': machine(),
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds')}
    if options.uri:
        cluster = contextlib.nullcontext((options.uri, None))
    else:
        cluster = private_cluster(options)
    with cluster as (uri, directory):
        options.uri = uri
        os.environ['TRYTOND_DATABASE__URI'] = uri
        if directory is None:
            session, not_applied = session_settings(options)
            where = ("existing server (--uri): tuned settings set per "
                "session (PGOPTIONS), its configuration untouched"
                if options.settings == 'tuned' else
                "existing server (--uri), its own configuration")
        else:
            session, not_applied = {}, []
            where = ("private cluster (initdb) with PostgreSQL's stock "
                "configuration" + (" + bench/postgresql.conf"
                    if options.settings == 'tuned' else ''))
        effective, version = effective_settings(options, read_settings())
        figures['postgresql'] = {'profile': options.settings,
            'server': where, 'server_version': version,
            'effective': effective, 'session_settings': session,
            'needs_restart_not_applied': not_applied}
        figures['stages'] = run_all(options, database, figures)
        figures['total_seconds'] = round(time.perf_counter() - started, 1)
        figures['machine']['load_average_at_end'] = os.getloadavg()

    figures['complete'] = True
    text = write(options.output, figures)
    print(text)
    log(f"written to {options.output}")


def write(output, figures):
    text = json.dumps(figures, indent=2, default=str)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + '\n')
    return text


def run_all(options, database, figures):
    log(f"creating {database} ...")
    setup = time.perf_counter()
    figures['addons'], failures = create_database(options, database)
    if failures:
        figures['addons_failed'] = failures
    figures['setup_seconds'] = round(time.perf_counter() - setup, 1)

    from trytond.pool import Pool
    Pool.start()
    pool = Pool(database)
    pool.init()
    modules = activated_modules(database)
    context = lifecycle.Context(options=options, database=database,
        pool=pool, uri=options.uri, size=options.size, state={})

    def checkpoint(report):
        "The figures so far, marked incomplete."
        write(options.output, {**figures, 'stages': report,
                'complete': False,
                'seconds_since_database_creation': round(
                    time.perf_counter() - started, 1)})
    started = time.perf_counter() - figures['setup_seconds']
    try:
        return run_stages(context, modules, checkpoint)
    finally:
        # Close trytond's pooled connections before the cluster stops.
        from trytond import backend
        try:
            backend.Database(database).close()
        except Exception:
            pass


if __name__ == '__main__':
    main()
