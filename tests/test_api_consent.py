"""Purpose-bound sharing (spp_consent) over the REST and DCI APIs of a live
server: a registrant whose consent does not cover the client's purpose and
organisation is answered exactly as one that does not exist; a client on
another lawful basis sees everyone; a non-identifying client gets no names
nor IDs and may not search by them."""
import pytest

from .server import TestDatabase, running_server
from .test_api_dci import envelope, validate_response
from .test_api_dci_query import expression
from .test_api_dci_query import envelope as query_envelope
from .test_api_support import (
    ALL_SCOPES, Api, household_body, national_id, quote)

MODULES = ['spp_api', 'spp_consent']
BASES = ['contract', 'legal_obligation', 'vital_interest', 'public_task',
    'legitimate_interest']


def by_code(api, model, code):
    ids = api.rpc(f'model.{model}.search', [['code', '=', code]])
    assert len(ids) == 1, (model, code)
    return ids[0]


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    "A server with spp_consent, and clients of one purpose (REFERRAL)."
    database = TestDatabase.create(tmp_path_factory.mktemp('spp-api-cst'),
        'apicst', modules=MODULES, uri=backend_uri)
    context = running_server(database)
    server = context.__enter__()
    api = Api(server, server.login())
    api.make_areas()
    create = 'model.spp.consent.recipient.create'
    insurer_type = by_code(api, 'spp.consent.recipient_type',
        'HEALTH_INSURER')
    api.recipients = dict(zip(['INSURER', 'CLINIC', 'STATS'], api.rpc(create, [
                {'code': 'INSURER', 'name': "Insurer", 'type': insurer_type},
                {'code': 'CLINIC', 'name': "Clinic", 'type': by_code(api,
                        'spp.consent.recipient_type', 'HUMANITARIAN')},
                {'code': 'STATS', 'name': "Statistics Office", 'type': by_code(
                        api, 'spp.consent.recipient_type', 'STATISTICS')},
                ])))
    api.purpose = by_code(api, 'spp.consent.purpose', 'REFERRAL')

    def client(name, organisation='INSURER', basis='consent', **values):
        return api.make_client(name, scopes=ALL_SCOPES,
            organisation=api.recipients[organisation], purpose=api.purpose,
            lawful_basis=basis, lawful_basis_reason=(
                None if basis == 'consent' else f"Recorded: {basis}"),
            **values)
    client('writer', basis='public_task')
    client('insurer')
    client('clinic', organisation='CLINIC')
    for basis in BASES:
        client(basis, organisation='CLINIC', basis=basis)
    client('stats', organisation='STATS', basis='public_task',
        data_access='non_identifying')
    yield api
    context.__exit__(None, None, None)
    database.drop()


def create_household(api, name, seed, size=2):
    response = api.post('/groups', json=household_body(name, seed,
            size=size), key='writer')
    assert response.status_code == 201, response.text
    return response.json()


def party_id(api, code):
    ids = api.rpc('model.party.party.search', [['code', '=', code]])
    return ids[0]


def give_consent(api, code, recipients=(), types=('HEALTH_INSURER',)):
    "A consent of `code` for the client's purpose, given; its id."
    category = by_code(api, 'spp.consent.data_category', 'IDENTIFYING')
    consent, = api.rpc('model.spp.consent.create', [{
                'registrant': party_id(api, code), 'purpose': api.purpose,
                'data_categories': [['add', [category]]],
                'recipients': [['add', [api.recipients[r]
                            for r in recipients]]],
                'recipient_types': [['add', [by_code(api,
                                'spp.consent.recipient_type', t)
                            for t in types]]],
                'collection_method': 'signed_form'}])
    api.rpc('model.spp.consent.give', [consent])
    return consent


@pytest.fixture(scope='module')
def households(api):
    """"Covered": the household and its head consent (for health
    insurers); "Hidden": no consent; "Named": for the clinic by name."""
    covered = create_household(api, "Covered", 9000)
    hidden = create_household(api, "Hidden", 9100)
    named = create_household(api, "Named", 9200, size=1)
    give_consent(api, covered['code'])
    head = give_consent(api, covered['members'][0]['individual'])
    give_consent(api, named['members'][0]['individual'], recipients=[
            'CLINIC'], types=[])
    return {'covered': covered, 'hidden': hidden, 'named': named,
        'head_consent': head}


def same_answer(hidden, missing):
    "The same status and body but for the request id."
    assert hidden.status_code == missing.status_code, (hidden.text,
        missing.text)

    def strip(response):
        body = response.json()
        if isinstance(body.get('error'), dict):
            body['error'].pop('request_id', None)
        return body
    assert strip(hidden) == strip(missing)


def codes(api, path, key, **params):
    "Every code listed at `path`, page by page (one per page)."
    result = []
    params = {'limit': 1, **params}
    while True:
        response = api.get(path, key=key, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        result += [r['code'] for r in body['data']]
        if not body['next_cursor']:
            return result
        params['cursor'] = body['next_cursor']


# -- REST ------------------------------------------------------------------

def test_rest_hidden_as_missing(api, households):
    "REST: a registrant without consent answers exactly as a missing one"
    head = households['covered']['members'][0]['individual']
    hidden = households['hidden']['members'][0]['individual']
    key = 'insurer'
    response = api.get(f'/individuals/{quote(head)}', key=key)
    assert response.status_code == 200, response.text
    assert response.json()['code'] == head
    # The second member has no consent of its own.
    other = households['covered']['members'][1]['individual']
    for code in [hidden, other]:
        same_answer(api.get(f'/individuals/{quote(code)}', key=key),
            api.get('/individuals/IND-NOPE', key=key))
    same_answer(api.get(f'/groups/{quote(households["hidden"]["code"])}',
            key=key), api.get('/groups/GRP-NOPE', key=key))
    assert api.get(f'/groups/{quote(households["covered"]["code"])}',
        key=key).status_code == 200

    # By ID: in the path, in a lookup's body, as a filter.
    for seed, status in [(9000, 200), (9100, 404), (9001, 404)]:
        handle = quote(f'national_id|{national_id(seed)}')
        by_path = api.get(f'/individuals/{handle}', key=key)
        assert by_path.status_code == status
        lookup = api.post('/individuals/lookup', key=key, json={
                'type': 'national_id', 'value': national_id(seed)})
        listed = api.get('/individuals', key=key,
            params={'id': f'national_id|{national_id(seed)}'})
        assert len(listed.json()['data']) == (status == 200)
        if status == 404:
            missing = quote(f'national_id|{national_id(9999)}')
            same_answer(by_path, api.get(f'/individuals/{missing}', key=key))
            same_answer(lookup, api.post('/individuals/lookup', key=key,
                    json={'type': 'national_id',
                        'value': national_id(9999)}))
            same_answer(listed, api.get('/individuals', key=key,
                    params={'id': f'national_id|{national_id(9999)}'}))

    # Lists, page by page: what is not covered is not counted either.
    assert codes(api, '/individuals', key) == [head]
    assert codes(api, '/groups', key) == [households['covered']['code']]
    for path, params in [('/memberships', {'group': households['hidden'][
                    'code']}), ('/identifiers', {'registrant': hidden})]:
        same_answer(api.get(path, key=key, params=params),
            api.get(path, key=key, params={next(iter(params)): 'NOPE'}))
    identifiers = api.get('/identifiers', key=key).json()['data']
    assert {i['registrant'] for i in identifiers} == {head}


def test_recipient_named_or_typed(api, households):
    "A consent naming the clinic covers it, not the insurer; and back"
    named = households['named']['members'][0]['individual']
    head = households['covered']['members'][0]['individual']
    assert codes(api, '/individuals', 'clinic') == [named]
    assert named not in codes(api, '/individuals', 'insurer')
    assert api.get(f'/individuals/{quote(head)}',
        key='clinic').status_code == 404


def test_lawful_bases(api, households):
    "A client on a recorded lawful basis sees every registrant"
    everyone = {m['individual'] for h in ['covered', 'hidden', 'named']
        for m in households[h]['members']}
    for basis in BASES:
        assert everyone <= set(codes(api, '/individuals', basis)), basis
        hidden = households['hidden']['members'][1]['individual']
        assert api.get(f'/individuals/{quote(hidden)}',
            key=basis).status_code == 200


# -- DCI -------------------------------------------------------------------

def dci(api, body, key):
    response = api.post('/registry/sync/search', json=body, key=key)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate_response(answer)
    return answer['message']['search_response']


def test_dci_hidden_as_missing(api, households):
    "DCI: idtype-value and expression searches, totals without the hidden"
    covered, hidden, missing = dci(api, envelope(
            ('UIN', national_id(9000)), ('UIN', national_id(9100)),
            ('UIN', national_id(9999))), 'insurer')
    assert [r['@id'] for r in covered['data']['reg_records']] == [
        households['covered']['members'][0]['individual']]
    assert covered['pagination']['total_count'] == 1
    for item in [hidden, missing]:
        item.pop('timestamp')
        item.pop('reference_id')
    assert hidden == missing
    assert hidden['pagination']['total_count'] == 0

    group, = dci(api, envelope(('UIN', national_id(9000)), entity='Group'),
        'insurer')
    assert [r['@id'] for r in group['data']['reg_records']] == [
        households['covered']['code']]

    query = expression({'family_name': {'$in': ['Covered', 'Hidden']}},
        pagination={'page_size': 1, 'page_number': 1})
    item, = dci(api, query_envelope(query), 'insurer')
    assert item['pagination']['total_count'] == 1
    assert [r['@id'] for r in item['data']['reg_records']] == [
        households['covered']['members'][0]['individual']]
    item, = dci(api, query_envelope(query), 'public_task')
    assert item['pagination']['total_count'] == 4


def test_withdrawn_consent(api, households):
    "A withdrawn consent hides the registrant at once, REST and DCI"
    head = households['covered']['members'][0]['individual']
    api.rpc('model.spp.consent.withdraw', [households['head_consent']])
    same_answer(api.get(f'/individuals/{quote(head)}', key='insurer'),
        api.get('/individuals/IND-NOPE', key='insurer'))
    assert codes(api, '/individuals', 'insurer') == []
    item, = dci(api, envelope(('UIN', national_id(9000))), 'insurer')
    assert item['data']['reg_records'] == []
    assert item['pagination']['total_count'] == 0
    # The household's own consent still covers it, with its members.
    group = api.get(f'/groups/{quote(households["covered"]["code"])}',
        key='insurer')
    assert group.status_code == 200


# -- non-identifying -----------------------------------------------------

def test_non_identifying(api, households):
    "A non-identifying client: no names, IDs, phones; no search by them"
    head = households['covered']['members'][0]['individual']
    individual = api.get(f'/individuals/{quote(head)}', key='stats').json()
    assert individual['code'] == head
    assert (individual['name'], individual['family_name'],
        individual['given_name'], individual['birth_date'],
        individual['identifiers']) == ('', None, None, None, [])
    assert individual['gender'] == 'male' and individual['area'] == 'TL-N-A'
    group = api.get(f'/groups/{quote(households["covered"]["code"])}',
        key='stats').json()
    assert group['name'] == '' and group['identifiers'] == []
    assert {m['name'] for m in group['members']} == {''}
    assert group['member_count'] == 2
    listed = api.get('/individuals', key='stats').json()['data']
    assert listed and {i['given_name'] for i in listed} == {None}

    handle = quote(f'national_id|{national_id(9000)}')
    for response in [api.get(f'/individuals/{handle}', key='stats'),
            api.post('/individuals/lookup', key='stats', json={
                    'type': 'national_id', 'value': national_id(9000)}),
            api.get('/individuals', key='stats', params={
                    'id': f'national_id|{national_id(9000)}'}),
            api.get('/identifiers', key='stats')]:
        assert response.status_code == 403, response.text
        error = response.json()['error']
        assert error['code'] == 'forbidden_search'
        assert 'non-identifying' in error['message']

    by_id, by_name, by_area = dci(api, query_envelope(
            {'query_type': 'idtype-value', 'query': {'type': 'UIN',
                    'value': national_id(9000)}},
            expression({'given_name': {'$eq': "Member 0"}}),
            expression({'area': {'$eq': 'TL-N-A'}})), 'stats')
    for item in [by_id, by_name]:
        assert item['status'] == 'rjct'
        assert 'non-identifying' in item['status_reason_message']
    assert by_area['status'] == 'succ'
    records = by_area['data']['reg_records']
    assert head in {r['@id'] for r in records}
    for record in records:
        person = record['demographic_info']
        assert not {'name', 'birth_date', 'phone_number'} & person.keys()
        assert record['member_identifier'] == person['identifier'] == []
