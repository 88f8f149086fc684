"""DCI sync search with `expression` and `predicate` queries against a live
server: results, sort and pagination, area restriction, and refusals of
unknown attributes, operators, values and injection attempts, every
request and answer validated against the spec."""
import pytest

from .test_api_dci import (
    now, search, validate_request, validate_response)
from .test_api_support import api, household_body  # noqa: F401

FAMILIES = ['QryA', 'QryB', 'QryC']


def envelope(*criteria):
    items = [{'reference_id': f'ref-{n}', 'timestamp': now(),
            'search_criteria': c} for n, c in enumerate(criteria)]
    return {
        'header': {'version': '1.0.0', 'message_id': 'msg-q',
            'message_ts': now(), 'action': 'search',
            'sender_id': 'social.example.org', 'total_count': len(items)},
        'message': {'transaction_id': 'txn-q', 'search_request': items},
        }


def expression(query, collection='Member', **criteria):
    return {'query_type': 'expression', 'query': {
            'type': 'ns:org:QueryType:NoSql',
            'value': {'expression': {'collection': collection,
                    'query': query}}}, **criteria}


def predicate(*items, **criteria):
    return {'query_type': 'predicate', 'query': list(items), **criteria}


def term(name, operator, value):
    return {'attribute_name': name, 'operator': operator,
        'attribute_value': value}


def answer(api, *criteria, key='full'):
    body = envelope(*criteria)
    validate_request(body)
    response = search(api, body, key=key)
    assert response.status_code == 200, response.text
    result = response.json()
    validate_response(result)
    return result['message']['search_response']


@pytest.fixture(scope='module')
def households(api):
    "Households of 1, 2 and 3 members in TL-N-B (names Qry*)."
    codes = {}
    for size, family in enumerate(FAMILIES, start=1):
        response = api.post('/groups', json=household_body(
                family, 8000 + 10 * size, area='TL-N-B', size=size))
        assert response.status_code == 201, response.text
        codes[family] = response.json()['code']
    return codes


def names_of(record):
    "(surname, given name) of a Member record."
    name = record['demographic_info']['name']
    return name['surname'], name['given_name']


def test_expression_over_groups(api, households):
    "Groups by size and location (the spec's example shape)"
    item, = answer(api, expression({'$and': [
                    {'group_size': {'$gte': 2}},
                    {'location': {'$eq': 'TL-N-B'}}]}, collection='Group'))
    assert item['status'] == 'succ'
    records = item['data']['reg_records']
    assert sorted(r['@id'] for r in records) == sorted(
        [households['QryB'], households['QryC']])
    assert {r['@type'] for r in records} == {'Group'}
    assert item['pagination']['total_count'] == 2


def test_expression_operators_sort_and_pages(api, households):
    "$in, $or, $not, $ne; sorted by birth date, paged"
    members = {'family_name': {'$in': FAMILIES}}
    item, = answer(api, expression(members, sort=[
                {'attribute_name': 'birth_date', 'sort_order': 'desc'}],
            pagination={'page_size': 2, 'page_number': 2}))
    assert item['pagination'] == {'page_size': 2, 'page_number': 2,
        'total_count': 6}
    dates = [r['demographic_info']['birth_date']
        for r in item['data']['reg_records']]
    # Descending: 1980 | 1970 1970 | 1960 1960 1960; page 2 is the 2nd, 3rd.
    assert [d[:4] for d in dates] == ['1970', '1960']

    item, = answer(api, expression({'$and': [members, {'$or': [
                        {'sex': 'female'}, {'birth_date': {
                                '$lt': '1965-01-01'}}]}]}))
    names = sorted(names_of(r)
        for r in item['data']['reg_records'])
    assert names == [('QryA', 'Member 0'), ('QryB', 'Member 0'),
        ('QryB', 'Member 1'), ('QryC', 'Member 0'), ('QryC', 'Member 1')]

    item, = answer(api, expression({'$and': [members,
                    {'$not': {'family_name': {'$ne': 'QryC'}}},
                    {'age': {'$lt': 60}}]}))
    assert sorted(names_of(r)[1]
            for r in item['data']['reg_records']) == [
        'Member 1', 'Member 2']


def test_predicate(api, households):
    "Predicates in seq_num order; and, or, not conditions"
    item, = answer(api, predicate(
            {'seq_num': 2, 'expression1': term(
                    'birth_date', 'ge', '1970-01-01')},
            {'seq_num': 1, 'expression1': term('family_name', 'eq', 'QryC'),
                'condition': 'not', 'expression2': term(
                    'sex', 'eq', 'male')}))
    records = item['data']['reg_records']
    assert [names_of(r) for r in records] == [
        ('QryC', 'Member 1')]

    item, = answer(api, predicate(
            {'seq_num': 1, 'expression1': term('family_name', 'in',
                    'QryA,QryB'), 'condition': 'or',
                'expression2': term('given_name', 'eq', 'Member 2')},
            {'seq_num': 2, 'expression1': term('is_disabled', 'eq', False)}))
    assert sorted(names_of(r)
        for r in item['data']['reg_records']) == [
        ('QryA', 'Member 0'), ('QryB', 'Member 0'), ('QryB', 'Member 1'),
        ('QryC', 'Member 2')]

    item, = answer(api, predicate({'expression1': term(
                    'group_size', 'eq', 3)}, response_entity='Group'))
    assert [r['@id'] for r in item['data']['reg_records']] == [
        households['QryC']]


def test_area_restriction(api, households):
    "A client restricted to TL-N-A does not see the TL-N-B households"
    item, = answer(api, expression({'family_name': {'$in': FAMILIES}}),
        key='north_a')
    assert item['status'] == 'succ'
    assert item['data']['reg_records'] == []
    assert item['pagination']['total_count'] == 0


@pytest.mark.parametrize('criteria, code', [
        # Not on the whitelist: private or internal fields, SQL.
        (expression({'password_hash': 'x'}), 'rjct.filter.invalid'),
        (expression({'id': {'$gt': 0}}), 'rjct.filter.invalid'),
        (expression({"name' OR '1'='1": 'x'}), 'rjct.filter.invalid'),
        (expression({'create_uid.login': 'admin'}), 'rjct.filter.invalid'),
        (expression({'name': {'$regex': '.*'}}), 'rjct.filter.invalid'),
        (expression({'$where': 'sleep(1)'}), 'rjct.filter.invalid'),
        (expression({'birth_date': {'$lt': "1' OR 1=1 --"}}),
            'rjct.filter.invalid'),
        (expression({'group_size': {'$gt': 'many'}}, collection='Group'),
            'rjct.filter.invalid'),
        (expression({'is_disabled': {'$gt': True}}), 'rjct.filter.invalid'),
        (expression({'family_name': {'$in': []}}), 'rjct.filter.invalid'),
        (expression({'name': 'x'}, collection='Payments'),
            'rjct.search_criteria.invalid'),
        (expression({}), 'rjct.search_criteria.invalid'),
        (expression({'$and': 'x'}), 'rjct.search_criteria.invalid'),
        (expression(
            {'$not': {'$not': {'$not': {'$not': {'$not': {'$not': {
                    '$not': {'$not': {'$not': {'name': 'x'}}}}}}}}}}),
            'rjct.search_criteria.invalid'),
        (expression({'$or': [{'name': str(n)} for n in range(51)]}),
            'rjct.search_criteria.invalid'),
        (expression({'name': 'x'}, sort=[{'attribute_name': 'password'}]),
            'rjct.sort.invalid'),
        (expression({'name': 'x'}, sort=[{'attribute_name': 'name',
                        'sort_order': 'sideways'}]), 'rjct.sort.invalid'),
        (expression({'name': 'x'}, pagination={'page_size': 0}),
            'rjct.pagination.invalid'),
        (predicate({'expression1': term('name', 'like', '%')}),
            'rjct.filter.invalid'),
        (predicate({'expression1': term('secret', 'eq', '1')}),
            'rjct.filter.invalid'),
        (predicate({'expression1': {'attribute_name': 'name'}}),
            'rjct.search_criteria.invalid'),
        (predicate({'expression1': term('name', 'eq', 'x'),
                    'condition': 'xor', 'expression2': term(
                        'name', 'eq', 'y')}),
            'rjct.search_criteria.invalid'),
        (predicate(), 'rjct.search_criteria.invalid'),
        ])
def test_refused_queries(api, households, criteria, code):
    "Bad attributes, operators, values and shapes: rjct with the code"
    body = envelope(criteria)
    response = search(api, body)
    assert response.status_code == 200, response.text
    result = response.json()
    validate_response(result)
    item, = result['message']['search_response']
    assert (item['status'], item['status_reason_code']) == ('rjct', code), (
        item)
    assert item['status_reason_message']
