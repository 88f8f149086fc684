#!/usr/bin/env python3
"""Run the SP-MIS demo: one trytond serving the sao web client and JSON-RPC.

Called by `make demo` with the project's virtualenv python. It

1. checks that 127.0.0.1:$SPP_PORT (default 8000) is free;
2. installs the sao web client into ./sao if it is missing (needs npm);
3. creates the database (default `spp`, SQLite in ./var unless
   TRYTOND_DATABASE__URI names PostgreSQL) with every addon under addons/
   and the demo data, or updates the addons of the existing one;
4. prints the URL, the admin login and the demo users' logins (one per
   role, passwords generated once and kept in var/demo_users), and
   replaces itself with `trytond -c trytond.conf var/demo.conf -d spp`.

Environment:
    SPP_PORT              port on 127.0.0.1 (default 8000)
    SPP_DATABASE          database name (default spp)
    SPP_ADMIN_PASSWORD    admin password (default: generated once, kept in
                          var/admin_password)
    RESET=1               drop the database first (what `make demo-reset` does)
    TRYTOND_DATABASE__URI postgresql://... to use PostgreSQL instead of SQLite
"""
import errno
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sppdb  # noqa: E402

ROOT = sppdb.ROOT
VAR = ROOT / 'var'
SAO = ROOT / 'sao'
HOST = '127.0.0.1'
MIN_PASSWORD_LENGTH = 12  # trytond.conf [password] length


def fail(message):
    print(f"\nERROR: {message}", file=sys.stderr)
    sys.exit(1)


def check_port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option as the server, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exception:
            if exception.errno == errno.EADDRINUSE:
                fail(f"port {port} on {HOST} is already in use "
                    "(another demo still running?).\n"
                    "Stop the program that listens there, or choose another "
                    "port:  SPP_PORT=8001 make demo")
            fail(f"cannot listen on {HOST}:{port}: {exception.strerror}")


def ensure_sao():
    if (SAO / 'index.html').is_file() and (SAO / 'node_modules').is_dir():
        return
    if not shutil.which('npm'):
        fail("the sao web client is not installed and npm is missing.\n"
            "Install npm, then run `make demo` again:\n"
            "    sudo apt-get install -y npm     (Debian / Ubuntu)\n"
            "or install Node.js with npm from https://nodejs.org/")
    if subprocess.run([str(ROOT / 'tools' / 'ensure_sao.sh')]).returncode:
        fail("installing the sao web client failed (see above).")


def admin_password():
    """The admin password, the file holding it (TRYTONPASSFILE) and whether
    it differs from the one kept there.

    SPP_ADMIN_PASSWORD wins; otherwise the password generated on the first
    run is reused.
    """
    password_file = VAR / 'admin_password'
    previous = (password_file.read_text().strip()
        if password_file.is_file() else None)
    try:
        password = sppdb.password_file_for(
            password_file, os.environ.get('SPP_ADMIN_PASSWORD'),
            MIN_PASSWORD_LENGTH)
    except sppdb.DatabaseError as exception:
        fail(f"SPP_ADMIN_PASSWORD: {exception}.")
    return password, password_file, previous != password


def demo_users():
    """[(login, name, password)] of the demo users, the file keeping the
    passwords (var/demo_users, `login password` lines, readable by its
    owner only) and whether the file changed: a password is generated once
    per login and reused by later runs, `make demo-reset` included."""
    from trytond.modules.spp_demo.users import (
        DEMO_USERS, new_password, read_passwords)
    path = VAR / 'demo_users'
    previous = read_passwords(path) if path.is_file() else {}
    passwords = {login: previous.get(login) or new_password()
        for login, *_ in DEMO_USERS}
    changed = passwords != previous
    if changed:
        # Created with the right mode: never world-readable, not even
        # briefly.
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as file:
            file.writelines(f'{login} {password}\n'
                for login, password in passwords.items())
    os.chmod(path, 0o600)
    users = [(login, name, passwords[login])
        for login, name, *_ in DEMO_USERS]
    return users, path, changed


def banner(url, database, where, password, password_file, users,
        users_file):
    "What `make demo` prints once the database is ready."
    width = max(len(login) for login, _, _ in users)
    lines = '\n'.join(
        f"      {login:<{width}}  {user_password}   {name}"
        for login, name, user_password in users)
    return f"""
  SP-MIS demo is running at  {url}
      database  {database}   ({where})
      user      admin
      password  {password}   (kept in {password_file})

  Demo users, one per role (passwords kept in {users_file}):
{lines}

  Open the URL in a browser and log in. Press Ctrl-C to stop.
  Wipe the data and start over with:  make demo-reset
"""


def write_local_config(port):
    """Settings of this checkout, read after trytond.conf.

    Absolute paths, so the server does not depend on its working directory,
    the chosen port, and the demo country's currency as the default one.
    """
    local = VAR / 'demo.conf'
    local.write_text(
        "# Written by tools/demo.py on every run: do not edit.\n"
        "[database]\n"
        f"path = {VAR}\n"
        "[web]\n"
        f"listen = {HOST}:{port}\n"
        f"root = {SAO}\n"
        "[spp_programs]\n"
        "default_currency = PHP\n"
        "[spp_audit]\n"
        f"file = {VAR / 'audit.jsonl'}\n")
    return local


def main():
    os.chdir(ROOT)
    try:
        port = int(os.environ.get('SPP_PORT') or 8000)
    except ValueError:
        fail("SPP_PORT must be a port number, e.g. SPP_PORT=8001")
    database = os.environ.get('SPP_DATABASE') or 'spp'
    reset = os.environ.get('RESET', '') not in ('', '0')

    check_port_free(port)
    ensure_sao()
    VAR.mkdir(exist_ok=True)
    password, password_file, password_changed = admin_password()
    config_files = [ROOT / 'trytond.conf', write_local_config(port)]
    sppdb.configure(list(map(str, config_files)))

    config_files = list(map(str, config_files))
    users, users_file, users_changed = demo_users()
    try:
        state = sppdb.ensure(database, config_files,
            password_file=password_file, reset=reset, demo=True,
            users_file=users_file)
        if state != 'created' and password_changed:
            # SPP_ADMIN_PASSWORD changed, or var/admin_password was lost.
            print("Setting the admin password of the existing database ...")
            sppdb.set_admin_password(database, config_files, password_file)
        if state != 'created' and users_changed:
            # var/demo_users was lost, or the database predates the users.
            print("Setting the demo users' passwords ...")
            sppdb.set_demo_passwords(database, config_files, users_file)
    except sppdb.DatabaseError as exception:
        fail(f"{exception}\nThe database '{database}' is as it was before "
            "this run (a new one is never left half-made).")
    except KeyboardInterrupt:
        fail("interrupted; the database is as it was before this run.")

    backend = sppdb.backend_name()
    where = (sppdb.sqlite_file(database) if backend == 'sqlite'
        else f"PostgreSQL {sppdb.database_uri()}")
    url = f"http://{HOST}:{port}/"
    print(banner(url, database, where, password, password_file, users,
            users_file), flush=True)
    trytond = Path(sys.executable).parent / 'trytond'
    os.execv(str(trytond), [str(trytond),
            '-c', *config_files, '-d', database])


if __name__ == '__main__':
    main()
