"""Lookups by ID number: `POST /individuals/lookup` and `/groups/lookup`
keep the number out of URLs (and so out of access logs), with the access
rules of `GET /individuals/{type|value}`; refusals of an ID number as
already registered, which tell a client restricted to areas that the
number exists elsewhere, are rate limited per client."""
import time

from .test_api_rest import create_household, error_of
from .test_api_support import api, national_id, quote  # noqa: F401

# The server's default: [spp_api] unique_refusal_limit per
# unique_refusal_period seconds.
REFUSALS = 10


def lookup(api, number, kind='individuals', key='full',
        id_type='national_id'):
    return api.post(f'/{kind}/lookup', key=key,
        json={'type': id_type, 'value': number})


def test_lookup_individual(api):
    "The individual holding an ID, found with the number in the body"
    create_household(api, "Lookup", 9500, size=2)
    number = national_id(9501)
    response = lookup(api, number)
    assert response.status_code == 200, response.text
    found = response.json()
    # Read back by its code: the GET form would put the number in the
    # server's access log, which is checked below.
    assert found == api.get(f'/individuals/{quote(found["code"])}').json()
    assert found['given_name'] == "Member 1"
    # Typed with a space, compared compact, as the GET form.
    assert lookup(api, number[:4] + ' ' + number[4:]).json() == found
    # Scope individual:read is enough; the number is not in the log.
    assert lookup(api, number, key='reader').status_code == 200
    request_id = lookup(api, number).headers['X-Request-Id']
    time.sleep(0.2)
    log, = api.rpc('model.spp.api.log.search_read',
        [('request_id', '=', request_id)], 0, None, None,
        ['endpoint', 'status'])
    assert (log['endpoint'], log['status']) == ('/individuals/lookup', 200)
    assert number not in api.server.log_path.read_text(errors='replace')


def test_lookup_refusals(api):
    "Missing and hidden answer the same 404; bad bodies 422"
    create_household(api, "LookupSouth", 9510, area='TL-S', size=1)
    hidden = error_of(lookup(api, national_id(9510), key='north_a'), 404)
    missing = error_of(lookup(api, national_id(9599), key='north_a'), 404)
    assert (hidden['code'], hidden['message']) == (
        missing['code'], missing['message'])
    assert lookup(api, national_id(9510)).status_code == 200
    # A group's ID does not name an individual, an individual's no group.
    error_of(lookup(api, national_id(9510), kind='groups'), 404)
    for body, word in [
            ({'type': 'national_id'}, 'value'),
            ({'type': 'national_id', 'value': "1' OR '1'='1"}, 'value'),
            ({'type': 'dna', 'value': '12345'}, 'dna'),
            ({'type': 'national_id', 'value': '1', 'area': 'TL'}, 'area'),
            ]:
        error = error_of(api.post('/individuals/lookup', json=body), 422,
            'validation_error')
        assert word in error['message'], (body, error)
    error_of(api.post('/groups/lookup', key='reader',
            json={'type': 'national_id', 'value': '1'}), 403,
        'forbidden_scope')
    error_of(api.get('/individuals/lookup'), 405, 'method_not_allowed')


def test_lookup_group(api):
    "A group holding an ID itself is found by POST /groups/lookup"
    response = api.post('/groups', json={
            'name': "Lookup group", 'area': 'TL-N-A',
            'identifiers': [{'type': 'social_security', 'value': '9520001'}],
            'members': [{'individual': {'family_name': "Lookup",
                        'given_name': "Group"}, 'roles': ['head']}]})
    assert response.status_code == 201, response.text
    group = response.json()
    found = lookup(api, '9520001', kind='groups', id_type='social_security')
    assert found.status_code == 200, found.text
    assert found.json() == group
    error_of(lookup(api, '9520001', kind='individuals',
            id_type='social_security'), 404)


def test_lookup_documented(api):
    "The lookups are in the OpenAPI document, 404 included"
    document = api.session.get(api.url('/openapi.json'), timeout=30).json()
    for kind in ['individuals', 'groups']:
        operation = document['paths'][f'/{kind}/lookup']['post']
        assert {'200', '404', '422'} <= set(operation['responses'])
        assert operation['requestBody']['content']['application/json'][
            'schema'] == {'$ref': '#/components/schemas/IdentifierValue'}


def individual(area, number):
    return {'family_name': "Probe", 'given_name': "Unique", 'area': area,
        'identifiers': [{'type': 'national_id', 'value': number}]}


def test_unique_refusals_rate_limited(api):
    "Past the limit of 'already registered' refusals, creations get 429"
    api.make_client('prober', areas=['TL-N-A'], rate_limit=0)
    api.make_client('bystander', areas=['TL-N-A'], rate_limit=0)
    create_household(api, "Elsewhere", 9530, area='TL-S', size=1)
    taken = national_id(9530)
    # Other refusals (an invalid number) do not count.
    for _ in range(REFUSALS + 2):
        error = error_of(api.post('/individuals', key='prober',
                json=individual('TL-N-A', '1234567890')), 422, 'rejected')
        assert 'already' not in error['message']
    for _ in range(REFUSALS):
        error = error_of(api.post('/individuals', key='prober',
                json=individual('TL-N-A', taken)), 422, 'rejected')
        assert 'already registered' in error['message']
    # Now every creation is refused alike, whatever number it holds: a
    # 429 that came only for taken numbers would be the same oracle.
    for number in [taken, national_id(9531)]:
        response = api.post('/individuals', key='prober',
            json=individual('TL-N-A', number))
        error = error_of(response, 429, 'rate_limited')
        assert 'already registered' in error['message']
        assert 1 <= int(response.headers['Retry-After']) <= 61
    household = {'name': "Probe household", 'area': 'TL-N-A', 'members': [
            {'individual': individual('TL-N-A', national_id(9532)),
                'roles': ['head']}]}
    error_of(api.post('/groups', key='prober', json=household), 429)
    assert api.get('/individuals', params={
            'id': f'national_id|{national_id(9531)}'}).json()['data'] == []
    # Reads go on; other clients are not affected.
    assert api.get('/individuals', key='prober').status_code == 200
    error = error_of(api.post('/individuals', key='bystander',
            json=individual('TL-N-A', taken)), 422, 'rejected')
    assert 'already registered' in error['message']
    assert api.post('/individuals', key='bystander', json=individual(
            'TL-N-A', national_id(9533))).status_code == 201
