"""DCI Social Registry sync search against a live server; requests and
responses validated against the published spec (tests/data)."""
import copy
import datetime as dt
import functools
import uuid
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from .test_api_support import api, household_body, national_id  # noqa: F401

SPEC = Path(__file__).resolve().parent / 'data' / (
    'dci_social_registry_api_v1.0.0.yaml')
OPERATION = '#/paths/~1registry~1sync~1search/post'


# Upstream slips: pointers that go through a $ref (JSON pointers do not
# follow references), pointed at the schema they meant.
THROUGH_REF = {
    '#/paths/~1registry~1search/post/requestBody/content/application~1json'
    '/schema/properties/message/oneOf/0/':
        '#/components/schemas/SearchRequest/',
    '#/paths/~1registry~1txn~1on-status/post/requestBody/content/'
    'application~1json/schema/properties/message/oneOf/0/':
        '#/components/schemas/TxnStatusResponse/',
    }


def fix_ref(ref):
    for wrong, right in THROUGH_REF.items():
        if ref.startswith(wrong):
            ref = right + ref[len(wrong):]
    return ref.replace('/oneOf/', '/anyOf/')


def any_of(node):
    "The spec's oneOf alternatives overlap (upstream slip): read as anyOf."
    if isinstance(node, dict):
        return {('anyOf' if k == 'oneOf' else k): (
                fix_ref(v) if k == '$ref' else any_of(v))
            for k, v in node.items()}
    if isinstance(node, list):
        return [any_of(v) for v in node]
    return node


@functools.lru_cache
def spec():
    return any_of(yaml.safe_load(SPEC.read_text()))


def validate(instance, pointer):
    schema = copy.copy(spec())
    schema['$ref'] = pointer
    OAS30Validator(schema).validate(instance)


def validate_request(body):
    validate(body, OPERATION + '/requestBody/content/application~1json/schema')


def validate_response(body):
    validate(body, OPERATION
        + '/responses/default/content/application~1json/schema')


def now():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def envelope(*queries, entity=None, **header):
    items = []
    for number, (id_type, value) in enumerate(queries):
        criteria = {'query_type': 'idtype-value',
            'query': {'type': id_type, 'value': value}}
        if entity:
            criteria['response_entity'] = entity
        items.append({'reference_id': f'ref-{number}', 'timestamp': now(),
                'search_criteria': criteria})
    return {
        # A new message each time: a sender's message_id is used once.
        'header': {'version': '1.0.0', 'message_id': uuid.uuid4().hex,
            'message_ts': now(), 'action': 'search',
            'sender_id': 'social.example.org', 'total_count': len(items),
            **header},
        'message': {'transaction_id': 'txn-1', 'search_request': items},
        }


def search(api, body, key='full'):
    return api.post('/registry/sync/search', json=body, key=key)


def test_idtype_value_search(api):
    "Members and their groups found by national ID, per the spec"
    household = api.post('/groups',
        json=household_body("Dci", 7000, size=2)).json()
    group = api.post('/groups', json={**household_body("Dci", 7200, size=1),
            'identifiers': [{'type': 'social_security', 'value': '7000123'}],
            }).json()
    body = envelope(('national_id', national_id(7000)),
        ('national_id', national_id(7999)))
    validate_request(body)
    response = search(api, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate_response(answer)
    assert answer['header']['action'] == 'on-search'
    assert answer['header']['status'] == 'succ'
    assert answer['header']['receiver_id'] == 'social.example.org'
    assert answer['message']['transaction_id'] == 'txn-1'
    found, missing = answer['message']['search_response']
    assert found['reference_id'] == 'ref-0' and found['status'] == 'succ'
    records = found['data']['reg_records']
    assert [r['given_name'] for r in records] == ["Member 0"]
    assert found['pagination']['total_count'] == 1
    assert missing['data']['reg_records'] == []

    body = envelope(('national_id', national_id(7001)), entity='Group')
    answer = search(api, body).json()
    validate_response(answer)
    records = answer['message']['search_response'][0]['data']['reg_records']
    assert [r['code'] for r in records] == [household['code']]
    assert records[0]['@type'] == 'Group'

    # A group holding the ID itself is found as a Group, with its ID.
    body = envelope(('social_security', '7000123'))
    answer = search(api, body).json()
    validate_response(answer)
    records = answer['message']['search_response'][0]['data']['reg_records']
    assert [(r['@type'], r['code']) for r in records] == [
        ('Group', group['code'])]
    assert records[0]['identifiers'] == [
        {'type': 'social_security', 'value': '7000123'}]


def test_bad_items_rejected_one_by_one(api):
    "Unsupported or invalid queries are rjct items with the spec's codes"
    body = envelope(('national_id', "1' OR '1'='1"), ('dna', '12345'))
    body['message']['search_request'].append({
            'reference_id': 'ref-x', 'timestamp': now(),
            'search_criteria': {'query_type': 'expression',
                'query': {'type': 'ns:org:QueryType:NoSql', 'value': {}}}})
    body['message']['search_request'].append({
            'reference_id': 'ref-p', 'timestamp': now(),
            'search_criteria': {'query_type': 'idtype-value',
                'query': {'type': 'national_id', 'value': '1234567897'},
                'pagination': {'page_size': 100000}}})
    body['header']['total_count'] = 4
    answer = search(api, body).json()
    validate_response(answer)
    assert answer['header']['status'] == 'rjct'
    codes = [(r['status'], r['status_reason_code'])
        for r in answer['message']['search_response']]
    assert codes == [('rjct', 'rjct.search_criteria.invalid')] * 3 + [
        ('rjct', 'rjct.pagination.invalid')]


@pytest.mark.parametrize('change, code', [
        ({'message_ts': None}, 'rjct.message_ts.invalid'),
        ({'message_ts': 'yesterday'}, 'rjct.message_ts.invalid'),
        ({'action': None}, 'rjct.action.invalid'),
        ({'action': 'subscribe'}, 'rjct.action.not_supported'),
        ({'total_count': 5}, 'rjct.total_count.invalid'),
        ({'total_count': None}, 'rjct.total_count.invalid'),
        ({'version': '9.9'}, 'rjct.version.invalid'),
        ({'sender_id': None}, 'rjct.action.invalid'),
        ])
def test_bad_header(api, change, code):
    "Envelopes with missing or wrong header fields: 400, header rjct"
    body = envelope(('national_id', national_id(7000)))
    for name, value in change.items():
        if value is None:
            del body['header'][name]
        else:
            body['header'][name] = value
    response = search(api, body)
    assert response.status_code == 400
    answer = response.json()
    validate_response(answer)
    assert answer['header']['status'] == 'rjct'
    assert answer['header']['status_reason_code'] == code


def test_malformed_and_unauthorised(api):
    "Bad JSON is a rejected envelope; keys and scopes as the REST API"
    response = api.post('/registry/sync/search', data='{"header": ',
        headers={'Content-Type': 'application/json'})
    assert response.status_code == 400
    validate_response(response.json())
    response = api.post('/registry/sync/search', data='[' * 100000,
        headers={'Content-Type': 'application/json'})
    assert response.status_code == 400
    response = search(api, {'message': {}})
    assert response.status_code == 400
    body = envelope(('national_id', national_id(7000)))
    for key, status in [(None, 401), ('revoked', 401), ('reader', 403)]:
        response = search(api, body, key=key)
        assert response.status_code == status
        assert response.json()['errors'][0]['code']


def test_area_restriction(api):
    "A client restricted to an area finds nothing outside it"
    api.post('/groups', json=household_body("DciSouth", 7100, area='TL-S',
            size=1))
    body = envelope(('national_id', national_id(7100)))
    answer = search(api, body, key='north_a').json()
    assert answer['message']['search_response'][0]['data'][
        'reg_records'] == []
    answer = search(api, body).json()
    assert len(answer['message']['search_response'][0]['data'][
            'reg_records']) == 1
