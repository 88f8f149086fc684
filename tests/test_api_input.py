"""Input the REST and DCI APIs must refuse cleanly, found by a probe run
(issue 18): text that is not Unicode (a lone UTF-16 surrogate, which JSON
can escape as "\\ud800") and paths holding a newline. Each answers the
API's own JSON error naming what is wrong, never a 500 or an HTML page."""
import json

from .test_api_dci import envelope as id_envelope, now, search
from .test_api_rest import create_household, error_of
from .test_api_support import api, household_body, national_id  # noqa: F401

# requests sends json= with ensure_ascii: the surrogate travels as the
# escape \ud800, as a client would send it.
LONE = '\ud800'


def dci_error_of(response, status, code):
    assert response.status_code == status, (response.status_code,
        response.text)
    assert response.headers['Content-Type'].startswith('application/json')
    error, = response.json()['errors']
    assert error['code'] == code, error
    return error


def test_surrogate_in_individual(api):
    "POST and PATCH /individuals: 422 naming the field, nothing written"
    error = error_of(api.post('/individuals', json={
                'family_name': "Lone", 'given_name': f"Sur{LONE}rogate",
                'identifiers': [{'type': 'national_id',
                        'value': national_id(9400)}]}),
        422, 'validation_error')
    assert error['message'].startswith('body.given_name: not valid Unicode')
    assert api.get('/individuals', params={
            'id': f'national_id|{national_id(9400)}'}).json()['data'] == []

    group = create_household(api, "Surrogate", 9410, size=1)
    handle = group['members'][0]['individual']
    error = error_of(api.patch(f'/individuals/{handle}',
            json={'occupation': LONE}), 422, 'validation_error')
    assert error['message'].startswith('body.occupation:')
    error = error_of(api.patch(f'/individuals/{handle}',
            json={'custom': {'x': LONE}}), 422)
    assert error['message'].startswith('body.custom.x:')
    error = error_of(api.patch(f'/individuals/{handle}',
            json={f'occupation{LONE}': "Farmer"}), 422)
    assert 'a field name' in error['message']
    assert api.get(f'/individuals/{handle}').json()['occupation'] is None


def test_surrogate_in_group(api):
    "POST /groups: the member's field is named, the household not created"
    body = household_body("Lonely", 9420, size=2)
    body['members'][1]['individual']['family_name'] = f"Lonely{LONE}"
    error = error_of(api.post('/groups', json=body), 422,
        'validation_error')
    assert error['message'].startswith(
        'body.members[1].individual.family_name: not valid Unicode')
    for seed in [9420, 9421]:
        assert api.get('/individuals', params={
                'id': f'national_id|{national_id(seed)}'}
            ).json()['data'] == []
    # A deeply nested body is walked too (without recursion).
    deep = {'name': "Deep", 'members': []}
    node = deep
    for _ in range(400):
        node['x'] = {}
        node = node['x']
    node['y'] = LONE
    error = error_of(api.post('/groups', json=deep), 422)
    assert error['message'].endswith('surrogate such as \\ud800).')


def test_surrogate_in_dci_expression(api):
    "DCI: an expression value answers 422 err.request.bad naming it"
    body = id_envelope()
    body['header']['total_count'] = 1
    body['message']['search_request'] = [{
            'reference_id': 'ref-s', 'timestamp': now(),
            'search_criteria': {'query_type': 'expression', 'query': {
                    'type': 'ns:org:QueryType:NoSql',
                    'value': {'expression': {'collection': 'Member',
                            'query': {'name': {'$eq': f"a{LONE}"}}}}}}}]
    error = dci_error_of(search(api, body), 422, 'err.request.bad')
    assert error['message'].startswith(
        'message.search_request[0].search_criteria.query.value.expression'
        '.query.name.$eq: not valid Unicode'), error
    # The asynchronous search reads its envelope the same way.
    response = api.post('/registry/search', json=body)
    dci_error_of(response, 422, 'err.request.bad')
    # And an ID value: refused as the envelope is read, like the others.
    body = id_envelope(('national_id', LONE))
    dci_error_of(search(api, body), 422, 'err.request.bad')
    assert search(api, id_envelope(('national_id', national_id(9430)))
        ).status_code == 200


def test_surrogate_in_token_request(api):
    "OAuth2 token: a client_id that is not Unicode is a request error"
    response = api.post('/oauth2/client/token', key=None, data=json.dumps({
                'grant_type': 'client_credentials',
                'client_id': LONE, 'client_secret': 'x'}),
        headers={'Content-Type': 'application/json'})
    assert response.status_code == 400, response.text
    assert response.json()['error'] == 'invalid_request'


def test_newline_in_path(api):
    "A handle or path with a newline answers the API's JSON error"
    for method, path, status, code in [
            ('GET', '/individuals/a%0Ab', 422, 'validation_error'),
            ('GET', '/individuals/a%0A', 422, 'validation_error'),
            ('PATCH', '/individuals/a%0Ab', 422, 'validation_error'),
            ('GET', '/groups/%0A', 422, 'validation_error'),
            ('GET', '/areas/TL%0A', 422, 'validation_error'),
            ('GET', '/nowhere%0Aelse', 404, 'not_found'),
            ('GET', '/registry/sync/search%0A', 404, 'not_found'),
            ]:
        kwargs = {'json': {'occupation': "x"}} if method == 'PATCH' else {}
        error = error_of(api.request(method, path, **kwargs), status, code)
        assert error['request_id'], (method, path)
    error_of(api.get('/individuals/a%0Ab', key=None), 401, 'unauthorized')
