"""PostgreSQL helpers the benchmarks share: the virtualenv's tools, a
connection to a database of the server, whether a database exists, a new
database with addons activated."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def executable(name):
    "A tool of the virtualenv (trytond-admin...), else of the PATH."
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def connect(uri, database, **kwargs):
    import psycopg
    return psycopg.connect(uri.rstrip('/') + '/' + database, **kwargs)


def database_exists(uri, name):
    with connect(uri, 'postgres') as connection:
        return bool(connection.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (name,)).fetchone())


def create_database(uri, name, modules):
    """A new database `name` (dropped first when it exists) with `modules`
    and what they depend on activated; the admin password is 'admin'."""
    with connect(uri, 'postgres', autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        subprocess.run([executable('trytond-admin'), '-d', name,
                '-u', *modules, '--activate-dependencies',
                '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)
