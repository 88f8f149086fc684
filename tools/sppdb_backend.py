"""Where the databases of the tools are, and the operations on them, on
SQLite (files) or PostgreSQL (a server): exists, create, copy, rename,
drop. Used by sppdb.py (the command) and the tools that import it.

The backend follows trytond's configuration, read the way trytond reads it
(the environment, then the files given to `configure()`)."""
import os
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class DatabaseError(Exception):
    "A failure to report in one line, without a traceback."


def configure(config_files=()):
    """Read trytond configuration files on top of the environment.

    A relative `[database] path` is taken relative to the file that sets
    it: trytond.conf's `path = var` is the checkout's var/ wherever the
    tool is started from (trytond itself would open /var/<db>.sqlite)."""
    from trytond import config
    if config_files:
        config.update_etc(list(config_files))
        base = config_dir(config_files)
        path = config.get('database', 'path')
        if base and path and not Path(path).is_absolute():
            config.set('database', 'path', str((base / path).resolve()))


def config_dir(config_files):
    """The directory of the last configuration file that sets a relative
    `[database] path` (the one trytond uses), else None."""
    import configparser
    base = None
    for file in config_files:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(file)
        path = parser.get('database', 'path', fallback=None)
        if path:
            base = (None if Path(path).is_absolute()
                else Path(file).resolve().parent)
    return base


_PATH_FILES = {}


def trytond_config_files(config_files):
    """The configuration files for trytond's own processes (trytond-admin):
    the given ones and, when one sets a relative `[database] path`, a
    generated file after them with the absolute path. A file read later
    wins, and the environment loses to any file; trytond roots a relative
    SQLite path at / instead of its working directory."""
    files = [str(Path(file).resolve()) for file in config_files]
    if config_dir(config_files) is None:
        return files
    from trytond import config
    path = config.get('database', 'path')
    if path not in _PATH_FILES:
        import atexit
        import tempfile
        fd, name = tempfile.mkstemp(prefix='sppdb-path-', suffix='.conf')
        with os.fdopen(fd, 'w') as file:
            file.write(f'[database]\npath = {path}\n')
        atexit.register(Path(name).unlink, missing_ok=True)
        _PATH_FILES[path] = name
    return files + [_PATH_FILES[path]]


def database_uri():
    from trytond import config
    return config.get('database', 'uri')


def backend_name(uri=None):
    return urllib.parse.urlparse(uri or database_uri()).scheme.split('+')[0]


def sqlite_dir():
    from trytond import config
    return Path(config.get('database', 'path')).resolve()


def sqlite_file(name):
    return sqlite_dir() / f'{name}.sqlite'


def postgresql_conninfo(dbname='postgres', uri=None):
    "The server URI of the configuration pointed at one database."
    parts = urllib.parse.urlparse(uri or database_uri())
    return parts._replace(scheme='postgresql', path='/' + dbname).geturl()


def _pg_execute(sql, params=None, fetch=False, uri=None):
    import psycopg
    try:
        with psycopg.connect(
                postgresql_conninfo(uri=uri), autocommit=True,
                connect_timeout=10) as connection:
            cursor = connection.execute(sql, params)
            if fetch:
                return cursor.fetchall()
    except psycopg.OperationalError as exception:
        raise DatabaseError(
            f"cannot reach PostgreSQL at {database_uri()}: "
            f"{str(exception).strip()}") from exception


def _pg_identifier(name):
    from psycopg import sql
    return sql.Identifier(name)


def exists(name):
    if backend_name() == 'sqlite':
        return sqlite_file(name).is_file()
    rows = _pg_execute(
        'SELECT 1 FROM pg_database WHERE datname = %s', (name,), fetch=True)
    return bool(rows)


def create_empty(name):
    if backend_name() == 'sqlite':
        sqlite_dir().mkdir(parents=True, exist_ok=True)
        sqlite3.connect(sqlite_file(name)).close()
    else:
        from psycopg import sql
        _pg_execute(sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'unicode'")
            .format(_pg_identifier(name)))


def drop(name):
    "Drop the database NAME if it exists (closing its PostgreSQL sessions)."
    if backend_name() == 'sqlite':
        for suffix in ['', '-wal', '-shm', '-journal']:
            path = Path(f'{sqlite_file(name)}{suffix}')
            if path.exists():
                path.unlink()
    else:
        from psycopg import sql
        _pg_execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')
            .format(_pg_identifier(name)))
    _state_file(name, 'modules').unlink(missing_ok=True)
    _state_file(name, 'demo').unlink(missing_ok=True)


def drop_prefix(prefix):
    "Drop every database whose name starts with PREFIX; return their names."
    if backend_name() == 'sqlite':
        names = [path.name[:-len('.sqlite')]
            for path in sqlite_dir().glob(f'{prefix}*.sqlite')]
    else:
        rows = _pg_execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            (prefix,), fetch=True)
        names = [row[0] for row in rows]
    for name in names:
        drop(name)
    return names


def copy(source, target):
    "Create the database target as a copy of source (which nobody uses)."
    if backend_name() == 'sqlite':
        sqlite_dir().mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(sqlite_file(source)) as src, \
                sqlite3.connect(sqlite_file(target)) as dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        from psycopg import sql
        _pg_execute(sql.SQL(
                "CREATE DATABASE {} TEMPLATE {} ENCODING 'unicode'").format(
                _pg_identifier(target), _pg_identifier(source)))
    for kind in ['modules', 'demo']:
        state = _state_file(source, kind)
        if state.exists():
            shutil.copyfile(state, _state_file(target, kind))


def rename(old, new):
    if backend_name() == 'sqlite':
        os.replace(sqlite_file(old), sqlite_file(new))
    else:
        from psycopg import sql
        _pg_execute(sql.SQL('ALTER DATABASE {} RENAME TO {}').format(
                _pg_identifier(old), _pg_identifier(new)))
    for kind in ['modules', 'demo']:
        state = _state_file(old, kind)
        if state.exists():
            os.replace(state, _state_file(new, kind))


def _state_file(name, kind):
    """Where the tools remember what they did to a database.

    Kept beside the SQLite files, or for PostgreSQL in $SPP_STATE_DIR
    (default var/postgresql/), keyed by the server address.
    """
    if backend_name() == 'sqlite':
        return sqlite_dir() / f'{name}.sqlite.{kind}'
    server = urllib.parse.urlparse(database_uri()).netloc or 'local'
    server = server.rsplit('@', 1)[-1].replace(':', '_') or 'local'
    directory = Path(os.environ.get('SPP_STATE_DIR')
        or ROOT / 'var' / 'postgresql')
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f'{server}.{name}.{kind}'
