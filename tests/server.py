"""Real trytond servers and databases for the project's tests.

API, browser and topology tests talk to real processes on 127.0.0.1, on the
backend the run is for: PostgreSQL when TRYTOND_DATABASE__URI (or
TRYTOND_DATABASE_URI) is a postgresql:// URI, else SQLite files in a
temporary directory. Databases are made by tools/sppdb.py, the tool the demo
and `make serve-postgresql` use, in separate processes: the test process
keeps its own trytond configuration (in-memory test database) untouched.

    database = TestDatabase.create(workdir, 'api')      # every addon
    with running_server(database) as server:
        user_id, session = server.login()
        server.call('model.party.party.search', [[], 0, 10, None, {}],
            session=(user_id, session))

tests/conftest.py wraps these into fixtures (template_database,
fresh_database, trytond_server).
"""
import base64
import contextlib
import hashlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / 'tools'
BIN = Path(sys.executable).parent
SAO = ROOT / 'sao'
ARTIFACTS = ROOT / 'test-artifacts'
ADMIN_LOGIN = 'admin'
# Test databases only; never a real deployment's password.
ADMIN_PASSWORD = 'spp-test-Admin-2024'

# Variables of the pytest process that must not leak into the servers.
_TEST_ONLY_ENV = [
    'DB_NAME', 'DB_CACHE', 'DB_CACHE_JOBS', 'TRYTOND_CONFIG',
    'TRYTOND_DATABASE_URI', 'TRYTOND_DATABASE__URI', 'TRYTOND_DATABASE__PATH',
    'PYTEST_XDIST_WORKER', 'PYTEST_XDIST_TESTRUNUID',
    'PYTEST_XDIST_WORKER_COUNT', 'PYTEST_CURRENT_TEST', 'SPP_STATE_DIR',
    ]


class ServerError(Exception):
    pass


def database_uri():
    "The backend of this test run, as trytond's configuration names it."
    return (os.environ.get('TRYTOND_DATABASE__URI')
        or os.environ.get('TRYTOND_DATABASE_URI')
        or 'sqlite://')


def is_postgresql(uri=None):
    return urllib.parse.urlparse(uri or database_uri()).scheme.startswith(
        'postgresql')


def postgresql_unreachable(uri=None):
    "None when PostgreSQL answers at uri, else why not."
    import psycopg
    parts = urllib.parse.urlparse(uri or database_uri())
    conninfo = parts._replace(scheme='postgresql', path='/postgres').geturl()
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as connection:
            connection.execute('SELECT 1')
    except psycopg.Error as exception:
        return str(exception).strip().splitlines()[0]
    return None


def free_port():
    "A TCP port on 127.0.0.1 that nothing listens on right now."
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def unique_name(tag):
    """A database name for this test process, valid on both backends.

    On PostgreSQL it starts with DB_NAME (test_spp_<run>...), so the test
    runner drops whatever a crashed test leaves behind.
    """
    base = os.environ.get('DB_NAME', '')
    if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', base):
        base = 'test_spp'
    return f'{base}_{tag}_{os.getpid()}'[:63]


def template_key(modules=None):
    "The name of the shared template for a set of modules."
    return '-'.join(sorted(modules)) if modules else 'all'


@contextlib.contextmanager
def shared_lock(key):
    """The run's shared template directory, with the template `key` held
    exclusively; None when the tests do not run under tools/run_tests.py.

    tools/run_tests.py gives each run a fresh SPP_TEST_SHARED_DIR: the
    pytest-xdist workers build one template per set of modules there instead
    of one each. Copies of a template are serialised too (PostgreSQL copies
    a template database only while nobody else uses it); other templates
    are built and copied meanwhile.
    """
    shared = os.environ.get('SPP_TEST_SHARED_DIR')
    if not shared:
        yield None
        return
    directory = Path(shared) / 'spp-template'
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f'lock-{key}', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield directory
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# The demo users' passwords of the tests that load the demo (sppdb.py
# load-demo --users-file): one set, so that they share one demo load.
DEMO_PASSWORDS = {
    'registrar': 'demo-Registrar-1', 'checker': 'demo-Checker-1',
    'grievance': 'demo-Grievance-1', 'grm': 'demo-Grm-1',
    'validator': 'demo-Validator-1',
    'manager': 'demo-Manager-1', 'approver': 'demo-Approver-1',
    'finance': 'demo-Finance-1', 'payments': 'demo-Payments-1',
    'viewer': 'demo-Viewer-1', 'auditor': 'demo-Auditor-1',
    'monitoring': 'demo-Monitoring-1', 'dpo': 'demo-Dpo-1'}


class TestDatabase:
    "A database of the run's backend, handled through tools/sppdb.py."
    __test__ = False  # a helper, not tests: pytest must not collect it

    def __init__(self, name, workdir, uri=None):
        self.name = name
        self.workdir = Path(workdir)
        self.uri = uri or database_uri()
        self.password = ADMIN_PASSWORD

    @property
    def path(self):
        "SQLite files (or the PostgreSQL filestore) of this database."
        return self.workdir / 'db'

    def env(self, **extra):
        "The environment for trytond processes using this database."
        env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY_ENV}
        env.update({
                'TRYTOND_DATABASE__URI': self.uri,
                'TRYTOND_DATABASE__PATH': str(self.path),
                'SPP_STATE_DIR': str(self.workdir / 'state'),
                'PYTHONDONTWRITEBYTECODE': '1',
                # Audit entries sealed before each call returns (see
                # conftest.py).
                'TRYTOND_SPP_AUDIT__SEAL_DELAY': '0',
                })
        env.update(extra)
        return env

    def sppdb(self, *args, timeout=900):
        self.path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, str(TOOLS / 'sppdb.py'), *args],
            env=self.env(), cwd=ROOT, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise ServerError(
                f"sppdb.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
        return result.stdout

    @classmethod
    def create(cls, workdir, tag, modules=None, uri=None):
        """A new database with the addons (default: all) activated and the
        admin password set to ADMIN_PASSWORD.

        Under tools/run_tests.py the addons are installed once per run for
        each set of modules, into a template the test processes share; the
        database is a copy of it (seconds instead of a minute)."""
        with shared_lock(template_key(modules)) as shared:
            if shared is None:
                return cls.install(workdir, tag, modules, uri)
            return cls.shared_template(shared, modules, uri).copy(tag)

    @classmethod
    def create_demo(cls, workdir, passwords, uri=None, tag='demo'):
        """A new database loaded as `make demo` loads it (every addon, then
        `sppdb.py load-demo --users-file`), its demo users' passwords taken
        from `passwords` ({login: password})."""
        database = cls.create(workdir, tag, uri=uri)
        users_file = workdir / 'demo_users'
        users_file.write_text(''.join(
                f'{login} {password}\n'
                for login, password in passwords.items()))
        users_file.chmod(0o600)
        database.sppdb('load-demo', database.name, '--users-file',
            str(users_file))
        return database

    @classmethod
    def demo(cls, workdir, passwords, tag, uri=None):
        """A database loaded as `make demo` loads it, with these demo
        passwords. Under tools/run_tests.py the demo is loaded once per run
        (and set of passwords) into a template the test processes share;
        the database is a copy of it."""
        key = 'demo-' + hashlib.sha256(
            repr(sorted(passwords.items())).encode()).hexdigest()[:12]
        with shared_lock(key) as shared:
            if shared is None:
                return cls.create_demo(workdir, passwords, uri=uri)
            ready = shared / f'ready-{key}'
            if ready.exists():
                # Its name and directory (a copy of the run's template).
                name, directory = ready.read_text().splitlines()
                template = cls(name, directory, uri)
            else:
                (shared / key).mkdir()
                template = cls.create_demo(shared / key, passwords, uri=uri,
                    tag='demo_template')
                ready.write_text(f'{template.name}\n{template.workdir}\n')
            return template.copy(tag)

    @classmethod
    def shared_template(cls, shared, modules=None, uri=None):
        "The run's template for these modules; call under shared_lock()."
        key = template_key(modules)
        ready = shared / f'ready-{key}'
        if ready.exists():
            return cls(ready.read_text(), shared, uri)
        database = cls.install(shared, f'tpl_{key}'[:24], modules, uri)
        ready.write_text(database.name)
        return database

    @classmethod
    def install(cls, workdir, tag, modules=None, uri=None):
        "A new database with the addons installed (one to two minutes)."
        database = cls(unique_name(tag), workdir, uri)
        password_file = database.workdir / 'admin_password'
        database.workdir.mkdir(parents=True, exist_ok=True)
        password_file.write_text(ADMIN_PASSWORD + '\n')
        password_file.chmod(0o600)
        args = ['ensure', database.name, '--reset',
            '--password-file', str(password_file)]
        if modules:
            args += ['--modules', *modules]
        database.sppdb(*args)
        database.mark_configured()
        return database

    @property
    def conninfo(self):
        "The PostgreSQL connection string of this database."
        parts = urllib.parse.urlparse(self.uri)
        return parts._replace(
            scheme='postgresql', path='/' + self.name).geturl()

    def mark_configured(self):
        """Close Tryton's "Module Configuration" wizard items, as the demo
        does: the wizard would open at each login of a browser test and
        race with the test's first clicks in the menu."""
        sql = "UPDATE ir_module_config_wizard_item SET state = 'done'"
        if is_postgresql(self.uri):
            import psycopg
            with psycopg.connect(
                    self.conninfo, autocommit=True) as connection:
                connection.execute(sql)
        else:
            import sqlite3
            connection = sqlite3.connect(self.path / f'{self.name}.sqlite')
            with connection:
                connection.execute(sql)
            connection.close()

    def copy(self, tag):
        "A copy of this database (much faster than installing the addons)."
        other = TestDatabase(unique_name(tag), self.workdir, self.uri)
        self.sppdb('drop', other.name)
        self.sppdb('copy', self.name, other.name)
        return other

    def drop(self):
        self.sppdb('drop', self.name)

    def write_config(self, port, extra=''):
        "A trytond configuration file serving this database on port."
        config = self.workdir / f'trytond-{self.name}-{port}.conf'
        config.write_text(
            "[database]\n"
            f"uri = {self.uri}\n"
            f"path = {self.path}\n"
            "[web]\n"
            f"listen = 127.0.0.1:{port}\n"
            f"root = {SAO}\n"
            + extra)
        return config


@contextlib.contextmanager
def pool_database(workdir, tag, modules, populate=None):
    """A database with `modules` (TestDatabase.create) and its pool loaded
    in this process, for tests that start their own transactions, with
    the records `populate()` creates committed; dropped at the end."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    database = TestDatabase.create(workdir, tag, modules=modules)
    os.environ['TRYTOND_DATABASE__PATH'] = str(database.path)
    try:
        with Transaction().start(database.name, 0, readonly=True):
            Pool(database.name).init()
        if populate:
            with Transaction().start(database.name, 0) as transaction:
                populate()
                transaction.commit()
        yield database
    finally:
        database.drop()


class Server:
    "A running trytond (or gunicorn) answering on url, for one database."

    def __init__(self, url, database, process, log_path):
        self.url = url
        self.database = database
        self.process = process
        self.log_path = log_path

    def log_tail(self, size=4000):
        try:
            return self.log_path.read_text(errors='replace')[-size:]
        except OSError:
            return ''

    def post(self, path, payload, headers=None, timeout=60):
        "POST JSON; return (status, decoded body)."
        request = urllib.request.Request(
            urllib.parse.urljoin(self.url, path),
            data=json.dumps(payload).encode(),
            headers={'Content-Type': 'application/json', **(headers or {})},
            method='POST')
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or 'null')
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return error.code, json.loads(body or 'null')
            except ValueError:
                return error.code, body.decode(errors='replace')

    def call(self, method, params, session=None, login=ADMIN_LOGIN):
        """JSON-RPC call on the database; session is (user_id, token).

        Returns the result, raises ServerError with the server's error.
        """
        headers = {}
        if session:
            user_id, token = session
            credentials = f'{login}:{user_id}:{token}'.encode()
            headers['Authorization'] = (
                'Session ' + base64.b64encode(credentials).decode())
        status, body = self.post(f'/{self.database.name}/rpc/',
            {'id': 1, 'method': method, 'params': params}, headers)
        if status != 200 or not isinstance(body, dict) or 'error' in body:
            raise ServerError(f"{method}: HTTP {status}: {body!r}")
        return body['result']

    def login(self, login=ADMIN_LOGIN, password=None):
        "common.db.login; returns (user_id, session token)."
        result = self.call('common.db.login',
            [login, {'password': password or self.database.password}, 'en'])
        if not (isinstance(result, list) and isinstance(result[0], int)
                and result[1]):
            raise ServerError(f"common.db.login answered {result!r}")
        return result[0], result[1]


def wait_http(url, process, log_path, timeout=120):
    "Wait until url answers 200; fail early if the process exits."
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"the server exited with status {process.returncode} "
                f"before answering:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError as exception:
            last_error = exception
        time.sleep(0.3)
    raise ServerError(f"{url} did not answer in {timeout} s ({last_error}):\n"
        f"{_tail(log_path)}")


def _tail(path, size=4000):
    try:
        return Path(path).read_text(errors='replace')[-size:]
    except OSError:
        return ''


def stop_process(process, timeout=15):
    "Stop a process started in its own session, and its children."
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


@contextlib.contextmanager
def running_server(database, *, preload=True, port=None, extra_config=''):
    """Run `trytond` (the werkzeug server, as `make demo` does) for database.

    preload passes `-d NAME` so the pool is loaded before the first request,
    the way the demo starts it.
    """
    port = port or free_port()
    config = database.write_config(port, extra_config)
    log_path = database.workdir / f'trytond-{database.name}-{port}.log'
    command = [str(BIN / 'trytond'), '-c', str(config)]
    if preload:
        command += ['-d', database.name]
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(command, env=database.env(), cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_http(url, process, log_path)
        yield Server(url, database, process, log_path)
    finally:
        stop_process(process)


@contextlib.contextmanager
def running_topology(database, *, workers=2, port=None):
    """Run tools/serve_postgresql.py (gunicorn + trytond-worker +
    trytond-cron) for an existing PostgreSQL database."""
    port = port or free_port()
    log_path = database.workdir / f'topology-{database.name}-{port}.log'
    password_file = database.workdir / 'admin_password'
    command = [sys.executable, str(TOOLS / 'serve_postgresql.py'),
        '--uri', database.uri, '--database', database.name,
        '--port', str(port), '--workers', str(workers),
        '--var', str(database.workdir), '--password-file', str(password_file)]
    env = database.env(SPP_ADMIN_PASSWORD=database.password)
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_http(url, process, log_path, timeout=300)
        yield Server(url, database, process, log_path)
    finally:
        # SIGTERM to the supervisor alone: it must stop its children itself.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                stop_process(process)
