"""Application keys and trytond's generic REST API (issue 18, D12).

Any user could make a validated, never-expiring key for itself
(`res.user.application.create([{'user': <self>, 'application': 'rest'}])`)
and read or write any model it may access through `/<db>/rest/`, outside
the scopes, rate limits and call log of the project's API (spp_api). Now
only administrators make keys, keys expire within a year, and the generic
REST API and its key requests (`/<db>/user/application/`) answer 404.
"""
import datetime as dt

import pytest
import requests

from .server import ServerError, running_server

LOGIN = 'plain_user'
PASSWORD = 'spp-test-Plain-2024'


def timestamp(value):
    "A JSON-RPC datetime."
    return {'__class__': 'datetime', 'year': value.year,
        'month': value.month, 'day': value.day, 'hour': value.hour,
        'minute': value.minute, 'second': value.second, 'microsecond': 0}


def from_rpc(value):
    return dt.datetime(value['year'], value['month'], value['day'],
        value['hour'], value['minute'], value['second'])


@pytest.fixture
def server(fresh_database):
    with running_server(fresh_database) as server:
        yield server


def test_application_keys(server):
    "A plain user makes no key; an administrator's expires; REST is 404"
    admin = server.login()

    def as_admin(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)
    user_id, = as_admin('res.user.create', [{
                'name': "Plain User", 'login': LOGIN, 'password': PASSWORD}])
    plain = server.login(LOGIN, PASSWORD)

    def as_plain(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=plain,
            login=LOGIN)

    with pytest.raises(ServerError, match='Only administrators'):
        as_plain('res.user.application.create',
            [{'user': user_id, 'application': 'rest'}])
    # trytond writes preferences without access checks.
    with pytest.raises(ServerError, match='Only administrators'):
        as_plain('res.user.set_preferences', {'applications': [
                    ['create', [{'application': 'rest'}]]]})
    assert as_admin('res.user.application.search',
        [('user', '=', user_id)]) == []

    now = dt.datetime.now()
    key_id, = as_admin('res.user.application.create',
        [{'user': user_id, 'application': 'rest'}])
    key, = as_admin('res.user.application.read', [key_id],
        ['key', 'state', 'expires'])
    assert key['state'] == 'validated'
    expires = from_rpc(key['expires'])
    assert now + dt.timedelta(days=29) < expires
    assert expires < now + dt.timedelta(days=31)
    with pytest.raises(ServerError, match='expires within'):
        as_admin('res.user.application.create', [{'user': user_id,
                    'application': 'rest',
                    'expires': timestamp(now + dt.timedelta(days=800))}])
    with pytest.raises(ServerError, match='Only administrators'):
        as_plain('res.user.application.write', [key_id],
            {'expires': timestamp(now + dt.timedelta(days=300))})
    # The user sees its own key (its preferences list them).
    assert [k['id'] for k in as_plain('res.user.application.search_read',
            [], 0, None, None, ['key'])] == [key_id]

    database = server.database.name
    response = requests.get(
        f'{server.url}{database}/rest/model/party.party', timeout=30,
        headers={'Authorization': f"Bearer {key['key']}"})
    assert response.status_code == 404, response.text
    response = requests.post(f'{server.url}{database}/user/application/',
        json={'user': LOGIN, 'application': 'rest'}, timeout=30)
    assert response.status_code == 404, response.text
    # The project's API and JSON-RPC are served as before.
    assert requests.get(f'{server.url}{database}/api/v1/openapi.json',
        timeout=30).status_code == 200
