"""PostgreSQL helpers the benchmarks share: the virtualenv's tools, a
connection to a database of the server, whether a database exists."""
import shutil
import sys
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
