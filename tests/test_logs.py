"""No name and no ID number in any line a server logs (issue 18: D6, D7,
D11).

Through a real server, with logging at INFO (more than the ERROR of a
default start: the lines of every call, not only of failures), the test
creates an individual over the REST API, looks it up by its national ID
number (in the path, `/individuals/national_id|<number>`, in the query,
`?id=national_id|<number>`, and in the body of `POST /individuals/lookup`),
then calls JSON-RPC `party.party.create` with the same name and number:
once refused by a business rule (the number is taken: logged at INFO) and
once failing (a birth date that is the given name: logged at ERROR with its
traceback, whose message quotes the value).
Then no line of the server's output holds the family name, the given name
or the number, and the lines that prove the calls were logged are there,
masked.

- the demo's server: `trytond` (werkzeug's access log), as `make demo`
  runs it, on both backends;
- the production topology on PostgreSQL: tools/serve_postgresql.py with
  gunicorn's access log, trytond-worker and trytond-cron, whose start-up
  banner names the admin password's file and does not print the password.
"""
import re
import time

import pytest

from .server import (
    ServerError, is_postgresql, running_server, running_topology)
from .test_api_support import ALL_SCOPES, Api, national_id, quote

FAMILY = 'Quennevillex'
GIVEN = 'Ottolinda'
NUMBER = national_id(840517001)


def leave_traces(server):
    "The calls of the module docstring; returns nothing, fails on surprise."
    api = Api(server, server.login())
    api.make_client('logs', scopes=ALL_SCOPES, rate_limit=1000)

    created = api.post('/individuals', key='logs', json={
            'family_name': FAMILY, 'given_name': GIVEN,
            'birth_date': '1984-05-17',
            'identifiers': [{'type': 'national_id', 'value': NUMBER}]})
    assert created.status_code == 201, created.text
    handle = f'national_id|{NUMBER}'
    found = api.get('/individuals/' + quote(handle), key='logs')
    assert found.status_code == 200, found.text
    assert found.json()['family_name'] == FAMILY
    # As a careless client sends it: the bar unquoted.
    assert api.get('/individuals/' + handle, key='logs').status_code == 200
    listed = api.get('/individuals', key='logs', params={'id': handle})
    assert [i['given_name'] for i in listed.json()['data']] == [GIVEN]
    looked_up = api.post('/individuals/lookup', key='logs',
        json={'type': 'national_id', 'value': NUMBER})
    assert looked_up.status_code == 200, looked_up.text

    party = {'name': f'{FAMILY}, {GIVEN}', 'family_name': FAMILY,
        'given_name': GIVEN,
        'identifiers': [['create', [
                    {'type': 'national_id', 'code': NUMBER}]]]}
    with pytest.raises(ServerError, match='UserError'):
        api.rpc('model.party.party.create', [party])
    with pytest.raises(ServerError, match=GIVEN):
        api.rpc('model.party.party.create', [{**party, 'birth_date': GIVEN}])


def check_log(text):
    "No personal data in text; the masked traces of leave_traces() in it."
    for secret in [FAMILY, GIVEN, NUMBER]:
        lines = [line for line in text.splitlines() if secret in line]
        assert not lines, f"{secret!r} logged:\n" + '\n'.join(lines[:10])
    assert re.search(r'GET /\w+/api/v1/individuals/\* ', text), text[-3000:]
    assert re.search(r'GET /\w+/api/v1/individuals\?id=\* ', text)
    assert re.search(r'POST /\w+/api/v1/individuals/lookup ', text)
    assert re.search(r'ERROR trytond\.protocols\.dispatcher '
        r'party\.party\.create\(\*\) from admin@127\.0\.0\.1', text)
    assert 'ValueError: (message withheld from the log)' in text


def read_log(server, settle=1.0):
    time.sleep(settle)  # the access line is written after the answer
    return server.log_path.read_text(errors='replace')


def test_demo_server_logs(fresh_database, monkeypatch):
    "The demo's server (werkzeug) logs calls and lookups without their data"
    monkeypatch.setenv('TRYTOND_LOGGING_LEVEL', '20')
    with running_server(fresh_database) as server:
        leave_traces(server)
        check_log(read_log(server))


@pytest.mark.skipif(not is_postgresql(),
    reason="PostgreSQL only (the topology's trytond-worker needs it)")
def test_topology_logs(fresh_database, monkeypatch):
    """gunicorn, trytond-worker and trytond-cron log without the data, and
    the start-up banner names the password file, not the password"""
    monkeypatch.setenv('TRYTOND_LOGGING_LEVEL', '20')
    database = fresh_database
    with running_topology(database, workers=2) as server:
        deadline = time.monotonic() + 60
        while 'is running at' not in (banner := server.log_tail(20_000)):
            assert time.monotonic() < deadline, banner
            time.sleep(0.5)
        assert database.password not in banner
        assert str(database.workdir / 'admin_password') in banner
        leave_traces(server)
        check_log(read_log(server))
