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


def given_names(records):
    return [r['demographic_info']['name']['given_name'] for r in records]


def error_of(response, status, code):
    "A 4xx body: the spec's errors[] and the top-level error, alike."
    assert response.status_code == status, response.text
    body = response.json()
    error, = body['errors']
    assert error['code'] == code, body
    assert body['error'] == error
    return error


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
    assert given_names(records) == ["Member 0"]
    # The spec's Member / SRPerson model; national_id is a UIN.
    member, = records
    assert member['@type'] == 'Member'
    assert member['member_identifier'] == [{'@type': 'Identifier',
            'identifier_type': 'UIN', 'identifier_value': national_id(7000)}]
    person = member['demographic_info']
    assert person['@type'] == 'SRPerson'
    assert person['name'] == {'@type': 'Name', 'surname': "Dci",
        'given_name': "Member 0"}
    assert person['sex'] == 'male' and person['birth_date'] == '1960-03-01'
    assert member['is_disabled'] is False
    assert found['pagination']['total_count'] == 1
    assert missing['data']['reg_records'] == []

    body = envelope(('national_id', national_id(7001)), entity='Group')
    answer = search(api, body).json()
    validate_response(answer)
    records = answer['message']['search_response'][0]['data']['reg_records']
    assert [r['@id'] for r in records] == [household['code']]
    assert records[0]['@type'] == 'Group'
    assert records[0]['group_size'] == 2
    assert given_names(records[0]['member_list']) == ["Member 0", "Member 1"]
    assert given_names([records[0]['group_head_info']]) == ["Member 0"]

    # A group holding the ID itself is found as a Group, with its ID.
    body = envelope(('social_security', '7000123'))
    answer = search(api, body).json()
    validate_response(answer)
    records = answer['message']['search_response'][0]['data']['reg_records']
    assert [(r['@type'], r['@id']) for r in records] == [
        ('Group', group['code'])]
    assert records[0]['group_identifier'] == [{'@type': 'Identifier',
            'identifier_type': 'SSN', 'identifier_value': '7000123'}]


def test_dci_identifier_types(api):
    "DCI code-directory types (any case) and ours; unknown ones: no match"
    api.post('/groups', json=household_body("DciType", 7300, size=1))
    value = national_id(7300)
    body = envelope(('UIN', value), ('nin', value), ('national_id', value),
        ('DNA', value), ('BRN', value))
    validate_request(body)
    answer = search(api, body).json()
    validate_response(answer)
    assert answer['header']['status'] == 'succ'
    items = answer['message']['search_response']
    assert [i['status'] for i in items] == ['succ'] * 5
    assert [given_names(i['data']['reg_records']) for i in items] == [
        ["Member 0"]] * 3 + [[], []]
    assert items[3]['pagination']['total_count'] == 0

    # MOBILE: the registrants' phone contacts, as phone_number.
    party, = api.rpc('model.party.party.search',
        [('family_name', '=', "DciType")])
    api.rpc('model.party.contact_mechanism.create', [{'party': party,
                'type': 'mobile', 'value': '+260971234567'}])
    answer = search(api, envelope(('MOBILE', '+260971234567'),
            ('mobile', '+260970000000'))).json()
    validate_response(answer)
    found, missing = answer['message']['search_response']
    member, = found['data']['reg_records']
    assert member['demographic_info']['phone_number'] == '+260971234567'
    assert missing['data']['reg_records'] == []


def test_bad_items_rejected_one_by_one(api):
    "Unsupported or invalid queries are rjct items with the spec's codes"
    body = envelope(('national_id', "1' OR '1'='1"), ('dna', '12345'))
    body['message']['search_request'][1]['search_criteria']['consent'] = {
        'ts': 'yesterday'}
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


def test_locale_consent_and_receiver(api):
    "locale echoed, consent and authorize accepted, receiver_id checked"
    body = envelope(('national_id', national_id(7000)))
    item = body['message']['search_request'][0]
    item['locale'] = 'eng'
    item['search_criteria']['consent'] = {'@type': 'Consent', 'ts': now(),
        'purpose': {'text': "Eligibility check", 'code': 'elig'}}
    item['search_criteria']['authorize'] = {'@type': 'Authorize',
        'ts': now(), 'purpose': {'text': "Case 12"}}
    body['header']['receiver_id'] = 'spp-mis'
    validate_request(body)
    response = search(api, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate_response(answer)
    found, = answer['message']['search_response']
    assert found['status'] == 'succ' and found['locale'] == 'eng'
    # The examples of the standard send "" for absent blocks.
    item['search_criteria']['consent'] = ''
    item['locale'] = ''
    answer = search(api, body).json()
    assert answer['message']['search_response'][0]['status'] == 'succ'
    for name, value in [('consent', 'yes'), ('authorize', {'purpose': 3})]:
        item['search_criteria'][name] = value
        answer = search(api, body).json()
        validate_response(answer)
        refused, = answer['message']['search_response']
        assert (refused['status'], refused['status_reason_code']) == (
            'rjct', 'rjct.search_criteria.invalid'), refused
        assert name in refused['status_reason_message']
        del item['search_criteria'][name]
    body['header']['receiver_id'] = 'another.registry'
    response = search(api, body)
    error_of(response, 400, 'err.receiver_id.invalid')
    answer = response.json()
    validate_response(answer)
    assert answer['header']['status'] == 'rjct'
    assert 'receiver_id' in answer['header']['status_reason_message']


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
    error_of(response, 400, 'err.request.bad')
    body = envelope(('national_id', national_id(7000)))
    for key, status, code in [(None, 401, 'err.request.unauthorized'),
            ('spp_not-a-key', 401, 'err.request.unauthorized'),
            ('revoked', 401, 'err.request.unauthorized'),
            ('expired', 401, 'err.request.unauthorized'),
            ('reader', 403, 'err.request.forbidden')]:
        error_of(search(api, body, key=key), status, code)


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
