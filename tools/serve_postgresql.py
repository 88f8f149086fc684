#!/usr/bin/env python3
"""Run the production topology on PostgreSQL as plain processes.

    gunicorn  trytond.application:app   web client, JSON-RPC, REST (N workers)
    trytond-worker                       runs ir.queue tasks
    trytond-cron                         runs ir.cron jobs

All three share deploy/trytond-postgresql.conf (through TRYTOND_CONFIG, with
[queue] worker = True) and the environment below. The database is created
with every addon (or its addons updated) first, and the queue tasks of a
killed worker are put back in the queue (tools/sppdb.py requeue). Ctrl-C
(or SIGTERM) stops all of them; if one of them dies, the others are stopped
too and the exit status is non-zero.

Called by `make serve-postgresql`; the options are for tests and operators.

Environment:
    SPP_DATABASE_URI    PostgreSQL server (default postgresql://postgres@127.0.0.1:5432/)
    SPP_DATABASE        database name (default spp)
    SPP_PORT            port on 127.0.0.1 (default 8000)
    SPP_WEB_WORKERS     gunicorn workers (default 4)
    SPP_ADMIN_PASSWORD  admin password of a new database (default: generated,
                        kept in var/admin_password_postgresql)
"""
import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sppdb  # noqa: E402

ROOT = sppdb.ROOT
BIN = Path(sys.executable).parent
DEFAULT_URI = 'postgresql://postgres@127.0.0.1:5432/'
STOP_TIMEOUT = 15


def fail(message):
    print(f"\nERROR: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"[serve-postgresql] {message}", flush=True)


def check_port_free(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exception:
            if exception.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use; choose "
                    "another one with SPP_PORT=8001 (or --port).")
            raise


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="gunicorn + trytond-worker + trytond-cron on PostgreSQL")
    parser.add_argument('--uri',
        default=os.environ.get('SPP_DATABASE_URI') or DEFAULT_URI,
        help="PostgreSQL server URI (default: $SPP_DATABASE_URI or "
        "%(default)s)")
    parser.add_argument('--database',
        default=os.environ.get('SPP_DATABASE') or 'spp')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int,
        default=int(os.environ.get('SPP_PORT') or 8000))
    parser.add_argument('--workers', type=int,
        default=int(os.environ.get('SPP_WEB_WORKERS') or 4),
        help="gunicorn worker processes")
    parser.add_argument('--config',
        default=str(ROOT / 'deploy' / 'trytond-postgresql.conf'))
    parser.add_argument('--var', default=str(ROOT / 'var'),
        help="directory for the password file and the filestore")
    parser.add_argument('--password-file',
        help="admin password file (default: VAR/admin_password_postgresql)")
    parser.add_argument('--web-root', default=str(ROOT / 'sao'),
        help="the sao web client")
    return parser.parse_args(argv)


def environment(options):
    env = dict(os.environ)
    for name in ['DB_NAME', 'DB_CACHE', 'TRYTOND_DATABASE_URI']:
        env.pop(name, None)
    env.update({
            'TRYTOND_CONFIG': options.config,
            'TRYTOND_DATABASE__URI': options.uri,
            'TRYTOND_DATABASE__PATH': str(Path(options.var) / 'filestore'),
            'TRYTOND_WEB__ROOT': options.web_root,
            # Load the pool at start-up in every web worker: the first
            # request then finds it ready (and 8.0.12's first-login bug on a
            # server without a database name does not apply).
            'TRYTOND_DATABASE_NAMES': options.database,
            })
    return env


def prepare_database(options, env):
    os.environ.update(env)
    sppdb.configure([options.config])
    var = Path(options.var)
    var.mkdir(parents=True, exist_ok=True)
    password_file = Path(options.password_file
        or var / 'admin_password_postgresql')
    previous = (password_file.read_text().strip()
        if password_file.is_file() else None)
    try:
        password = sppdb.password_file_for(
            password_file, os.environ.get('SPP_ADMIN_PASSWORD'))
        state = sppdb.ensure(options.database, [options.config],
            password_file=password_file, log=log)
        if state != 'created' and previous != password:
            log("setting the admin password of the existing database")
            sppdb.set_admin_password(
                options.database, [options.config], password_file)
    except sppdb.DatabaseError as exception:
        fail(f"{exception}\nIs PostgreSQL running? Set SPP_DATABASE_URI="
            "postgresql://user:password@host:port/ to use another server.")
    log(f"database '{options.database}': {state}")
    return password_file


def requeue_abandoned(options, env):
    """Put the tasks of a killed worker back in the queue before the new
    worker starts: trytond-worker has no start-up hook of its own (the
    ir.cron job does the same every minute)."""
    result = subprocess.run([sys.executable, str(ROOT / 'tools' / 'sppdb.py'),
            '-c', options.config, 'requeue', options.database],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    if result.returncode:
        fail(f"requeueing the tasks of dead workers of '{options.database}' "
            f"failed (exit {result.returncode})")


def commands(options):
    return {
        'web': [str(BIN / 'gunicorn'),
            '--workers', str(options.workers),
            '--bind', f'{options.host}:{options.port}',
            '--timeout', '300',
            '--graceful-timeout', '10',
            '--access-logfile', '-',
            # Several instances (e.g. tests beside a running one) must not
            # share the control socket in ~/.gunicorn.
            '--no-control-socket',
            'trytond.application:app'],
        'worker': [str(BIN / 'trytond-worker'), '-d', options.database],
        'cron': [str(BIN / 'trytond-cron'), '-d', options.database],
        }


class Supervisor:
    "Start processes, stop them all when one exits or on a signal."

    def __init__(self, env):
        self.env = env
        self.processes = {}
        self.stopping = False

    def start(self, name, command):
        # Own process group: the supervisor decides the shutdown order, and
        # gunicorn's workers go with their master.
        self.processes[name] = subprocess.Popen(command, env=self.env,
            cwd=ROOT, stdin=subprocess.DEVNULL, start_new_session=True)
        shown = ' '.join([Path(command[0]).name, *command[1:]])
        log(f"started {name} (pid {self.processes[name].pid}): {shown}")

    def stop(self, *_):
        if self.stopping:
            return
        self.stopping = True
        log("stopping ...")
        for name, process in self.processes.items():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in self.processes.items():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {STOP_TIMEOUT} s: killing it")
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()

    def watch(self):
        "Block until a process exits or stop() is called; return the status."
        while not self.stopping:
            for name, process in self.processes.items():
                status = process.poll()
                if status is not None:
                    log(f"{name} exited with status {status}; "
                        "stopping the others")
                    self.stop()
                    return status or 1
            time.sleep(0.5)
        return 0


def wait_ready(url, supervisor, timeout=120):
    "Whether url answers 200 before timeout, while every process runs."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not supervisor.stopping:
        if any(p.poll() is not None for p in supervisor.processes.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def main(argv=None):
    options = parse_args(argv)
    os.chdir(ROOT)
    if not (Path(options.web_root) / 'index.html').is_file():
        fail(f"the sao web client is missing in {options.web_root}: "
            "run tools/ensure_sao.sh (make serve-postgresql does).")
    check_port_free(options.host, options.port)
    env = environment(options)
    password_file = prepare_database(options, env)

    requeue_abandoned(options, env)

    supervisor = Supervisor(env)
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    for name, command in commands(options).items():
        supervisor.start(name, command)
    url = f"http://{options.host}:{options.port}/"
    if wait_ready(url, supervisor):
        print(f"""
  SP-MIS (PostgreSQL topology) is running at  {url}
      database  {options.database}  on {options.uri}
      processes gunicorn ({options.workers} workers), trytond-worker, trytond-cron
      user      admin
      password  in {password_file}

  Press Ctrl-C to stop all of them.
""", flush=True)
    status = supervisor.watch()
    supervisor.stop()
    return status


if __name__ == '__main__':
    sys.exit(main())
