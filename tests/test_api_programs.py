"""The REST resources of programs, program memberships, cycles,
entitlements and payments, and custom field values, against a live trytond
on a database with spp_payment and spp_custom_field activated.

The database is seeded before the server starts (seed_in_process, run in a
process of its own with the database's environment): a household enrolled
in a cash program with an approved cycle, its entitlement and a payment
sent to the provider; an open program to enrol into; custom fields."""
import subprocess
import sys

import pytest
import requests

from .server import ROOT
from .test_api_rest import create_household, error_of
from .test_api_support import national_id, quote, start_api

MODULES = ['spp_api', 'spp_payment', 'spp_custom_field']
SCHEMATHESIS_EXAMPLES = 10


def seed_in_process(name):
    "Seed database `name` (run by seed() in the database's environment)."
    from decimal import Decimal

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    with Transaction().start(name, 0) as transaction:
        from trytond.modules.spp_entitlement.tests.tools import (
            approved_cycle, cash_program, household, post_fund,
            standard_items)
        from trytond.modules.spp_programs.tests.test_module import (
            create_program)
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Batch = pool.get('spp.payment.batch')
        CustomField = pool.get('spp.custom_field')
        from trytond.modules.spp_payment.tests.test_module import (
            head, payee_data)
        # The head collects: an account, else the payment is blocked.
        payee_data(head(household("Paid household", 2)), 1)
        program = cash_program(code='CASH', items=standard_items(),
            rule='name = "Paid household"')
        cycle = approved_cycle(program)
        post_fund(program, Decimal('1000.00'))
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        batches = Batch.create_for_cycle(cycle)
        Batch.approve(batches)
        Batch.send(batches)
        # A corrected entitlement: cancelled, replaced by a draft.
        household("Corrected household", 1)
        corrected = cash_program(code='CORR', items=standard_items(),
            rule='name = "Corrected household"')
        corrected_cycle = approved_cycle(corrected)
        post_fund(corrected, Decimal('1000.00'))
        Entitlement.prepare(corrected_cycle)
        Cycle.submit_entitlements([corrected_cycle])
        Cycle.approve_entitlements([corrected_cycle])
        original, = Entitlement.search([('cycle', '=', corrected_cycle.id)])
        Entitlement.correct(original, Decimal('90.00'))
        create_program(None, code='OPEN')
        create_program(None, target='individual', code='SOLO')
        CustomField.create([
                {'name': 'monthly_cash', 'string': "Monthly Income",
                    'type_': 'numeric', 'applies_to': 'both'},
                {'name': 'has_latrine', 'string': "Has Latrine",
                    'type_': 'boolean', 'applies_to': 'group'},
                {'name': 'tenure', 'string': "Tenure", 'type_': 'selection',
                    'applies_to': 'individual',
                    'selection': 'owner:Owner\ntenant:Tenant'},
                ])
        transaction.commit()


def seed(database):
    result = subprocess.run([sys.executable, '-c',
            'import sys; from tests.test_api_programs import '
            'seed_in_process; seed_in_process(sys.argv[1])', database.name],
        env=database.env(), cwd=ROOT, capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-6000:]


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    api, stop = start_api(tmp_path_factory.mktemp('spp-api-programs'),
        'apiprog', backend_uri, modules=MODULES, seed=seed)
    api.make_client('programs_reader', scopes=['program:read',
            'program_membership:read', 'cycle:read', 'entitlement:read',
            'payment:read'])
    yield api
    stop()


def data(response):
    assert response.status_code == 200, response.text
    return response.json()['data']


# -- programs, cycles ------------------------------------------------------

def test_programs_and_cycles(api):
    "Programs and cycles are listed, filtered and read by code"
    programs = data(api.get('/programs'))
    assert {p['code'] for p in programs} == {'CASH', 'CORR', 'OPEN', 'SOLO'}
    assert data(api.get('/programs', params={'state': 'ended'})) == []
    cash = api.get('/programs/CASH').json()
    assert cash['target_type'] == 'group' and cash['state'] == 'active'
    error_of(api.get('/programs/NOPE'), 404, 'not_found')

    cycles = data(api.get('/cycles', params={'program': 'CASH'}))
    assert [c['ref'] for c in cycles] == ['CASH:1']
    assert cycles[0]['state'] == 'approved'
    assert api.get('/cycles/CASH:1').json() == cycles[0]
    error_of(api.get('/cycles/CASH:9'), 404)
    error_of(api.get('/cycles/CASH'), 422)
    assert data(api.get('/cycles', params={'state': 'draft'})) == []


def test_scopes_and_keys(api):
    "Program resources need their scopes and a valid key"
    error_of(api.get('/programs', key=None), 401)
    error_of(api.get('/payments', key='revoked'), 401)
    error_of(api.get('/programs', key='reader'), 403, 'forbidden_scope')
    error_of(api.post('/program_memberships', key='programs_reader',
            json={'program': 'OPEN', 'registrant': 'x'}), 403)
    error_of(api.post('/payments/PAY-1/status', key='programs_reader',
            json={'status': 'failed'}), 403)
    assert api.get('/payments', key='programs_reader').status_code == 200


# -- memberships and enrolment -----------------------------------------------

def test_enrol_individual_by_national_id(api):
    "An individual is enrolled by national ID and read back by it"
    group = create_household(api, "Solo", 6900, size=1, area='TL-S')
    handle = f'national_id|{national_id(6900)}'
    response = api.post('/program_memberships',
        json={'program': 'SOLO', 'registrant': handle})
    assert response.status_code == 201, response.text
    membership = response.json()
    assert membership['registrant'] == group['members'][0]['individual']
    assert membership['registrant_type'] == 'individual'
    assert api.get(f'/programs/SOLO/memberships/{quote(handle)}').json() == (
        membership)
    assert data(api.get('/program_memberships', params={
                'registrant': handle})) == [membership]


def test_enrol_household(api):
    "A household is enrolled by its code, once"
    group = create_household(api, "Enrol", 7000, area='TL-S')
    body = {'program': 'OPEN', 'registrant': group['code']}
    response = api.post('/program_memberships', json=body)
    assert response.status_code == 201, response.text
    membership = response.json()
    assert membership['state'] == 'enrolled'
    assert membership['registrant'] == group['code']
    assert membership['program'] == 'OPEN'
    again = api.post('/program_memberships', json=body)
    assert again.status_code == 200
    assert again.json()['state'] == 'enrolled'

    listed = data(api.get('/program_memberships', params={
                'program': 'OPEN', 'registrant': group['code']}))
    assert listed == [again.json()]
    national = group['members'][0]['individual']
    # A member's ID names the member, who is not enrolled.
    error_of(api.get('/programs/OPEN/memberships/'
            + quote(f'national_id|{national_id(7000)}')), 404)
    assert api.get(f'/programs/OPEN/memberships/{group["code"]}').json() == (
        again.json())
    error_of(api.get(f'/programs/CASH/memberships/{group["code"]}'), 404)
    error_of(api.get(f'/programs/OPEN/memberships/{national}'), 404)
    error_of(api.get(f'/programs/OPEN/memberships/{group["code"]}',
            key='north_a'), 404)
    assert data(api.get('/program_memberships', params={
                'program': 'OPEN', 'state': 'exited'})) == []
    # A registrant filter matching nothing is an empty page.
    assert data(api.get('/program_memberships', params={
                'registrant': 'national_id|0000000000'})) == []


def test_enrol_refused(api):
    "Unknown programs and registrants, wrong targets, bad bodies: 422"
    group = create_household(api, "Refused", 7100, area='TL-S')
    individual = group['members'][0]['individual']
    error = error_of(api.post('/program_memberships',
            json={'program': 'NOPE', 'registrant': group['code']}), 422)
    assert 'program' in error['message']
    error_of(api.post('/program_memberships',
            json={'program': 'OPEN', 'registrant': individual}), 422)
    error_of(api.post('/program_memberships',
            json={'program': 'OPEN', 'registrant': 'no-such-code'}), 422)
    error_of(api.post('/program_memberships',
            json={'program': 'OPEN'}), 422)
    error_of(api.post('/program_memberships', json={
                'program': 'OPEN', 'registrant': group['code'], 'force': 1}),
        422)
    error_of(api.post('/program_memberships', json={
                'program': "OPEN' OR 1=1", 'registrant': group['code']}), 422)
    # CASH's rule does not match this household: no forcing by API.
    error_of(api.post('/program_memberships', json={
                'program': 'CASH', 'registrant': group['code']}), 422,
        'rejected')
    assert data(api.get('/program_memberships', params={
                'registrant': group['code']})) == []


def test_area_restricted_enrol(api):
    "A client restricted to an area cannot enrol a household outside it"
    group = create_household(api, "Elsewhere", 7200, area='TL-S')
    error_of(api.post('/program_memberships', key='north_a',
            json={'program': 'OPEN', 'registrant': group['code']}), 422)
    assert data(api.get('/program_memberships', key='north_a',
            params={'registrant': group['code']})) == []


# -- entitlements and payments ------------------------------------------

def test_entitlements_and_payments(api):
    "The seeded entitlement and its payment are listed and read"
    entitlements = data(api.get('/entitlements', params={
                'program': 'CASH'}))
    assert len(entitlements) == 1
    entitlement, = entitlements
    assert entitlement['cycle'] == 'CASH:1'
    assert entitlement['state'] == 'approved'
    assert entitlement['amount'] == '151.00'  # 100 + 2 x 25.50
    assert data(api.get('/entitlements', params={'cycle': 'CASH:1',
                'registrant': entitlement['registrant']})) == entitlements
    assert data(api.get('/entitlements', params={'cycle': 'OPEN:1'})) == []

    payments = data(api.get('/payments', params={'cycle': 'CASH:1'}))
    assert len(payments) == 1
    payment, = payments
    assert payment['state'] == 'sent'
    assert payment['amount'] == '151.00'
    assert payment['registrant'] == entitlement['registrant']
    assert api.get(f'/payments/{quote(payment["reference"])}').json() == (
        payment)
    error_of(api.get('/payments/PAY-NOPE'), 404)
    # The household has no area: outside the client's areas, 404 as if
    # it did not exist.
    error_of(api.get(f'/payments/{quote(payment["reference"])}',
            key='north_a'), 404, 'not_found')
    assert data(api.get('/payments', key='north_a')) == []


def test_get_entitlement_by_ref(api):
    "An entitlement is read by its stable reference; hidden = missing"
    entitlement, = data(api.get('/entitlements', params={
                'cycle': 'CASH:1'}))
    ref = entitlement['ref']
    assert ref == f"CASH:1:{entitlement['registrant']}:cash"
    response = api.get(f'/entitlements/{quote(ref)}')
    assert response.status_code == 200, response.text
    assert response.json() == entitlement
    assert api.get(f'/entitlements/{quote(ref)}',
        key='programs_reader').json() == entitlement

    # Unknown parts of the reference, or a registrant outside the
    # client's areas: the same 404 either way.
    registrant = entitlement['registrant']
    missing = [f'CASH:2:{registrant}:cash', f'OPEN:1:{registrant}:cash',
        f'CASH:1:{registrant}:voucher', f'CASH:1:{registrant}:in_kind:1',
        f'CASH:1:{registrant}:cash:7',
        'CASH:1:NOBODY:cash']
    answers = [error_of(api.get(f'/entitlements/{quote(r)}'), 404,
            'not_found')['message'] for r in missing]
    hidden = error_of(api.get(f'/entitlements/{quote(ref)}', key='north_a'),
        404, 'not_found')
    assert set(answers) == {hidden['message']}
    # Malformed references never reach a query; no scope, no answer.
    for bad in ['CASH:1', f'CASH:1:{registrant}', f'CASH:x:{registrant}:cash',
            f'CASH:1:{registrant}:gold', f"CASH:1:{registrant}' OR 1=1:cash",
            '1']:
        error_of(api.get(f'/entitlements/{quote(bad)}'), 422,
            'validation_error')
    error_of(api.get(f'/entitlements/{quote(ref)}', key='reader'), 403,
        'forbidden_scope')
    error_of(api.get('/entitlements/CASH:9:NOBODY:cash', key='reader'), 403,
        'forbidden_scope')
    error_of(api.get(f'/entitlements/{quote(ref)}', key=None), 401)


def test_entitlement_ref_follows_correction(api):
    "A corrected entitlement keeps its reference, which names the live one"
    cancelled, live = data(api.get('/entitlements', params={
                'program': 'CORR'}))
    assert cancelled['ref'] == live['ref']
    assert (cancelled['state'], cancelled['amount']) == (
        'cancelled', '125.50')  # 100 + 1 x 25.50
    assert (live['state'], live['amount']) == ('draft', '90.00')
    assert api.get(f'/entitlements/{quote(live["ref"])}').json() == live


def test_record_payment_status(api):
    "A payment is marked paid once; repeating it is harmless"
    payment, = data(api.get('/payments', params={'cycle': 'CASH:1'}))
    path = f'/payments/{quote(payment["reference"])}/status'
    error_of(api.post(path, json={'status': 'paid'}), 422)
    error_of(api.post(path, json={'status': 'paid', 'paid_amount': 151}),
        422)
    error = error_of(api.post(path, json={'status': 'paid',
                'paid_amount': '150.00'}), 422)
    assert 'differs' in error['message']
    error_of(api.post(path, json={'status': 'lost'}), 422)
    # Text that is not Unicode (a lone surrogate, escaped in JSON).
    error = error_of(api.post(path, json={'status': 'paid',
                'paid_amount': '151.00', 'provider_reference': 'TX-\ud800'}),
        422, 'validation_error')
    assert error['message'].startswith('body.provider_reference: not valid')
    error_of(api.post('/payments/PAY-NOPE/status',
            json={'status': 'failed'}), 404)
    error_of(api.post(path, key='north_a', json={'status': 'failed'}), 404)
    assert api.get(f'/payments/{quote(payment["reference"])}').json()[
        'state'] == 'sent'

    body = {'status': 'paid', 'paid_amount': '151.00',
        'paid_date': '2026-01-15', 'provider_reference': 'TX-1'}
    response = api.post(path, json=body)
    assert response.status_code == 200, response.text
    paid = response.json()
    assert paid['state'] == 'paid'
    assert paid['paid_amount'] == '151.00'
    assert paid['provider_reference'] == 'TX-1'
    again = api.post(path, json=body)
    assert again.status_code == 200
    assert again.json()['state'] == 'paid'
    error_of(api.post(path, json={'status': 'failed'}), 409, 'conflict')
    entitlement, = data(api.get('/entitlements', params={
                'cycle': 'CASH:1'}))
    assert entitlement['state'] == 'distributed'


def test_pagination_and_filters(api):
    "Keyset pages over memberships; bad filters are refused"
    for seed in range(3):
        group = create_household(api, f"Page {seed}", 7300 + 10 * seed,
            size=1, area='TL-S')
        assert api.post('/program_memberships', json={
                'program': 'OPEN',
                'registrant': group['code']}).status_code == 201
    seen, cursor = [], None
    while True:
        params = {'program': 'OPEN', 'limit': 2}
        if cursor:
            params['cursor'] = cursor
        body = api.get('/program_memberships', params=params).json()
        seen += [m['registrant'] for m in body['data']]
        cursor = body['next_cursor']
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 3
    error_of(api.get('/program_memberships', params={'limit': 1000}), 422)
    # Any cursor the API did not give: 400 bad_cursor, as documented.
    error_of(api.get('/program_memberships', params={'cursor': 'bad!'}),
        400, 'bad_cursor')
    error_of(api.get('/payments', params={'state': 'stolen'}), 422)
    error_of(api.get('/entitlements', params={
                'modified_since': 'yesterday'}), 422)
    error_of(api.get('/program_memberships', params={
                'program': "x') OR ('1'='1"}), 422)
    assert data(api.get('/program_memberships', params={
                'program': 'OPEN',
                'modified_since': '2999-01-01T00:00:00Z'})) == []


# -- custom fields ---------------------------------------------------------

def test_custom_fields(api):
    "Custom values are written with a household, read back and updated"
    body = {
        'name': "Custom household", 'area': 'TL-S',
        'custom_fields': {'has_latrine': True, 'monthly_cash': 120.5},
        'members': [{'individual': {'family_name': "Custom",
                    'given_name': "Ana",
                    'custom_fields': {'tenure': 'owner', 'monthly_cash': 80}},
                'roles': ['head']}],
        }
    response = api.post('/groups', json=body)
    assert response.status_code == 201, response.text
    group = response.json()
    assert group['custom_fields'] == {
        'has_latrine': True, 'monthly_cash': 120.5}
    code = group['members'][0]['individual']
    individual = api.get(f'/individuals/{code}').json()
    assert individual['custom_fields'] == {
        'monthly_cash': 80, 'tenure': 'owner'}

    response = api.patch(f'/individuals/{code}',
        json={'custom_fields': {'monthly_cash': 95.25}})
    assert response.status_code == 200, response.text
    assert response.json()['custom_fields'] == {
        'monthly_cash': 95.25, 'tenure': 'owner'}
    response = api.patch(f'/individuals/{code}',
        json={'custom_fields': {'tenure': None}})
    assert response.json()['custom_fields'] == {'monthly_cash': 95.25}


def test_custom_fields_refused(api):
    "Wrong types and unknown fields answer 422 naming the field"
    code = create_household(api, "Typed", 7500, size=1,
        area='TL-S')['members'][0]['individual']
    for values, name in [
            ({'monthly_cash': 'a lot'}, 'monthly_cash'),
            ({'monthly_cash': True}, 'monthly_cash'),
            ({'tenure': 'squatter'}, 'tenure'),
            ({'has_latrine': True}, 'has_latrine'),  # groups only
            ({'nickname': 'x'}, 'nickname'),
            ({'monthly_cash': {'nested': 1}}, 'monthly_cash'),
            ]:
        error = error_of(api.patch(f'/individuals/{code}',
                json={'custom_fields': values}), 422)
        assert name in error['message'], (values, error)
    assert api.get(f'/individuals/{code}').json()['custom_fields'] == {}
    body = {'name': "Bad custom", 'area': 'TL-S',
        'custom_fields': {'has_latrine': 'yes'},
        'members': [{'individual': {'family_name': "Bad",
                    'given_name': "Custom"}, 'roles': ['head']}]}
    error = error_of(api.post('/groups', json=body), 422)
    assert 'has_latrine' in error['message']
    assert not [g for g in data(api.get('/groups', params={'limit': 200}))
        if g['name'] == "Bad custom"]


# -- OpenAPI ---------------------------------------------------------------

def test_openapi_lists_installed_resources(api):
    "With the addons activated, the document has their paths and fields"
    from openapi_spec_validator import validate

    from trytond.modules.spp_api.resources import OPERATIONS
    document = requests.get(api.url('/openapi.json'), timeout=30).json()
    validate(document)
    documented = {(m.upper(), p) for p, methods in document['paths'].items()
        for m in methods}
    # This database has no change requests nor grievances
    # (tests/test_api_change_request.py, tests/test_api_grievance.py).
    assert documented == {(o.method, o.path) for o in OPERATIONS
        if o.requires not in {'spp.change_request', 'spp.grievance'}}
    assert 'custom_fields' in (
        document['components']['schemas']['Individual']['properties'])


def test_openapi_custom_fields_as_strict(api):
    """An input's custom fields are the database's writable ones, typed:
    each documented one is accepted with a value of its type, any other
    name refused"""
    document = requests.get(api.url('/openapi.json'), timeout=30).json()
    schemas = document['components']['schemas']
    code = create_household(api, "Strict", 7600, size=1,
        area='TL-S')['members'][0]['individual']
    samples = {'number': 12.5, 'boolean': True, 'integer': 3,
        'string': "x"}
    for name, registrant in [('IndividualUpdate', 'individual'),
            ('IndividualCreate', 'individual'), ('GroupUpdate', 'group'),
            ('GroupCreate', 'group')]:
        custom = schemas[name]['properties']['custom_fields']
        assert custom['additionalProperties'] is False, name
        assert set(custom['properties']) == ({'monthly_cash', 'tenure'}
            if registrant == 'individual'
            else {'monthly_cash', 'has_latrine'}), name
    properties = schemas['IndividualUpdate']['properties'][
        'custom_fields']['properties']
    assert properties['tenure']['enum'] == ['owner', 'tenant', None]
    for field, schema in properties.items():
        value = (schema['enum'][0] if 'enum' in schema
            else samples[schema['type']])
        response = api.patch(f'/individuals/{code}',
            json={'custom_fields': {field: value}})
        assert response.status_code == 200, (field, response.text)
        # And the type it does not document is refused.
        wrong = "x" if schema['type'] != 'string' else 7
        error_of(api.patch(f'/individuals/{code}',
                json={'custom_fields': {field: wrong}}), 422)
    for name in ['has_latrine', 'nickname']:
        assert name not in properties
        error = error_of(api.patch(f'/individuals/{code}',
                json={'custom_fields': {name: True}}), 422)
        assert name in error['message']


def test_schemathesis_programs(api, artifacts):
    "Generated requests on the program resources: no 5xx, as documented"
    from .test_api_openapi import run_schemathesis
    api.make_client('program_fuzzer', rate_limit=0)
    run_schemathesis(api, artifacts, 'program_fuzzer',
        'schemathesis-programs',
        '^/(programs|program_memberships|cycles|entitlements|payments)',
        examples=SCHEMATHESIS_EXAMPLES)
