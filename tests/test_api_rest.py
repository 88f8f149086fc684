"""The REST API against a live trytond: every endpoint and every error.

One server per module (tests/test_api_support.py); tests use their own
national ID seeds so they do not depend on one another's data."""
import base64
import datetime as dt
import time

from .test_api_support import api, household_body, national_id, quote  # noqa: F401


def error_of(response, status, code=None):
    assert response.status_code == status, (response.status_code,
        response.text)
    assert response.headers['Content-Type'].startswith('application/json')
    error = response.json()['error']
    assert error['message']
    if code:
        assert error['code'] == code, error
    assert response.headers['X-Request-Id'] == error['request_id']
    return error


def create_household(api, name, seed, **kwargs):
    response = api.post('/groups', json=household_body(name, seed, **kwargs))
    assert response.status_code == 201, response.text
    return response.json()


# -- authentication ----------------------------------------------------

def test_keys_refused(api):
    "Missing, invalid, expired and revoked keys answer 401"
    error_of(api.get('/individuals', key=None), 401, 'unauthorized')
    error_of(api.get('/individuals', key='spp_not-a-key'), 401)
    error_of(api.get('/individuals', key='garbage'), 401)
    error_of(api.get('/individuals', key='expired'), 401)
    error_of(api.get('/individuals', key='revoked'), 401)
    response = api.get('/individuals', key=None,
        headers={'Authorization': 'Basic Zm9vOmJhcg=='})
    error_of(response, 401)
    assert api.get('/individuals').status_code == 200


def test_scope_refused(api):
    "A key without the operation's scope answers 403"
    error_of(api.post('/groups', key='reader',
            json=household_body("Scope", 100)), 403, 'forbidden_scope')
    error_of(api.get('/groups', key='reader'), 403, 'forbidden_scope')
    assert api.get('/individuals', key='reader').status_code == 200


def test_rate_limit(api):
    "Past the client's requests per minute: 429 with Retry-After"
    statuses = [api.get('/areas', key='limited').status_code
        for _ in range(5)]
    assert statuses[:3] == [200, 200, 200], statuses
    assert statuses[3:] == [429, 429]
    response = api.get('/areas', key='limited')
    error_of(response, 429, 'rate_limited')
    assert 1 <= int(response.headers['Retry-After']) <= 61


# -- households and individuals ------------------------------------------

def test_create_household_and_get(api):
    "A household is created with its members in one call, then read back"
    group = create_household(api, "Santos", 1000)
    assert group['name'] == "Santos household"
    assert group['kind'] == 'household'
    assert group['area'] == 'TL-N-A'
    assert group['member_count'] == 3
    assert [m['roles'] for m in group['members']] == [
        ['head'], ['child'], ['child']]
    head = group['members'][0]
    assert head['name'] == "Santos, Member 0" or "Santos" in head['name']

    response = api.get(f'/groups/{quote(group["code"])}')
    assert response.status_code == 200
    assert response.json() == group

    individual = api.get(f'/individuals/{quote(head["individual"])}').json()
    assert individual['identifiers'] == [
        {'type': 'national_id', 'value': national_id(1000)}]
    assert individual['gender'] == 'male'
    assert individual['birth_date'] == '1960-03-01'
    by_id = api.get('/individuals/' + quote(f'national_id|{national_id(1000)}'))
    assert by_id.json() == individual
    # Typed with spaces, the number is the same (compared compact).
    spaced = national_id(1000)[:4] + ' ' + national_id(1000)[4:]
    by_id = api.get('/individuals/' + quote(f'national_id|{spaced}'))
    assert by_id.json() == individual

    listed = api.get('/individuals',
        params={'id': f'national_id|{national_id(1001)}'}).json()
    assert [i['given_name'] for i in listed['data']] == ["Member 1"]
    assert listed['next_cursor'] is None

    memberships = api.get('/memberships',
        params={'group': group['code']}).json()['data']
    assert len(memberships) == 3
    assert {m['group'] for m in memberships} == {group['code']}
    current = api.get('/memberships', params={
            'individual': head['individual'], 'current': 'true'}).json()
    assert [m['group'] for m in current['data']] == [group['code']]

    identifiers = api.get('/identifiers',
        params={'registrant': head['individual']}).json()['data']
    assert identifiers == [{'registrant': head['individual'],
            'registrant_type': 'individual', 'type': 'national_id',
            'value': national_id(1000)}]
    assert api.get('/identifiers', params={'type': 'national_id'}
        ).status_code == 200


def test_create_individual_and_update(api):
    "An individual is created, updated by its ID handle, validated"
    response = api.post('/individuals', json={
            'family_name': "Dias", 'given_name': "Rosa",
            'birth_date': '1950-01-02', 'gender': 'female', 'area': 'TL-S',
            'identifiers': [{'type': 'national_id',
                    'value': national_id(2000)}]})
    assert response.status_code == 201, response.text
    created = response.json()
    handle = quote(f'national_id|{national_id(2000)}')

    response = api.patch(f'/individuals/{handle}',
        json={'given_name': "Rosália", 'occupation': "Farmer"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated['given_name'] == "Rosália"
    assert "Rosália" in updated['name']
    assert updated['occupation'] == "Farmer"
    assert updated['code'] == created['code']

    # Wrong input changes nothing.
    error_of(api.patch(f'/individuals/{handle}',
            json={'given_name': "X", 'salary': 3}), 422, 'validation_error')
    error_of(api.patch(f'/individuals/{handle}',
            json={'birth_date': '2999-01-01'}), 422, 'rejected')
    error_of(api.patch(f'/individuals/{handle}', json={}), 422)
    error_of(api.patch(f'/individuals/{handle}', key='reader',
            json={'given_name': "X"}), 403)
    assert api.get(f'/individuals/{handle}').json()['given_name'] == (
        "Rosália")
    error_of(api.patch('/individuals/nope', json={'given_name': "X"}), 404)


def test_update_group(api):
    "A household's name, kind and area are updated by its handle, validated"
    group = create_household(api, "Patch", 2100, size=2)
    handle = group['code']
    response = api.patch(f'/groups/{handle}',
        json={'name': "  Patched household ", 'kind': 'family',
            'area': 'TL-N-B'})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated['name'], updated['kind'], updated['area']) == (
        "Patched household", 'family', 'TL-N-B')
    assert updated['code'] == handle
    assert updated['members'] == group['members']
    assert updated['modified'] >= group['modified']
    assert api.get(f'/groups/{handle}').json() == updated

    # Wrong input changes nothing, and says what is wrong.
    for body, code, word in [
            ({'name': "X", 'members': []}, 'validation_error', 'members'),
            ({'name': "   "}, 'validation_error', 'name'),
            ({'kind': 'tribe'}, 'validation_error', 'tribe'),
            ({'area': 'TL-NOPE'}, 'validation_error', 'TL-NOPE'),
            ({'area': 'TL-N-A', 'name': 7}, 'validation_error', 'name'),
            ({}, 'validation_error', 'nothing'),
            ]:
        error = error_of(api.patch(f'/groups/{handle}', json=body), 422,
            code)
        assert word in error['message'], (body, error)
    assert api.get(f'/groups/{handle}').json() == updated
    error_of(api.patch(f'/groups/{handle}', data='{"name": "x"}',
            headers={'Content-Type': 'text/plain'}), 415)

    # Scopes, handles and areas as for individuals.
    error_of(api.patch(f'/groups/{handle}', key='reader',
            json={'name': "X"}), 403, 'forbidden_scope')
    error_of(api.patch('/groups/nope', json={'name': "X"}), 404)
    member = quote(f'national_id|{national_id(2100)}')
    # An individual's ID does not name a group.
    error_of(api.patch(f'/groups/{member}', json={'name': "X"}), 404)
    error_of(api.patch(f'/groups/{handle}', key='north_a',
            json={'name': "X"}), 404, 'not_found')
    inside = create_household(api, "Inside", 2150, size=1)
    error_of(api.patch(f'/groups/{inside["code"]}', key='north_a',
            json={'area': 'TL-S'}), 403, 'forbidden_area')
    response = api.patch(f'/groups/{inside["code"]}', key='north_a',
        json={'name': "Renamed inside"})
    assert response.status_code == 200, response.text
    assert response.json()['area'] == 'TL-N-A'
    assert api.get(f'/groups/{handle}').json()['name'] == "Patched household"


def test_household_all_or_nothing(api):
    "An invalid member, a duplicate ID or two heads write nothing"
    body = household_body("Broken", 3000)
    body['members'][2]['individual']['identifiers'][0]['value'] = (
        '1234567890')  # fails the Luhn check
    error = error_of(api.post('/groups', json=body), 422, 'rejected')
    assert '1234567890' in error['message']

    create_household(api, "Taken", 3100, size=1)
    body = household_body("Duplicate", 3200)
    body['members'][1]['individual']['identifiers'][0]['value'] = (
        national_id(3100))
    error_of(api.post('/groups', json=body), 422, 'rejected')

    body = household_body("Two heads", 3300)
    body['members'][1]['roles'] = ['head']
    error_of(api.post('/groups', json=body), 422, 'rejected')

    for seed in [3000, 3001, 3200, 3300, 3301]:
        found = api.get('/individuals',
            params={'id': f'national_id|{national_id(seed)}'}).json()
        assert found['data'] == [], seed
    found = api.get('/groups').json()['data']
    assert not [g for g in found if g['name'] in {
            "Broken household", "Duplicate household",
            "Two heads household"}]


def test_bad_bodies(api):
    "Malformed JSON, wrong types, unknown fields, codes: 400/415/422"
    response = api.post('/groups', data='{"name": ',
        headers={'Content-Type': 'application/json'})
    error_of(response, 400, 'malformed_json')
    response = api.post('/groups', data='[' * 100000,
        headers={'Content-Type': 'application/json'})
    error_of(response, 400, 'malformed_json')
    error_of(api.post('/groups', data='name=x',
            headers={'Content-Type': 'application/x-www-form-urlencoded'}),
        415)
    error_of(api.post('/groups', json=[1, 2]), 422)
    body = household_body("Types", 4000)
    body['members'][0]['individual']['birth_date'] = 19800101
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Types", 4000)
    body['members'][0]['individual']['birth_date'] = '1980-02-30'
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Types", 4000)
    body['members'][0]['individual']['disability'] = 'yes'
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Unknown", 4000)
    body['is_admin'] = True
    error = error_of(api.post('/groups', json=body), 422)
    assert 'is_admin' in error['message']
    body = household_body("Gender", 4000)
    body['members'][0]['individual']['gender'] = 'unknown-gender'
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Role", 4000)
    body['members'][0]['roles'] = ['king']
    error_of(api.post('/groups', json=body), 422)
    body = household_body("IdType", 4000)
    body['members'][0]['individual']['identifiers'][0]['type'] = 'dna'
    error_of(api.post('/groups', json=body), 422)
    body = household_body("NoMembers", 4000)
    body['members'] = []
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Area", 4000, area='XX-NOWHERE')
    error_of(api.post('/groups', json=body), 422)
    body = household_body("Injection", 4000)
    body['members'][0]['individual']['identifiers'][0]['value'] = (
        "1' OR '1'='1")
    error_of(api.post('/groups', json=body), 422)


def test_bad_queries(api):
    "Unknown parameters, big pages, bad cursors and injections refused"
    error_of(api.get('/individuals', params={'limit': 1000}), 422)
    error_of(api.get('/individuals', params={'limit': 0}), 422)
    error_of(api.get('/individuals', params={'limit': 'ten'}), 422)
    error_of(api.get('/individuals', params={'cursor': 'abc'}), 400,
        'bad_cursor')
    forged = base64.urlsafe_b64encode(b"v1:1 OR 1=1").decode().rstrip('=')
    error_of(api.get('/individuals', params={'cursor': forged}), 400)
    error_of(api.get('/individuals',
            params={'domain': "[('id', '>', 0)]"}), 422)
    error_of(api.get('/individuals', params={'area': "' OR 1=1 --"}), 422)
    error_of(api.get('/individuals',
            params={'id': "national_id|1' OR '1'='1"}), 422)
    error_of(api.get('/individuals', params={'id': "national_id"}), 422)
    error_of(api.get('/individuals', params={'id': "dna|123456"}), 422)
    error_of(api.get('/individuals', params={'modified_since': 'yesterday'}),
        422)
    error_of(api.get('/individuals?limit=1&limit=2'), 422)
    error_of(api.get('/memberships', params={'current': 'maybe'}), 422)


def test_pagination_and_filters(api):
    "Keyset pages cover a list once; area and modified_since filter"
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)
    create_household(api, "Paged", 5000, area='TL-N-B', size=5)
    seen, cursor, pages = [], None, 0
    while True:
        params = {'limit': 2, 'area': 'TL-N-B'}
        if cursor:
            params['cursor'] = cursor
        body = api.get('/individuals', params=params).json()
        pages += 1
        seen += [i['code'] for i in body['data']]
        cursor = body['next_cursor']
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    # TL-N has TL-N-B below it; TL-S does not.
    in_north = api.get('/individuals',
        params={'area': 'TL-N', 'limit': 200}).json()['data']
    assert set(seen) <= {i['code'] for i in in_north}
    in_south = api.get('/individuals',
        params={'area': 'TL-S', 'limit': 200}).json()['data']
    assert not set(seen) & {i['code'] for i in in_south}

    recent = api.get('/individuals', params={
            'modified_since': before.isoformat(), 'limit': 200}).json()
    assert set(seen) <= {i['code'] for i in recent['data']}
    future = (dt.datetime.now(dt.timezone.utc)
        + dt.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')
    assert api.get('/individuals',
        params={'modified_since': future}).json()['data'] == []
    groups = api.get('/groups', params={'area': 'TL-N-B'}).json()['data']
    assert "Paged household" in [g['name'] for g in groups]


def test_area_restriction(api):
    "A client restricted to an area: outside records are simply missing"
    inside = create_household(api, "Inside", 6000, area='TL-N-A', size=1)
    outside = create_household(api, "Outside", 6100, area='TL-S', size=1)
    out_handle = quote(f'national_id|{national_id(6100)}')
    missing = quote(f'national_id|{national_id(6999)}')

    response = api.get(f'/groups/{quote(inside["code"])}', key='north_a')
    assert response.status_code == 200
    hidden = error_of(api.get(f'/groups/{quote(outside["code"])}',
            key='north_a'), 404)
    absent = error_of(api.get('/groups/NO-SUCH-CODE', key='north_a'), 404)
    assert (hidden['code'], hidden['message']) == (
        absent['code'], absent['message'])
    hidden = error_of(api.get(f'/individuals/{out_handle}', key='north_a'),
        404)
    absent = error_of(api.get(f'/individuals/{missing}', key='north_a'), 404)
    assert (hidden['code'], hidden['message']) == (
        absent['code'], absent['message'])
    assert api.get(f'/individuals/{out_handle}').status_code == 200

    listed = api.get('/individuals', key='north_a',
        params={'limit': 200}).json()['data']
    assert listed and all(i['area'] == 'TL-N-A' for i in listed)
    assert api.get('/individuals', key='north_a', params={
            'id': f'national_id|{national_id(6100)}'}).json()['data'] == []
    assert api.get('/memberships', key='north_a', params={
            'group': outside['code']}).json()['data'] == []
    assert api.get('/identifiers', key='north_a', params={
            'registrant': outside['members'][0]['individual']}
        ).json()['data'] == []
    error_of(api.patch(f'/individuals/{out_handle}', key='north_a',
            json={'occupation': "x"}), 404)

    error_of(api.post('/groups', key='north_a',
            json=household_body("Elsewhere", 6200, area='TL-S')), 403,
        'forbidden_area')
    error_of(api.post('/groups', key='north_a',
            json=household_body("Nowhere", 6200, area=None)), 403)
    inside_handle = quote(f'national_id|{national_id(6000)}')
    error_of(api.patch(f'/individuals/{inside_handle}', key='north_a',
            json={'area': 'TL-S'}), 403)
    assert api.post('/groups', key='north_a', json=household_body(
            "Here", 6300, area='TL-N-A')).status_code == 201

    areas = api.get('/areas', key='north_a').json()['data']
    assert [a['code'] for a in areas] == ['TL-N-A']
    error_of(api.get('/areas/TL-S', key='north_a'), 404)


def test_areas(api):
    "Areas: list, filter by parent, get by code"
    codes = [a['code'] for a in api.get('/areas',
            params={'limit': 200}).json()['data']]
    assert {'TL', 'TL-N', 'TL-S', 'TL-N-A', 'TL-N-B'} <= set(codes)
    below = api.get('/areas', params={'parent': 'TL-N'}).json()['data']
    assert sorted(a['code'] for a in below) == ['TL-N-A', 'TL-N-B']
    assert api.get('/areas/TL-N-A').json() == {'code': 'TL-N-A',
        'name': "District A", 'parent': 'TL-N', 'kind': None}
    error_of(api.get('/areas/NOPE'), 404, 'not_found')


def test_not_found_and_methods(api):
    "Unknown handles, paths and methods answer JSON 404/405"
    error_of(api.get('/individuals/NO-SUCH'), 404, 'not_found')
    error_of(api.get('/individuals/' + quote('national_id|0000000000')), 404)
    error_of(api.get('/individuals/' + quote('dna|1234')), 404)
    error_of(api.get('/groups/' + quote("x' OR 1=1")), 422)
    error_of(api.get('/nowhere'), 404)
    error_of(api.request('DELETE', '/individuals'), 405,
        'method_not_allowed')
    error_of(api.request('PUT', '/groups'), 405)


def test_calls_logged(api):
    "Every call is logged with its request id and no personal data"
    handle = quote(f'national_id|{national_id(1000)}')
    response = api.get(f'/individuals/{handle}')
    request_id = response.headers['X-Request-Id']
    failed = api.get('/individuals', key=None).headers['X-Request-Id']
    time.sleep(0.2)
    logs = api.rpc('model.spp.api.log.search_read',
        [('request_id', 'in', [request_id, failed])], 0, None, None,
        ['client', 'method', 'endpoint', 'status', 'request_id',
            'duration', 'timestamp'])
    by_id = {log['request_id']: log for log in logs}
    assert by_id[request_id]['endpoint'] == '/individuals/{handle}'
    assert by_id[request_id]['status'] in {200, 404}
    assert by_id[request_id]['client'] == api.clients['full']
    assert by_id[failed]['status'] == 401
    assert by_id[failed]['client'] is None
    everything = api.rpc('model.spp.api.log.search_read', [], 0, None, None,
        ['endpoint'])
    assert not [log for log in everything
        if national_id(1000) in log['endpoint']]
