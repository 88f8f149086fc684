#!/usr/bin/env python3
"""Create, update and drop SP-MIS databases, on SQLite or PostgreSQL.

One place for what the demo, the PostgreSQL server topology and the tests
all need: a Tryton database with every addon under ``addons/`` activated.

The backend follows trytond's own configuration, read the way trytond
reads it: the environment (``TRYTOND_DATABASE__URI``, default ``sqlite://``;
``TRYTOND_DATABASE__PATH``, the directory of the SQLite files) overridden by
the configuration files given with ``-c``. The same environment and files
are passed to ``trytond-admin``.

A new database is built under a temporary name and renamed only once every
addon is activated (and the demo data loaded, when asked), so a failed or
interrupted install never leaves a half-made database under the real name.

Command line (run with the project's virtualenv python)::

    sppdb.py ensure NAME [--reset] [--demo] [--password-file FILE]
                         [--modules MODULE...] [--users-file FILE]
    sppdb.py copy SOURCE TARGET
    sppdb.py drop NAME...
    sppdb.py drop-prefix PREFIX
    sppdb.py exists NAME
    sppdb.py load-demo NAME [--households N] [--seed S] [--users-file FILE]
    sppdb.py demo-users NAME --users-file FILE
    sppdb.py requeue NAME [--grace SECONDS]
    sppdb.py audit-verify NAME [--file AUDIT_FILE...]
"""
import argparse
import hashlib
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The backend's names are the command's too (demo.py, serve_postgresql.py
# and the tests call them as sppdb.<name>).
from sppdb_backend import (  # noqa: E402,F401
    DatabaseError, _state_file, backend_name, configure, copy,
    create_empty, database_uri, drop, drop_prefix, exists,
    postgresql_conninfo, rename, sqlite_file, trytond_config_files)

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / 'addons'
ADMIN_EMAIL = 'admin@example.org'
# Exit status of ``load-demo`` when spp_demo provides no loader (yet).
NO_DEMO_LOADER = 3


def addon_names(warn=True):
    """Every addon of the project: a directory under addons/ with a
    tryton.cfg, installed as trytond.modules.<name>.

    An addon directory that is not installed yet (not registered in
    pyproject.toml, or `pip install -e .` not re-run) is left out with a
    warning: trytond could not load it.
    """
    names = []
    for path in sorted(ADDONS.iterdir()):
        if not (path / 'tryton.cfg').is_file():
            continue
        if _installed(path.name):
            names.append(path.name)
        elif warn:
            print(f"WARNING: addons/{path.name} is not installed as "
                f"trytond.modules.{path.name} (register it in pyproject.toml "
                "and re-run `make` / `pip install -e . --no-deps`): skipped.",
                file=sys.stderr)
    return names


def _installed(name):
    try:
        spec = importlib.util.find_spec(f'trytond.modules.{name}')
    except ImportError:
        return False
    return spec is not None


def addons_fingerprint():
    """Hash of the addons' files (tests excluded).

    When it changes, the modules of an existing database are updated.
    """
    digest = hashlib.sha256()
    for path in sorted(ADDONS.rglob('*')):
        relative = path.relative_to(ADDONS)
        if (not path.is_file()
                or '__pycache__' in relative.parts
                or 'tests' in relative.parts[1:2]):
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def password_file_for(path, password=None, length=8):
    """Write the admin password (default: the one kept in path, else a new
    random one) to path, readable by its owner only; return the password.
    """
    path = Path(path)
    previous = path.read_text().strip() if path.is_file() else None
    if password is None:
        password = previous or secrets.token_urlsafe(12)
    if len(password) < length or '\n' in password:
        raise DatabaseError(
            f"the admin password must be one line of at least {length} "
            "characters")
    if previous != password:
        # Created with the right mode: never world-readable, not even briefly.
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as file:
            file.write(password + '\n')
    os.chmod(path, 0o600)
    return password


def _admin_command(config_files):
    admin = shutil.which('trytond-admin', path=str(Path(sys.executable).parent))
    command = [admin or 'trytond-admin']
    if config_files:
        command += ['-c', *trytond_config_files(config_files)]
    return command


def activate_addons(name, config_files=(), password_file=None, modules=None):
    """Activate (or update) the addons (default: all), with their
    dependencies, in NAME.

    On a new database this also initialises it and sets the admin password
    (read from password_file) and email, unattended.
    """
    modules = list(modules or addon_names())
    command = _admin_command(config_files) + [
        '-d', name, '-u', *modules, '--activate-dependencies']
    env = dict(os.environ)
    if password_file:
        # A new database: its admin gets an email and the password, so that
        # trytond-admin asks nothing.
        command += ['--email', ADMIN_EMAIL]
        env['TRYTONPASSFILE'] = str(Path(password_file).resolve())
    # No terminal: trytond-admin must never wait for a password prompt.
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise DatabaseError(
            f"trytond-admin failed (exit {result.returncode}) while "
            f"activating {', '.join(modules)} in '{name}'")


def set_admin_password(name, config_files=(), password_file=None):
    "Set the admin password of the existing database NAME from password_file."
    command = _admin_command(config_files) + ['-d', name, '--password']
    env = dict(os.environ,
        TRYTONPASSFILE=str(Path(password_file).resolve()))
    result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise DatabaseError(
            f"trytond-admin failed (exit {result.returncode}) while setting "
            f"the admin password of '{name}'")


def demo_loader_available():
    "Whether spp_demo provides trytond.modules.spp_demo.demo.load_demo."
    try:
        spec = importlib.util.find_spec('trytond.modules.spp_demo.demo')
    except ModuleNotFoundError:
        return False
    return spec is not None


def load_demo_data(name, config_files=(), households=300, seed=7,
        users_file=None):
    "Run ``load-demo`` in a fresh process; return False if no loader exists."
    command = [sys.executable, __file__]
    for config_file in config_files:
        command += ['-c', config_file]
    command += ['load-demo', name,
        '--households', str(households), '--seed', str(seed)]
    if users_file:
        command += ['--users-file', str(users_file)]
    result = subprocess.run(command, stdin=subprocess.DEVNULL)
    if result.returncode == NO_DEMO_LOADER:
        return False
    if result.returncode:
        raise DatabaseError(
            f"loading the demo data into '{name}' failed "
            f"(exit {result.returncode})")
    return True


def check_password_file(name, password_file, length=8):
    "Refuse to create NAME without a usable admin password file."
    if not password_file:
        raise DatabaseError(f"database '{name}' does not exist: "
            "creating it needs --password-file FILE (the admin "
            "password it gets)")
    path = Path(password_file)
    how = (f"write the admin password of the new database into it (one "
        f"line of {length} characters or more)")
    if not path.is_file():
        raise DatabaseError(f"the password file {path} does not exist: "
            f"{how}")
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exception:
        raise DatabaseError(
            f"the password file {path} cannot be read: {exception}")
    # trytond-admin reads exactly one line.
    if len(lines) != 1 or len(lines[0]) < length:
        raise DatabaseError(f"the password file {path} holds no password "
            f"of {length} characters or more: {how}")


def ensure(name, config_files=(), password_file=None, reset=False,
        demo=False, households=300, seed=7, modules=None, log=print,
        users_file=None):
    """Make NAME a database with the addons (default: all) activated and
    up to date.

    Returns 'created', 'updated' or 'unchanged'. An existing database keeps
    its data unless reset is set; its modules are updated when the addons'
    files changed since the last run. The demo users get the passwords of
    users_file (see set_demo_passwords).
    """
    if reset or not exists(name):
        # Checked before anything is dropped or installed: trytond-admin
        # would fall back to a password prompt on a terminal it does not
        # have, after a minute of work.
        check_password_file(name, password_file)
    if reset and exists(name):
        log(f"Dropping database '{name}' (reset) ...")
        drop(name)
    modules = list(modules or addon_names())
    fingerprint = f"{addons_fingerprint()} {' '.join(sorted(modules))}"
    if not exists(name):
        staging = f'{name}__installing'
        drop(staging)
        log(f"Creating database '{name}' with addons "
            f"{', '.join(modules)} (this takes a minute) ...")
        try:
            create_empty(staging)
            activate_addons(staging, config_files, password_file, modules)
            _state_file(staging, 'modules').write_text(fingerprint)
            if demo:
                _load_demo_once(staging, config_files, households, seed,
                    log, users_file)
            rename(staging, name)
        except BaseException:
            try:
                drop(staging)
            except DatabaseError:
                pass
            raise
        return 'created'
    state = 'unchanged'
    modules_state = _state_file(name, 'modules')
    if (not modules_state.exists()
            or modules_state.read_text() != fingerprint):
        log(f"Updating the addons of database '{name}' ...")
        activate_addons(name, config_files, modules=modules)
        modules_state.write_text(fingerprint)
        state = 'updated'
    if demo:
        _load_demo_once(name, config_files, households, seed, log,
            users_file)
    return state


def _load_demo_once(name, config_files, households, seed, log,
        users_file=None):
    marker = _state_file(name, 'demo')
    if marker.exists():
        return
    if not demo_loader_available():
        log("Demo data: spp_demo provides no loader "
            "(trytond.modules.spp_demo.demo.load_demo) yet; skipped.")
        return
    log(f"Loading demo data ({households} households, seed {seed}) ...")
    if load_demo_data(name, config_files, households, seed, users_file):
        marker.write_text(f'households={households} seed={seed}\n')


def set_demo_passwords(name, config_files=(), users_file=None):
    """Create the demo users missing from the existing database NAME and
    give them the passwords of users_file, in a fresh process."""
    command = [sys.executable, __file__]
    for config_file in config_files:
        command += ['-c', config_file]
    command += ['demo-users', name, '--users-file', str(users_file)]
    result = subprocess.run(command, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise DatabaseError(f"setting the demo users' passwords of "
            f"'{name}' failed (exit {result.returncode})")


def _demo_passwords(users_file):
    if not users_file:
        return None
    from trytond.modules.spp_demo.users import read_passwords
    return read_passwords(Path(users_file))


def _run_demo_users(name, config_files, users_file):
    "Call spp_demo's ensure_users() inside a transaction (own process)."
    configure(config_files)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(name)
    pool.init()
    from trytond.modules.spp_demo.users import ensure_users
    with Transaction().start(name, 0) as transaction:
        ensure_users(_demo_passwords(users_file))
        transaction.commit()
    return 0


def _run_load_demo(name, config_files, households, seed, users_file=None):
    """Call spp_demo's loader inside a transaction on an initialised pool.

    Runs in its own process so that the pool and its connections are gone
    before the caller renames the database.
    """
    if not demo_loader_available():
        return NO_DEMO_LOADER
    configure(config_files)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(name)
    pool.init()
    from trytond.modules.spp_demo.demo import load_demo
    from trytond.transaction import TransactionError
    extras = {}
    while True:
        with Transaction().start(name, 0, **extras) as transaction:
            User = pool.get('res.user')
            try:
                with transaction.set_context(
                        User.get_preferences(context_only=True)):
                    load_demo(households=households, seed=seed,
                        passwords=_demo_passwords(users_file))
            except TransactionError as error:
                # A table lock the transaction must take from its start,
                # as trytond's dispatcher does for a call: start again.
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
        return 0


def requeue(name, grace=None, attempts=3):
    """Put the queue tasks of dead workers of NAME back in the queue
    (ir.queue's requeue_abandoned, spp_registry/queue.py); return their
    ids. Run before trytond-worker starts: the worker has no hook of its
    own, and the ir.cron job only comes a minute later."""
    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    Queue = pool.get('ir.queue')
    if not hasattr(Queue, 'requeue_abandoned'):
        raise DatabaseError(f"database '{name}' has no spp_registry: "
            "nothing requeues its tasks")
    for attempt in range(attempts):
        try:
            with Transaction().start(name, 0) as transaction:
                ids = Queue.requeue_abandoned(grace)
                transaction.commit()
            return ids
        except backend.DatabaseOperationalError:
            # A task changed meanwhile (repeatable read): look again.
            if attempt + 1 == attempts:
                raise


def audit_verify(name, files=()):
    """Walk the audit chain of NAME (spp_audit/chain.py); with `files` (the
    off-database copy, [spp_audit] file), also check that each of their
    entries is in the database with the same hash: a removed tail of the
    chain shows there. Return (entries verified, a problem or None)."""
    import json

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    try:
        Log = pool.get('spp.audit.log')
    except KeyError:
        raise DatabaseError(f"database '{name}' has no spp_audit: "
            "there is no audit chain to verify")
    from trytond.modules.spp_audit import chain
    with Transaction().start(name, 0):
        # What committed since the last seal (a crash in between) too.
        Log.seal_committed()
    with Transaction().start(name, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        try:
            verified = chain.verify(Log.rows(cursor))
        except chain.Broken as broken:
            return broken.position - 1, str(broken)
        table = Log.__table__()
        for file in files or ():
            with open(file, encoding='utf-8') as lines:
                for number, line in enumerate(lines, 1):
                    copied = json.loads(line)
                    cursor.execute(*table.select(table.hash,
                            where=table.position == copied['position']))
                    found = cursor.fetchone()
                    where = f"entry {copied['position']} (line {number} of "
                    if not found:
                        return verified, (
                            f"{where}{file}) is missing from the database")
                    if found[0] != copied['hash']:
                        return verified, (
                            f"{where}{file}) has another hash in the database")
    return verified, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-c', '--config', action='append', default=[],
        metavar='FILE',
        help="trytond configuration file (repeat for several)")
    commands = parser.add_subparsers(dest='command', required=True)

    ensure_parser = commands.add_parser('ensure',
        help="create (or update) a database with every addon")
    ensure_parser.add_argument('name')
    ensure_parser.add_argument('--reset', action='store_true',
        help="drop the database first")
    ensure_parser.add_argument('--demo', action='store_true',
        help="load the demo data once, if spp_demo provides a loader")
    ensure_parser.add_argument('--password-file',
        help="file holding the admin password of a new database")
    ensure_parser.add_argument('--modules', nargs='+',
        help="addons to activate (default: every addon under addons/)")
    ensure_parser.add_argument('--households', type=int, default=300)
    ensure_parser.add_argument('--seed', type=int, default=7)
    ensure_parser.add_argument('--users-file',
        help="with --demo: the demo users' passwords (`login password` "
        "lines)")

    drop_parser = commands.add_parser('drop', help="drop databases")
    drop_parser.add_argument('names', nargs='+')
    prefix_parser = commands.add_parser('drop-prefix',
        help="drop the databases whose name starts with PREFIX")
    prefix_parser.add_argument('prefix')
    copy_parser = commands.add_parser('copy',
        help="create TARGET as a copy of SOURCE")
    copy_parser.add_argument('source')
    copy_parser.add_argument('target')
    exists_parser = commands.add_parser('exists',
        help="exit 0 if the database exists, 1 otherwise")
    exists_parser.add_argument('name')

    demo_parser = commands.add_parser('load-demo',
        help="load the demo data with spp_demo's loader")
    demo_parser.add_argument('name')
    demo_parser.add_argument('--households', type=int, default=300)
    demo_parser.add_argument('--seed', type=int, default=7)
    demo_parser.add_argument('--users-file',
        help="file of `login password` lines: the demo users' passwords")
    users_parser = commands.add_parser('demo-users',
        help="create the missing demo users, set their passwords")
    users_parser.add_argument('name')
    users_parser.add_argument('--users-file', required=True)

    requeue_parser = commands.add_parser('requeue',
        help="put the queue tasks of dead workers back in the queue")
    requeue_parser.add_argument('name')
    requeue_parser.add_argument('--grace', type=int,
        help="seconds since a task's pull before it counts as abandoned "
        "(default: [queue] requeue_after, 60)")

    verify_parser = commands.add_parser('audit-verify',
        help="verify the audit log's hash chain; exit 1 at a broken entry")
    verify_parser.add_argument('name')
    verify_parser.add_argument('--file', nargs='+', dest='files',
        metavar='FILE', help="the off-database copy ([spp_audit] file: "
        "its daily files) to check against the database")

    options = parser.parse_args(argv)
    configure(options.config)
    try:
        if options.command == 'ensure':
            state = ensure(options.name, options.config,
                password_file=options.password_file, reset=options.reset,
                demo=options.demo, households=options.households,
                seed=options.seed, modules=options.modules,
                users_file=options.users_file)
            print(f"Database '{options.name}': {state}.")
        elif options.command == 'drop':
            for name in options.names:
                drop(name)
        elif options.command == 'drop-prefix':
            for name in drop_prefix(options.prefix):
                print(f"Dropped database '{name}'.")
        elif options.command == 'copy':
            copy(options.source, options.target)
        elif options.command == 'exists':
            return 0 if exists(options.name) else 1
        elif options.command == 'audit-verify':
            verified, problem = audit_verify(options.name, options.files)
            if problem:
                print(f"Database '{options.name}': the audit chain is "
                    f"broken at {problem}; the {verified} entries before "
                    "it hold.")
                return 1
            print(f"Database '{options.name}': the audit chain holds "
                f"({verified} entries).")
        elif options.command == 'requeue':
            ids = requeue(options.name, options.grace)
            print(f"Database '{options.name}': requeued "
                f"{len(ids)} task(s) of dead workers"
                + (f": {', '.join(map(str, ids))}." if ids else "."))
        elif options.command == 'load-demo':
            return _run_load_demo(options.name, options.config,
                options.households, options.seed, options.users_file)
        elif options.command == 'demo-users':
            return _run_demo_users(options.name, options.config,
                options.users_file)
    except DatabaseError as exception:
        print(f"ERROR: {exception}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
