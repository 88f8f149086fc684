"""The REST resources of change requests, against a live trytond on a
database with spp_api and spp_change_request activated (nothing else):
proposing a change (created as the client's acting user and submitted with
the registry's rules), following it by reference, listing; the refusals
(unknown kind, unknown or hidden registrant alike, malformed proposed
values: nothing saved) and who reads what (the client's areas and the
acting user's record rules)."""
import configparser
import datetime as dt

import pytest
import requests

from .server import ROOT
from .test_api_rest import create_household, error_of
from .test_api_support import national_id, quote, start_api

MODULES = ['spp_api', 'spp_change_request']
CR_SCOPES = ['change_request:create', 'change_request:read']
SCHEMATHESIS_EXAMPLES = 10
VALIDATOR_PASSWORD = 'spp-test-Validator-2024'


def group_ids(api, names):
    "Ids of groups by name (ir.model.data is not read over RPC)."
    groups = api.rpc('model.res.group.search_read',
        [('name', 'in', names)], 0, None, None, ['name'])
    assert len(groups) == len(names), groups
    return [g['id'] for g in groups]


def make_user(api, login, groups, areas, password=None):
    "A registrar of change request groups (names) limited to areas (codes)."
    user, = api.rpc('model.res.user.create', [{
                'name': login.title(), 'login': login,
                'groups': [['add', group_ids(api, [*groups, "Registrar"])]],
                'spp_areas': [['add', [api.areas[a] for a in areas]]],
                **({'password': password} if password else {}),
                }])
    return user


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    api, stop = start_api(tmp_path_factory.mktemp('spp-api-cr'), 'apicr',
        backend_uri, modules=MODULES)
    # An acting user who requests changes in district A only (the
    # client itself is not limited to areas).
    api.requester = make_user(api, 'api_requester', ["Change Request User"],
        ['TL-N-A'])
    api.make_client('cr_requester', scopes=CR_SCOPES, user=api.requester)
    api.make_client('cr_reader', scopes=['change_request:read'])
    yield api
    stop()


def data(response):
    assert response.status_code == 200, response.text
    return response.json()['data']


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def edit(handle, submit=True, **proposed):
    "The body of an edit_individual request."
    body = {'kind': 'edit_individual', 'registrant': handle,
        'reason': "Seen at the office", 'proposed': proposed}
    if not submit:
        body['submit'] = False
    return body


def references(api, key='full', **params):
    return [r['reference'] for r in data(api.get('/change_requests',
                key=key, params={'limit': 200, **params}))]


# -- proposing and following -----------------------------------------------

def test_create_submit_and_get(api):
    "An edit by ID and by code is created, submitted and read by reference"
    group = create_household(api, "Reyes", 8100, area='TL-N-A')
    head, child = [m['individual'] for m in group['members'][:2]]
    request = created(api.post('/change_requests',
            json=edit(f'national_id|{national_id(8100)}', given_name="Anna",
                birth_date='1961-03-01')))
    assert request['reference'].startswith('CR-')
    assert request['kind'] == 'edit_individual'
    assert request['registrant'] == head
    assert request['state'] == 'submitted'
    assert request['stage'] == "Local validation"
    assert request['submitted_on'] and request['modified']
    assert request['applied_on'] is None
    assert api.get(f'/change_requests/{request["reference"]}').json() == (
        request)

    by_code = created(api.post('/change_requests',
            json=edit(child, occupation="Student", gender='female')))
    assert by_code['registrant'] == child
    assert by_code['state'] == 'submitted'
    draft = created(api.post('/change_requests',
            json=edit(child, submit=False, given_name="Mara")))
    assert draft['state'] == 'draft' and draft['stage'] is None
    assert draft['submitted_on'] is None

    assert references(api, registrant=head) == [request['reference']]
    assert references(api, registrant=f'national_id|{national_id(8100)}'
        ) == [request['reference']]
    assert references(api, registrant=child) == [
        by_code['reference'], draft['reference']]
    assert references(api, registrant=child, state='draft') == [
        draft['reference']]
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert references(api, registrant=child,
        modified_since=future.strftime('%Y-%m-%dT%H:%M:%SZ')) == []
    # Keyset paging, as the other lists.
    first = api.get('/change_requests',
        params={'registrant': child, 'limit': 1}).json()
    assert [r['reference'] for r in first['data']] == [by_code['reference']]
    second = api.get('/change_requests', params={'registrant': child,
            'limit': 1, 'cursor': first['next_cursor']}).json()
    assert [r['reference'] for r in second['data']] == [draft['reference']]
    assert second['next_cursor'] is None


def test_structural_kinds(api):
    "Member and ID kinds take their fields by handle and code"
    group = create_household(api, "Cruz", 8400, size=2, area='TL-N-A')
    newcomer = create_household(api, "Moreno", 8410, size=1,
        area='TL-N-A')['members'][0]['individual']
    body = {'kind': 'add_member', 'registrant': group['code'],
        'individual': newcomer, 'role': 'child',
        'effective_date': dt.date.today().isoformat()}
    request = created(api.post('/change_requests', json=body))
    assert request['state'] == 'submitted'
    assert request['registrant'] == group['code']
    error = error_of(api.post('/change_requests',
            json={**body, 'individual': 'NOPE-0001'}), 422,
        'validation_error')
    assert error['message'] == (
        "body.individual: no individual matches this handle.")
    error = error_of(api.post('/change_requests',
            json={**body, 'role': 'uncle'}), 422)
    assert error['message'].startswith('body.role:')

    # add_id needs a copy of the document: refused at submit (the rule's
    # message), kept as a draft when not submitted.
    head = group['members'][0]['individual']
    body = {'kind': 'add_id', 'registrant': head, 'id_type': 'national_id',
        'id_number': national_id(8430)}
    error = error_of(api.post('/change_requests', json=body), 422,
        'rejected')
    assert 'Copy of the ID document' in error['message']
    assert references(api, registrant=head) == []
    draft = created(api.post('/change_requests',
            json={**body, 'submit': False}))
    assert draft['state'] == 'draft' and draft['kind'] == 'add_id'
    error = error_of(api.post('/change_requests',
            json={**body, 'id_type': 'dna'}), 422)
    assert error['message'] == "body.id_type: unknown ID type 'dna'."
    # correct_id names the ID to correct as `type|value`: the registrant's.
    body = {'kind': 'correct_id', 'registrant': head,
        'identifier': f'national_id|{national_id(8400)}',
        'id_number': national_id(8440), 'submit': False}
    assert created(api.post('/change_requests', json=body))['state'] == (
        'draft')
    error = error_of(api.post('/change_requests', json={**body,
                'identifier': f'national_id|{national_id(8410)}'}), 422)
    assert error['message'] == (
        "body.identifier: the registrant holds no such ID.")


def test_decided_in_tryton_is_followed(api):
    "A validator decides in Tryton; the API shows the request applied"
    group = create_household(api, "Ortiz", 8600, size=1, area='TL-N-A')
    code = group['members'][0]['individual']
    request = created(api.post('/change_requests',
            json=edit(code, occupation="Carpenter")))
    validator = make_user(api, 'api_validator', ["Local Validator"],
        ['TL-N-A'], password=VALIDATOR_PASSWORD)
    assert validator
    session = api.server.login('api_validator', VALIDATOR_PASSWORD)
    request_id, = api.rpc('model.spp.change_request.search',
        [('reference', '=', request['reference'])], 0, None, None)
    api.server.call('model.spp.change_request.decide',
        [[request_id], 'approve', "Seen the evidence", {}],
        session=session, login='api_validator')
    followed = api.get(f'/change_requests/{request["reference"]}').json()
    assert followed['state'] == 'applied'
    assert followed['stage'] is None and followed['applied_on']
    assert api.get(f'/individuals/{code}').json()['occupation'] == (
        "Carpenter")


# -- refusals --------------------------------------------------------------

def test_scope_refused(api):
    "A key without the change request scopes answers 403"
    group = create_household(api, "Scope", 8150, size=1, area='TL-N-A')
    body = edit(group['members'][0]['individual'], occupation="Baker")
    for call in [
            lambda: api.post('/change_requests', key='reader', json=body),
            lambda: api.get('/change_requests', key='reader'),
            lambda: api.get('/change_requests/CR-2026-000001',
                key='reader'),
            lambda: api.post('/change_requests', key='cr_reader',
                json=body)]:
        error_of(call(), 403, 'forbidden_scope')
    assert api.get('/change_requests', key='cr_reader').status_code == 200
    assert references(api, registrant=group['code']) == []


def test_bad_bodies(api):
    "Unknown kinds, fields the kind does not use and bad shapes: 422"
    group = create_household(api, "Bad", 8200, size=1, area='TL-N-A')
    code = group['members'][0]['individual']
    error = error_of(api.post('/change_requests',
            json={**edit(code, occupation="Cook"), 'kind': 'xyz'}), 422,
        'validation_error')
    assert error['message'] == "body.kind: unknown kind 'xyz'."
    for body, where in [
            ({'kind': 'edit_individual', 'proposed': {}}, 'registrant'),
            ({**edit(code, occupation="Cook"), 'force': True}, 'force'),
            ({**edit(code, occupation="Cook"), 'exit_reason': 'death'},
                'body.exit_reason'),
            ({**edit(code, occupation="Cook"), 'individual': code},
                'body.individual'),
            ({'kind': 'exit_registrant', 'registrant': code,
                    'proposed': {'occupation': "Cook"}}, 'body.proposed'),
            ({**edit(code, occupation="Cook"), 'kind': "x' OR 1=1"},
                'body.kind'),
            ({**edit(code, occupation="Cook"), 'kind': 'create_household'},
                'body.kind'),
            ({**edit(code), 'proposed': {'occupation': ["a"]}},
                'body.proposed.occupation'),
            ({**edit(code, occupation="Cook"), 'submit': 'yes'},
                'body.submit'),
            ]:
        error = error_of(api.post('/change_requests', json=body), 422)
        assert where in error['message'], (body, error)
    assert references(api, registrant=code) == []


def test_unknown_and_hidden_registrant_alike(api):
    "An unknown registrant and one outside the client's areas: one answer"
    south = create_household(api, "Sul", 8300, size=1, area='TL-S')
    hidden = south['members'][0]['individual']
    answers = []
    for handle in [hidden, 'NOPE-0001', f'national_id|{national_id(8300)}',
            f'national_id|{national_id(8399)}', south['code']]:
        error = error_of(api.post('/change_requests', key='north_a',
                json=edit(handle, occupation="Fisher")), 422)
        answers.append((error['code'], error['message']))
    assert set(answers) == {('validation_error',
            "body.registrant: no individual matches this handle.")}
    assert references(api, registrant=hidden) == []


def test_malformed_proposed_saves_nothing(api):
    """A proposed value the registry refuses answers 422 with its message
    and saves nothing, submitted or not"""
    group = create_household(api, "Malformed", 8500, size=1, area='TL-N-A')
    code = group['members'][0]['individual']
    for proposed, where in [
            ({'birth_date': 'yesterday'}, 'body.proposed.birth_date'),
            ({'gender': 'nobody'}, 'body.proposed.gender'),
            ({'income': 'lots'}, 'body.proposed.income'),
            ({'disability': 'yes'}, 'body.proposed.disability'),
            ({'registration_date': '2020-01-01'},
                'body.proposed.registration_date'),
            ({'name': "Group name"}, 'body.proposed.name'),
            ]:
        for submit in [True, False]:
            error = error_of(api.post('/change_requests',
                    json=edit(code, submit=submit, **proposed)), 422,
                'validation_error')
            assert error['message'].startswith(where + ':'), error
    error = error_of(api.post('/change_requests',
            json=edit(code, gender='nobody')), 422)
    assert '"nobody"' in error['message'] and 'female' in error['message']
    # What only the registry's rules at submit refuse: rolled back too.
    for proposed in [{'birth_date': '2999-01-01'}, {'phone': 'not a phone'},
            {'income': -5}, {}]:
        error_of(api.post('/change_requests',
                json=edit(code, **proposed)), 422, 'rejected')
    assert references(api, registrant=code) == []
    individual = api.get(f'/individuals/{code}').json()
    assert individual['birth_date'] == '1960-03-01'


# -- who reads what --------------------------------------------------------

def test_other_area_not_readable(api):
    """A request of another area is neither read nor listed: not by a
    client of other areas, nor through an acting user limited to other
    areas; unknown references answer the same 404"""
    south = create_household(api, "Southside", 8700, size=1, area='TL-S')
    north = create_household(api, "Northside", 8710, size=1, area='TL-N-A')
    south_code = south['members'][0]['individual']
    north_code = north['members'][0]['individual']
    south_ref = created(api.post('/change_requests',
            json=edit(south_code, occupation="Fisher")))['reference']
    north_ref = created(api.post('/change_requests',
            json=edit(north_code, occupation="Farmer")))['reference']
    unknown = error_of(api.get('/change_requests/CR-2026-999999'), 404,
        'not_found')
    for key in ['north_a', 'cr_requester']:
        error = error_of(api.get(f'/change_requests/{south_ref}', key=key),
            404, 'not_found')
        assert error['message'] == unknown['message']
        assert api.get(f'/change_requests/{north_ref}',
            key=key).status_code == 200
        listed = references(api, key=key)
        assert north_ref in listed and south_ref not in listed
        assert references(api, key=key, registrant=south_code) == []
    # The acting user could not follow what it would request elsewhere.
    error_of(api.post('/change_requests', key='cr_requester',
            json=edit(south_code, given_name="Rosa")), 403,
        'forbidden_area')
    assert references(api, registrant=south_code) == [south_ref]
    # Its own requests are the acting user's.
    mine = created(api.post('/change_requests', key='cr_requester',
            json=edit(north_code, given_name="Rosa")))
    request_id, = api.rpc('model.spp.change_request.search',
        [('reference', '=', mine['reference'])], 0, None, None)
    row, = api.rpc('model.spp.change_request.read', [request_id],
        ['requested_by'])
    assert row['requested_by'] == api.requester


def test_unknown_reference(api):
    "An unknown reference is not found; a malformed one is refused"
    error_of(api.get('/change_requests/CR-2026-999998'), 404, 'not_found')
    error_of(api.get('/change_requests/' + quote('CR 1')), 422)
    error_of(api.get('/change_requests', params={'state': 'lost'}), 422)
    error_of(api.get('/change_requests',
            params={'registrant': 'dna|123'}), 422)
    assert data(api.get('/change_requests',
            params={'registrant': 'NOPE-0001'})) == []


# -- OpenAPI ---------------------------------------------------------------

def test_openapi_lists_change_requests(api):
    "With spp_change_request activated, its resources are documented"
    from openapi_spec_validator import validate

    from trytond.modules.spp_api.resources import OPERATIONS
    document = requests.get(api.url('/openapi.json'), timeout=30).json()
    validate(document)
    documented = {(m.upper(), p) for p, methods in document['paths'].items()
        for m in methods}
    assert documented == {(o.method, o.path) for o in OPERATIONS
        if o.requires in {None, 'spp.change_request'}}
    schemas = document['components']['schemas']
    assert schemas['ChangeRequestCreate']['additionalProperties'] is False
    assert schemas['ChangeRequestCreate']['required'] == [
        'kind', 'registrant']


def test_schemathesis_change_requests(api, artifacts):
    "Generated requests on the change request resources: no 5xx"
    from .test_api_openapi import run_schemathesis
    api.make_client('cr_fuzzer', rate_limit=0)
    run_schemathesis(api, artifacts, 'cr_fuzzer',
        'schemathesis-change-requests', '^/change_requests',
        examples=SCHEMATHESIS_EXAMPLES)


def test_addon_graph_has_no_cycle():
    """spp_api routes the change requests without depending on their
    addon, even as an extra: spp_change_request loads after spp_audit,
    which loads after spp_api, and a cycle of dependencies makes trytond's
    module graph recurse without end (or load in a random order)."""
    depends = {}
    for cfg in ROOT.glob('addons/*/tryton.cfg'):
        parser = configparser.ConfigParser()
        parser.read(cfg)
        depends[cfg.parent.name] = {d for option in [
                'depends', 'extras_depend']
            for d in parser.get('tryton', option, fallback='').split()}
    done, path = set(), []

    def visit(addon):
        assert addon not in path, ' -> '.join(path + [addon])
        if addon in done or addon not in depends:
            return
        path.append(addon)
        for dependency in sorted(depends[addon]):
            visit(dependency)
        path.pop()
        done.add(addon)
    for addon in sorted(depends):
        visit(addon)
