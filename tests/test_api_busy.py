"""A busy database (locked by another connection beyond what trytond
waits): the REST API and the DCI endpoints answer 503 with Retry-After,
each in its own error shape, never a 500; once it is free they answer
again."""
import contextlib
import sqlite3

import pytest

from .server import is_postgresql
from .test_api_dci import envelope, search
from .test_api_support import national_id, start_api


def seed(database):
    "On PostgreSQL, a lock wait ends after 1 s (as a busy server's would)."
    if is_postgresql(database.uri):
        import psycopg
        with psycopg.connect(database.conninfo, autocommit=True) as db:
            db.execute(
                f'ALTER DATABASE "{database.name}" SET lock_timeout = 1000')


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    # No retries: the first failed wait is the answer (trytond's default,
    # five retries, only makes the test slower).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('TRYTOND_DATABASE__RETRY', '0')
        api, stop = start_api(tmp_path_factory.mktemp('spp-api-busy'),
            'apibusy', backend_uri, seed=seed)
    yield api
    stop()


@contextlib.contextmanager
def database_locked(database):
    """The database held by another connection: on PostgreSQL the call
    log (every call writes it), on SQLite the whole file."""
    if is_postgresql(database.uri):
        import psycopg
        with psycopg.connect(database.conninfo) as db:
            db.execute('LOCK TABLE spp_api_log IN ACCESS EXCLUSIVE MODE')
            try:
                yield
            finally:
                db.rollback()
    else:
        db = sqlite3.connect(database.path / f'{database.name}.sqlite',
            isolation_level=None)
        db.execute('BEGIN EXCLUSIVE')
        try:
            yield
        finally:
            db.rollback()
            db.close()


def test_busy_database(api):
    "DCI and REST answer 503 with Retry-After while the database is held"
    body = envelope(('national_id', national_id(9600)))
    assert search(api, body).status_code == 200
    with database_locked(api.server.database):
        dci = search(api, envelope(('national_id', national_id(9600))))
        rest = api.get('/areas')
    assert dci.status_code == 503, dci.text
    error = {'code': 'err.service.unavailable',
        'message': "Busy, retry later."}
    assert dci.json() == {'errors': [error], 'error': error}
    assert dci.headers['Retry-After'] == '1'
    assert dci.headers['X-Request-Id']
    assert rest.status_code == 503, rest.text
    assert rest.json()['error']['code'] == 'unavailable'
    assert rest.headers['Retry-After'] == '1'
    answer = search(api, envelope(('national_id', national_id(9600))))
    assert answer.status_code == 200, answer.text
    assert api.get('/areas').status_code == 200
