#!/usr/bin/env python3
"""Run the whole test suite: on SQLite, then on PostgreSQL when reachable.

Called by `make test` with the project's virtualenv python; extra arguments
go to pytest (e.g. `make test ARGS="-k registry"`); paths among them
replace the default `addons tests` (`make test ARGS=tests/test_browser.py`).

1. SQLite run: pytest over `addons tests` with an in-memory database and a
   fresh DB_CACHE directory.
2. PostgreSQL run: the same tests against $SPP_TEST_POSTGRESQL (default
   postgresql://postgres@127.0.0.1:5432/) in databases named
   test_spp_<pid>_<time>*, dropped afterwards. An installed but stopped
   local cluster (pg_lsclusters) is started first. When PostgreSQL cannot be
   reached the run is skipped with a loud message, or fails when
   SPP_REQUIRE_POSTGRESQL=1.

Environment:
    SPP_TEST_POSTGRESQL      server URI for the PostgreSQL run ('' or 'off' to skip it)
    SPP_REQUIRE_POSTGRESQL=1 fail instead of skipping when it is unreachable
    SPP_TEST_JOBS            pytest-xdist workers (default 2; 1 = no xdist)
    SPP_TEST_BACKENDS        'sqlite,postgresql' (default), or only one of them

Exit status: non-zero if any run failed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRESQL = 'postgresql://postgres@127.0.0.1:5432/'
BANNER = '=' * 78


def banner(*lines):
    print(f"\n{BANNER}", *(f"  {line}" for line in lines), BANNER,
        sep='\n', flush=True)


def pytest_command(extra_args):
    # Paths among the extra arguments replace the default ones.
    paths = [] if any((ROOT / arg.split('::')[0]).exists()
        for arg in extra_args if not arg.startswith('-')) else [
        'addons', 'tests']
    command = [sys.executable, '-m', 'pytest', *paths, '-ra',
        '--durations=15']
    jobs = int(os.environ.get('SPP_TEST_JOBS') or 2)
    if jobs > 1:
        # --dist loadfile keeps a module's tests (which share one database
        # setup) on one worker.
        command += ['-n', str(jobs), '--dist', 'loadfile']
    return command + list(extra_args)


def clean_env():
    env = dict(os.environ)
    for name in ['DB_NAME', 'DB_CACHE', 'TRYTOND_DATABASE_URI',
            'TRYTOND_DATABASE__URI', 'TRYTOND_CONFIG', 'PYTEST_ADDOPTS']:
        env.pop(name, None)
    env.setdefault('PYTHONDONTWRITEBYTECODE', '1')
    return env


def run_pytest(label, env, extra_args):
    command = pytest_command(extra_args)
    shared = tempfile.mkdtemp(prefix='spp-test-shared-')
    # One template database with every addon for all the pytest-xdist
    # workers of this run (tests/conftest.py).
    env = dict(env, SPP_TEST_SHARED_DIR=shared)
    banner(f"{label}: {' '.join(command[1:])}",
        f"TRYTOND_DATABASE__URI={env['TRYTOND_DATABASE__URI']}  "
        f"DB_NAME={env['DB_NAME']}")
    start = time.monotonic()
    try:
        status = subprocess.run(command, cwd=ROOT, env=env).returncode
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    print(f"{label}: exit {status} in {time.monotonic() - start:.0f} s",
        flush=True)
    return status


def run_sqlite(extra_args):
    with tempfile.TemporaryDirectory(prefix='spp-db-cache-sqlite-') as cache:
        env = clean_env()
        env.update({
                'TRYTOND_DATABASE__URI': 'sqlite://',
                'DB_NAME': ':memory:',
                'DB_CACHE': cache,
                })
        return run_pytest("SQLite run", env, extra_args)


def postgresql_reachable(uri):
    "None if PostgreSQL answers at uri, else the reason it does not."
    import psycopg

    import sppdb
    try:
        with psycopg.connect(sppdb.postgresql_conninfo(uri=uri),
                connect_timeout=5) as connection:
            connection.execute('SELECT 1')
    except psycopg.Error as exception:
        return str(exception).strip().splitlines()[0]
    return None


def start_local_clusters():
    """Start installed but stopped local PostgreSQL clusters (Debian).

    Returns whether one was started.
    """
    if not shutil.which('pg_lsclusters'):
        return False
    listing = subprocess.run(['pg_lsclusters', '--no-header'],
        capture_output=True, text=True)
    started = False
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != 'down':
            continue
        version, cluster = fields[0], fields[1]
        command = ['pg_ctlcluster', '--skip-systemctl-redirect',
            version, cluster, 'start']
        if os.geteuid() != 0:
            if not shutil.which('sudo'):
                continue
            command = ['sudo', '-n'] + command
        print(f"Starting the stopped PostgreSQL cluster {version}/{cluster}"
            " ...", flush=True)
        if subprocess.run(command).returncode == 0:
            started = True
    return started


def run_postgresql(uri, extra_args):
    reason = postgresql_reachable(uri)
    if reason and start_local_clusters():
        for _ in range(20):
            reason = postgresql_reachable(uri)
            if not reason:
                break
            time.sleep(0.5)
    if reason:
        banner("PostgreSQL run SKIPPED: PostgreSQL is not reachable at",
            f"{uri} ({reason}).",
            "Install it (sudo apt-get install -y postgresql) or set",
            "SPP_TEST_POSTGRESQL=postgresql://user:password@host:port/ to a "
            "server",
            "where that user may create databases.")
        return None

    prefix = f'test_spp_{os.getpid()}_{int(time.time())}'
    with tempfile.TemporaryDirectory(prefix='spp-db-cache-pg-') as cache:
        env = clean_env()
        env.update({
                'TRYTOND_DATABASE__URI': uri,
                'DB_NAME': prefix,
                'DB_CACHE': cache,
                })
        try:
            return run_pytest("PostgreSQL run", env, extra_args)
        finally:
            drop = subprocess.run([sys.executable,
                    str(ROOT / 'tools' / 'sppdb.py'), 'drop-prefix', prefix],
                env=env)
            if drop.returncode:
                print(f"WARNING: could not drop the test databases {prefix}*",
                    file=sys.stderr)


def main(extra_args):
    start = time.monotonic()
    backends = (os.environ.get('SPP_TEST_BACKENDS')
        or 'sqlite,postgresql').split(',')
    results = {}
    if 'sqlite' in backends:
        results['SQLite'] = run_sqlite(extra_args)
    if 'postgresql' in backends:
        uri = os.environ.get('SPP_TEST_POSTGRESQL', DEFAULT_POSTGRESQL)
        if uri in ('', 'off'):
            banner("PostgreSQL run SKIPPED: SPP_TEST_POSTGRESQL is "
                f"{uri or 'empty'}.")
            results['PostgreSQL'] = None
        else:
            results['PostgreSQL'] = run_postgresql(uri, extra_args)

    lines = []
    failed = False
    for label, status in results.items():
        if status is None:
            lines.append(f"{label}: SKIPPED (not reachable)")
            failed |= os.environ.get('SPP_REQUIRE_POSTGRESQL', '') not in (
                '', '0')
        else:
            lines.append(f"{label}: {'passed' if status == 0 else 'FAILED'}"
                f" (exit {status})")
            failed |= status != 0
    banner(*lines, f"total {time.monotonic() - start:.0f} s")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
