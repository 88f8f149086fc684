"""The OpenAPI document: served, valid OpenAPI 3, generated from the same
declarations the routes use; schemathesis against a live server finds no
5xx and no response that breaks the document."""
import subprocess
import sys
from pathlib import Path

import requests
from openapi_spec_validator import validate

from trytond.modules.spp_api.resources import OPERATIONS, SCOPES

from .test_api_support import ALL_SCOPES, api  # noqa: F401

# Bounded: examples per operation, and a timeout for the whole run.
MAX_EXAMPLES = 25
MAX_TIME = 600
CHECKS = ','.join([
        'not_a_server_error', 'status_code_conformance',
        'content_type_conformance', 'response_schema_conformance',
        'negative_data_rejection', 'unsupported_method'])


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
