"""The audit trail of the API on a live trytond (issue 20): each REST or DCI
call that answers registrants is one access entry naming the API client
and the request id the caller got back (X-Request-Id); the changes a call
makes carry the same; issuing and revoking keys is recorded."""
import json
import time
import urllib.parse

import pytest

from .server import running_server, shared_lock, template_key
from .test_api_dci import envelope
from .test_api_dci_async import Receiver
from .test_api_support import Api, household_body, national_id


@pytest.fixture(scope='module')
def api(template_database):
    "The all-addons database (spp_audit with spp_api) behind the API."
    with shared_lock(template_key()):
        database = template_database.copy('audit_api')
    receiver = Receiver()
    try:
        with running_server(database) as server:
            api = Api(server, server.login())
            api.make_areas()
            api.make_client('full')
            api.rpc('model.spp.dci.sender.create', [{
                        'sender_id': 'audit.example', 'name': "Audit",
                        'client': api.clients['full'],
                        'callback_url': receiver.url}])
            api.receiver = receiver
            yield api
    finally:
        receiver.stop()
        database.drop()


FIELDS = ['id', 'action', 'model', 'record_id', 'records', 'count', 'channel',
    'api_client', 'request_id', 'query', 'changes', 'user']


def entries(api, *domain):
    "The audit entries matching domain, oldest first (admin is an auditor)."
    return api.rpc('model.spp.audit.log.search_read', list(domain), 0, None,
        [('position', 'ASC')], FIELDS)


def of_request(api, response):
    request_id = response.headers['X-Request-Id']
    return entries(api, ('request_id', '=', request_id))


def party_ids(api, codes):
    found = api.rpc('model.party.party.search_read',
        [('code', 'in', list(codes))], 0, None, None, ['code'])
    return {p['code']: p['id'] for p in found}


def records(entry):
    return [int(i) for i in (entry['records'] or '').split(',') if i]


def household(api, name, seed, **kwargs):
    response = api.post('/groups', json=household_body(name, seed, **kwargs))
    assert response.status_code == 201, response.text
    return response


def test_lookup_is_one_access_entry(api):
    "A lookup by ID: one access entry, the person, the client, the request"
    household(api, "Lookup", 30000, size=1)
    response = api.post('/individuals/lookup',
        json={'type': 'national_id', 'value': national_id(30000)})
    assert response.status_code == 200, response.text
    person = party_ids(api, [response.json()['code']])[
        response.json()['code']]

    entry, = of_request(api, response)
    assert (entry['action'], entry['model'], entry['record_id']) == (
        'access', 'party.party', person)
    assert entry['channel'] == 'rest'
    assert entry['api_client'] == api.clients['full']
    assert entry['count'] == 1
    query = json.loads(entry['query'])
    assert query['endpoint'] == 'POST /individuals/lookup'
    assert query['params']['value'] == national_id(30000)
    # The same request id as the API's own call log.
    call, = api.rpc('model.spp.api.log.search_read',
        [('request_id', '=', response.headers['X-Request-Id'])], 0, None,
        None, ['client', 'endpoint'])
    assert call['client'] == api.clients['full']


def test_list_is_one_entry_with_every_id(api):
    "A page of individuals: one entry with all their ids and the count"
    household(api, "Listed", 31000, area='TL-S', size=3)
    response = api.get('/individuals', params={'area': 'TL-S'})
    assert response.status_code == 200, response.text
    codes = [i['code'] for i in response.json()['data']]
    assert len(codes) == 3

    entry, = of_request(api, response)
    assert entry['model'] == 'party.party' and entry['channel'] == 'rest'
    assert sorted(records(entry)) == sorted(party_ids(api, codes).values())
    assert entry['count'] == 3 and entry['record_id'] is None
    query = json.loads(entry['query'])
    assert query['endpoint'] == 'GET /individuals'
    assert query['params']['area'] == 'TL-S'


def test_group_answer_names_its_members(api):
    "A household read shows its members' names: they are in the entry too"
    group = household(api, "Members", 32000, size=2).json()
    response = api.get('/groups/' + urllib.parse.quote(group['code']))
    assert response.status_code == 200, response.text
    ids = party_ids(api,
        [group['code']] + [m['individual'] for m in group['members']])

    entry, = of_request(api, response)
    assert entry['model'] == 'party.party'
    assert sorted(records(entry)) == sorted(ids.values())


def test_identifier_list_records_identifiers(api):
    "A list of ID documents is recorded as access to those identifiers"
    group = household(api, "Ids", 33000, size=1).json()
    person = group['members'][0]['individual']
    response = api.get('/identifiers', params={'registrant': person})
    assert response.status_code == 200, response.text
    identifier, = api.rpc('model.party.identifier.search',
        [('party', '=', party_ids(api, [person])[person])], 0, None, None)

    entry, = of_request(api, response)
    assert (entry['model'], entry['record_id']) == (
        'party.identifier', identifier)


def test_failed_call_records_no_access(api):
    "A handle that matches nothing answers 404 and nobody was seen"
    response = api.get('/individuals/' + urllib.parse.quote(
            f'national_id|{national_id(34999)}'))
    assert response.status_code == 404
    assert of_request(api, response) == []


def test_dci_search_is_one_entry(api):
    "A DCI search of two IDs: one entry, channel dci, the query kept"
    household(api, "Dci", 35000, size=1)
    body = envelope(('national_id', national_id(35000)),
        ('national_id', national_id(35999)))
    response = api.post('/registry/sync/search', json=body)
    assert response.status_code == 200, response.text
    found = response.json()['message']['search_response'][0]
    code = found['data']['reg_records'][0]['@id']

    entry, = of_request(api, response)
    assert (entry['model'], entry['channel'], entry['api_client']) == (
        'party.party', 'dci', api.clients['full'])
    assert entry['record_id'] == party_ids(api, [code])[code]
    query = json.loads(entry['query'])
    assert query['endpoint'] == 'POST /registry/sync/search'
    assert [q['query']['value'] for q in query['search']] == [
        national_id(35000), national_id(35999)]


def test_async_dci_answer_is_recorded_with_the_ack_request(api):
    "The queued on-search answer is one entry under the ACK's request id"
    household(api, "Async", 36000, size=1)
    body = envelope(('national_id', national_id(36000)))
    body['header']['sender_id'] = 'audit.example'
    response = api.post('/registry/search', json=body)
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 30
    while not api.receiver.calls and time.monotonic() < deadline:
        time.sleep(0.2)
    _, callback = api.receiver.calls[-1]
    code = callback['message']['search_response'][0]['data'][
        'reg_records'][0]['@id']

    access = [e for e in of_request(api, response)
        if e['action'] == 'access']
    entry, = access
    assert (entry['model'], entry['channel'], entry['api_client']) == (
        'party.party', 'dci', api.clients['full'])
    assert entry['record_id'] == party_ids(api, [code])[code]
    assert json.loads(entry['query'])['endpoint'] == 'POST /registry/search'


def test_changes_carry_channel_client_and_request(api):
    "A household created and a person updated over REST: who, how, which call"
    created = household(api, "Changed", 37000, size=1)
    group = created.json()
    person = group['members'][0]['individual']
    ids = party_ids(api, [group['code'], person])
    creations = [e for e in of_request(api, created)
        if e['action'] == 'create' and e['model'] == 'party.party']
    assert {e['record_id'] for e in creations} == set(ids.values())

    response = api.patch('/individuals/' + urllib.parse.quote(person),
        json={'occupation': "Fisher"})
    assert response.status_code == 200, response.text
    write, = [e for e in of_request(api, response)
        if e['action'] == 'write' and e['model'] == 'party.party']
    assert write['record_id'] == ids[person]
    assert (write['channel'], write['api_client']) == (
        'rest', api.clients['full'])
    assert json.loads(write['changes'])['occupation'] == [None, "Fisher"]
    for entry in creations + [write]:
        assert entry['channel'] == 'rest'
        assert entry['api_client'] == api.clients['full']


def test_keys_issued_and_revoked_are_recorded(api):
    "Issuing a key, changing scopes and revoking: entries without the key"
    client = api.make_client('audited', scopes=['individual:read'])
    key = api.keys['audited']
    about = ('model', '=', 'spp.api.client'), ('record_id', '=', client)
    issued, = entries(api, *about, ('action', '=', 'issue_key'))
    assert issued['channel'] == 'rpc'
    created, = entries(api, *about, ('action', '=', 'create'))
    assert json.loads(created['changes'])['scopes'] == [
        None, ['individual:read']]

    api.rpc('model.spp.api.client.write', [client],
        {'scopes': ['individual:read', 'group:read']})
    api.rpc('model.spp.api.client.revoke', [client])
    revoked, = entries(api, *about, ('action', '=', 'revoke'))
    changes = [json.loads(e['changes']) for e in entries(api, *about,
            ('action', '=', 'write'))]
    assert [sorted(c['scopes'][1]) for c in changes if 'scopes' in c] == [
        ['group:read', 'individual:read']]
    revocation, = [c['revoked'] for c in changes if 'revoked' in c]
    assert revocation[0] is None and revocation[1]
    assert revoked['channel'] == 'rpc'
    assert any('key_issued' in c for c in changes)
    text = json.dumps(entries(api, *about))
    assert key not in text and 'key_hash' not in text


def test_entry_links_to_its_client(api):
    "An administrator sees an entry's API client by name and filters on it"
    response = api.get('/individuals', params={'area': 'TL-N-A'})
    assert response.status_code == 200, response.text
    entry, = of_request(api, response)
    read, = api.rpc('model.spp.audit.log.read', [entry['id']],
        ['client', 'client.rec_name'])
    assert read['client'] == api.clients['full']
    assert read['client.']['rec_name'] == 'full'
    by_name = api.rpc('model.spp.audit.log.search',
        [('client', 'ilike', 'full'), ('id', '=', entry['id'])], 0, None,
        None)
    assert by_name == [entry['id']]
    form = api.rpc('model.spp.audit.log.fields_view_get', None, 'form')
    assert 'client' in form['fields']


def test_dci_sender_changes_are_recorded(api):
    "Where asynchronous answers go is audited: a sender's callback URL"
    sender, = api.rpc('model.spp.dci.sender.search',
        [('sender_id', '=', 'audit.example')], 0, None, None)
    api.rpc('model.spp.dci.sender.write', [sender],
        {'callback_url': api.receiver.url + 'v2/'})
    write, = entries(api, ('model', '=', 'spp.dci.sender'),
        ('record_id', '=', sender), ('action', '=', 'write'))
    assert json.loads(write['changes'])['callback_url'] == [
        api.receiver.url, api.receiver.url + 'v2/']
    api.rpc('model.spp.dci.sender.write', [sender],
        {'callback_url': api.receiver.url})
