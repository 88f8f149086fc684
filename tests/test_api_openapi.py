"""The OpenAPI document: served, valid OpenAPI 3, generated from the same
declarations the routes use; schemathesis against a live server finds no
5xx and no response that breaks the document; and the document is as
strict as the server: what it allows is accepted, what it does not is
refused (values drawn from its own patterns, as schemathesis draws them).
"""
import re
import subprocess
import sys
from pathlib import Path

import requests
from hypothesis import HealthCheck, given, settings, strategies as st
from openapi_spec_validator import validate

from trytond.modules.spp_api.resources import OPERATIONS, SCOPES

from .test_api_support import ALL_SCOPES, api  # noqa: F401

# How the document was looser than the server (issue 18, D19): any token
# as a cursor, any lower-case word as an ID type.
LOOSE_CURSOR = r'[A-Za-z0-9_\-]{1,64}'
LOOSE_ID = r'[a-z][a-z0-9_]{0,20}\|[0-9]{1,12}'
SAMPLES = settings(max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck))

# Bounded: examples per operation, and a timeout for the whole run.
MAX_EXAMPLES = 25
MAX_TIME = 600
CHECKS = ','.join([
        'not_a_server_error', 'status_code_conformance',
        'content_type_conformance', 'response_schema_conformance',
        'negative_data_rejection', 'unsupported_method'])


def run_schemathesis(api, artifacts, key, name, paths, examples=10):
    """Generated requests on the resources whose path matches `paths` (a
    regular expression), as the client `key`: schemathesis' checks pass
    (no 5xx, every answer as documented); its output kept as
    <name>.log."""
    report_dir = Path(artifacts) / name
    report_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / 'schemathesis'), 'run',
        api.url('/openapi.json'), '--url', api.url(''),
        '--header', f'Authorization: Bearer {api.keys[key]}',
        '--checks', CHECKS,
        '--include-path-regex', paths,
        '--max-examples', str(examples),
        '--seed', '20261124', '--workers', '1',
        '--phases', 'examples,coverage,fuzzing',
        '--request-timeout', '30', '--suppress-health-check', 'all',
        ]
    # Its working directory gets schemathesis' cache (.schemathesis/).
    result = subprocess.run(command, capture_output=True, text=True,
        cwd=report_dir, timeout=600, stdin=subprocess.DEVNULL)
    (Path(artifacts) / f'{name}.log').write_text(
        result.stdout + result.stderr)
    assert result.returncode == 0, (
        result.stdout[-8000:] + result.stderr[-2000:])


def test_openapi_served_and_valid(api):
    "openapi.json answers without a key and is valid OpenAPI 3"
    response = requests.get(api.url('/openapi.json'), timeout=30)
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document['servers'] == [
        {'url': f'/{api.server.database.name}/api/v1'}]
    documented = {(m.upper(), p) for p, methods in document['paths'].items()
        for m in methods}
    # A registry-only database: the program resources are not there.
    assert documented == {(o.method, o.path) for o in OPERATIONS
        if not o.requires}
    assert '/programs' not in document['paths']
    assert 'custom_fields' not in (
        document['components']['schemas']['Individual']['properties'])
    assert set(SCOPES) == set(ALL_SCOPES)
    group_create = document['components']['schemas']['GroupCreate']
    assert group_create['additionalProperties'] is False
    assert 'members' in group_create['required']


def test_schemathesis(api, artifacts):
    "Generated requests: no server error, every answer as documented"
    api.make_client('fuzzer', rate_limit=0)
    api.post('/groups', key='fuzzer', json={
            'name': "Fuzz household", 'area': 'TL-N-A', 'members': [{
                    'individual': {'family_name': "Fuzz",
                        'given_name': "Seed"}, 'roles': ['head']}]})
    report_dir = Path(artifacts) / 'schemathesis'
    command = [
        str(Path(sys.executable).parent / 'schemathesis'), 'run',
        api.url('/openapi.json'),
        '--url', api.url(''),
        '--header', f'Authorization: Bearer {api.keys["fuzzer"]}',
        '--checks', CHECKS,
        '--max-examples', str(MAX_EXAMPLES),
        '--seed', '20261124',
        '--workers', '1',
        '--phases', 'examples,coverage,fuzzing',
        '--request-timeout', '30',
        '--suppress-health-check', 'all',
        '--report', 'junit',
        '--report-dir', str(report_dir),
        ]
    report_dir.mkdir(parents=True, exist_ok=True)
    # Its working directory gets schemathesis' cache (.schemathesis/).
    result = subprocess.run(command, capture_output=True, text=True,
        cwd=report_dir,
        timeout=MAX_TIME, stdin=subprocess.DEVNULL)
    (Path(artifacts) / 'schemathesis.log').write_text(
        result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


def document_of(api):
    return requests.get(api.url('/openapi.json'), timeout=30).json()


def parameter(document, path, name, method='get'):
    parameters = document['paths'][path][method]['parameters']
    return next(p for p in parameters if p['name'] == name)['schema']


def test_openapi_as_strict_as_cursors(api):
    "A cursor is accepted exactly when the document's pattern allows it"
    api.make_client('strict_cursor', rate_limit=0)
    pattern = parameter(document_of(api), '/individuals', 'cursor')[
        'pattern']
    assert pattern.startswith('^') and pattern.endswith('$')

    @SAMPLES
    @given(st.one_of(st.from_regex(pattern, fullmatch=True),
            st.from_regex(LOOSE_CURSOR, fullmatch=True)))
    def agrees(cursor):
        response = api.get('/individuals', key='strict_cursor',
            params={'cursor': cursor, 'limit': 1})
        allowed = re.fullmatch(pattern, cursor) is not None
        assert response.status_code == (200 if allowed else 400), (
            cursor, allowed, response.text)
    agrees()
    # The cursors the server gives are the document's.
    page = api.get('/areas', key='strict_cursor', params={'limit': 1})
    assert re.fullmatch(pattern, page.json()['next_cursor'])


def test_openapi_as_strict_as_id_types(api):
    "The document's ID types are the database's; others are refused"
    api.make_client('strict_ids', rate_limit=0)
    document = document_of(api)
    id_types = {t['code'] for t in api.rpc('model.spp.id.type.search_read',
            [], 0, None, None, ['code'])}
    schema = document['components']['schemas']['IdentifierValue']
    assert set(schema['properties']['type']['enum']) == id_types
    assert schema['additionalProperties'] is False
    for id_type in sorted(id_types) + ['dna', 'national_idx']:
        response = api.post('/individuals/lookup', key='strict_ids',
            json={'type': id_type, 'value': '123456'})
        # Known: not found (404); unknown: refused (422).
        assert response.status_code == (
            404 if id_type in id_types else 422), (id_type, response.text)
    # Handle filters too: an unknown type is refused, not an empty page.
    for path, name in [('/memberships', 'group'),
            ('/identifiers', 'registrant')]:
        handle = parameter(document, path, name)['pattern']
        for value, allowed in [('national_id|123', True),
                ('dna|123', False)]:
            assert (re.fullmatch(handle, value) is not None) == allowed
            response = api.get(path, key='strict_ids',
                params={name: value})
            assert response.status_code == (200 if allowed else 422), (
                path, value, response.text)
    pattern = parameter(document, '/individuals', 'id')['pattern']

    @SAMPLES
    @given(st.one_of(st.from_regex(pattern, fullmatch=True),
            st.from_regex(LOOSE_ID, fullmatch=True)))
    def agrees(value):
        response = api.get('/individuals', key='strict_ids',
            params={'id': value})
        allowed = re.fullmatch(pattern, value) is not None
        assert response.status_code == (200 if allowed else 422), (
            value, allowed, response.text)
    agrees()
    handle = parameter(document, '/individuals/{handle}', 'handle')[
        'pattern']
    assert re.fullmatch(handle, 'national_id|123')
    assert not re.fullmatch(handle, 'dna|123')
