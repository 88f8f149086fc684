"""The REST resources of grievances, against a live trytond on a database
with spp_api and spp_grievance activated (nothing else): filing a
complaint (as the client's acting user, with attachments) and following it
by reference as a complainant would; the refusals (unknown codes, unknown
or hidden registrants alike, oversized attachments: nothing written) and
who reads what (the client's areas, the acting user's groups and record
rules, sensitive tickets, confidential complainants)."""
import base64
import datetime as dt

import pytest
import requests

from .test_api_change_request import group_ids
from .test_api_rest import create_household, error_of
from .test_api_support import national_id, quote, start_api

MODULES = ['spp_api', 'spp_grievance']
GRV_SCOPES = ['grievance:create', 'grievance:read']
SCHEMATHESIS_EXAMPLES = 10
MB = 1024 * 1024
STATUS_KEYS = {'reference', 'state', 'category', 'subcategory',
    'received_on', 'acknowledge_by', 'resolve_by', 'acknowledged_on',
    'resolved_on', 'decision', 'answer', 'appeal_of'}


def make_user(api, login, groups, areas=()):
    "A user of grievance groups (names) limited to areas (codes)."
    user, = api.rpc('model.res.user.create', [{
                'name': login.title(), 'login': login,
                'groups': [['add', group_ids(api, groups)]],
                'spp_areas': [['add', [api.areas[a] for a in areas]]],
                }])
    return user


def make_categories(api):
    """Payment (2 working days to acknowledge, 10 to resolve) with its
    subcategory missed, exclusion, and staff misconduct (sensitive)."""
    create = 'model.spp.grievance.category.create'
    payment, exclusion, misconduct = api.rpc(create, [
            {'name': "Payment", 'code': 'payment',
                'ack_amount': 2, 'ack_unit': 'working_days',
                'resolution_amount': 10, 'resolution_unit': 'working_days'},
            {'name': "Exclusion", 'code': 'exclusion',
                'ack_amount': 48, 'ack_unit': 'hours',
                'resolution_amount': 72, 'resolution_unit': 'hours'},
            {'name': "Staff Misconduct", 'code': 'misconduct',
                'sensitive': True, 'ack_amount': 24, 'ack_unit': 'hours',
                'resolution_amount': 30, 'resolution_unit': 'working_days'},
            ])
    api.rpc(create, [{'name': "Missed Payment", 'code': 'missed',
                'parent': payment}])


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    api, stop = start_api(tmp_path_factory.mktemp('spp-api-grv'), 'apigrv',
        backend_uri, modules=MODULES)
    make_categories(api)
    api.users = {
        'manager': make_user(api, 'grv_manager', ["Grievance Manager"]),
        'officer_b': make_user(api, 'grv_officer_b', ["Grievance Officer"],
            ['TL-N-B']),
        'sensitive': make_user(api, 'grv_sensitive',
            ["Grievance Sensitive Cases"]),
        }
    # The admin reads every ticket (the tests look at what was written).
    admin = api.admin_session[0]
    api.rpc('model.res.user.write', [admin], {'groups': [['add',
                    group_ids(api, ["Grievance Sensitive Cases"])]]})
    # A call centre acting as a grievance manager (every area), the same
    # limited to district A, one acting as an officer of district B, one
    # of the sensitive cases group, one that may only read; 'full' acts
    # as the default API user, of no grievance group.
    api.make_client('grv', scopes=GRV_SCOPES, user=api.users['manager'])
    api.make_client('grv_north_a', scopes=GRV_SCOPES, areas=['TL-N-A'],
        user=api.users['manager'])
    api.make_client('grv_officer_b', scopes=GRV_SCOPES,
        user=api.users['officer_b'])
    api.make_client('grv_sensitive', scopes=GRV_SCOPES,
        user=api.users['sensitive'])
    api.make_client('grv_reader', scopes=['grievance:read'],
        user=api.users['manager'])
    yield api
    stop()


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def status(api, reference, key='grv'):
    response = api.get(f'/grievances/{quote(reference)}', key=key)
    assert response.status_code == 200, response.text
    return response.json()


def record(api, reference, fields):
    "The ticket as Tryton holds it (read as admin over JSON-RPC)."
    ids = api.rpc('model.spp.grievance.search',
        [('reference', '=', reference)], 0, None, None)
    assert len(ids) == 1, ids
    row, = api.rpc('model.spp.grievance.read', ids, fields)
    return row


def count(api):
    return api.rpc('model.spp.grievance.search_count', [])


def complaint(**values):
    body = {'category': 'payment', 'description': "The May payment did "
        "not come.", **values}
    return body


def attachment(data, filename='letter.pdf', content_type='application/pdf'):
    return {'filename': filename, 'content_type': content_type,
        'data': base64.b64encode(data).decode()}


def strings(value):
    "Every string of a decoded JSON value, its keys too."
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def parse(instant):
    return dt.datetime.fromisoformat(instant.replace('Z', '+00:00'))


# -- filing and following -------------------------------------------------

def test_file_and_follow(api):
    """A registered complainant's complaint is filed with its attachment,
    answered with its receipt, and followed by reference until answered"""
    group = create_household(api, "Santos", 9100, size=2, area='TL-N-A')
    head = group['members'][0]['individual']
    letter = b'%PDF-1.4 the letter of complaint\n' * 100
    receipt = created(api.post('/grievances', key='grv', json=complaint(
                subcategory='missed', channel='phone',
                complainant=f'national_id|{national_id(9100)}',
                complainant_contact="+670 7700 1234", priority='high',
                attachments=[attachment(letter)])))
    assert set(receipt) == {'reference', 'state', 'received_on',
        'acknowledge_by', 'resolve_by', 'receipt'}
    reference = receipt['reference']
    assert receipt['state'] == 'new'
    received = parse(receipt['received_on'])
    assert abs(dt.datetime.now(dt.timezone.utc) - received) < (
        dt.timedelta(minutes=5))
    # Two and ten working days: after the receipt, in that order.
    assert received < parse(receipt['acknowledge_by']) < parse(
        receipt['resolve_by'])
    assert reference in receipt['receipt']
    assert receipt['acknowledge_by'][:10] in receipt['receipt']

    row = record(api, reference, ['channel.code', 'complainant_kind',
            'complainant', 'registrant', 'area', 'category.code',
            'subcategory.code', 'priority', 'description',
            'complainant_contact', 'create_uid', 'attachments'])
    assert row['channel.']['code'] == 'phone'
    assert row['complainant_kind'] == 'registrant'
    head_id, = api.rpc('model.party.party.search',
        [('code', '=', head)], 0, None, None)
    assert row['complainant'] == row['registrant'] == head_id
    assert row['area'] == api.areas['TL-N-A']
    assert row['subcategory.']['code'] == 'missed'
    assert row['priority'] == 'high'
    assert row['description'] == "The May payment did not come."
    assert row['complainant_contact'] == "+670 7700 1234"
    assert row['create_uid'] == api.users['manager']
    kept, = api.rpc('model.ir.attachment.read', row['attachments'],
        ['name', 'data', 'description'])
    assert kept['name'] == 'letter.pdf'
    assert base64.b64decode(kept['data']['base64']) == letter
    assert 'application/pdf' in kept['description']

    followed = status(api, reference)
    assert set(followed) == STATUS_KEYS
    assert followed == {
        'reference': reference, 'state': 'new', 'category': 'payment',
        'subcategory': 'missed', 'received_on': receipt['received_on'],
        'acknowledge_by': receipt['acknowledge_by'],
        'resolve_by': receipt['resolve_by'], 'acknowledged_on': None,
        'resolved_on': None, 'decision': None, 'answer': None,
        'appeal_of': None}

    # Handled in Tryton: a decision under way is not shown; once resolved
    # it is, with the answer.
    grievance_id, = api.rpc('model.spp.grievance.search',
        [('reference', '=', reference)], 0, None, None)
    api.rpc('model.spp.grievance.acknowledge', [grievance_id])
    api.rpc('model.spp.grievance.write', [grievance_id], {
            'decision': 'upheld',
            'resolution': "The payment is sent again this week."})
    followed = status(api, reference)
    assert followed['state'] == 'acknowledged'
    assert followed['acknowledged_on']
    assert followed['decision'] is None and followed['answer'] is None
    api.rpc('model.spp.grievance.resolve', [grievance_id])
    followed = status(api, reference)
    assert followed['state'] == 'resolved' and followed['resolved_on']
    assert followed['decision'] == 'upheld'
    assert followed['answer'] == "The payment is sent again this week."

    # An appeal names the ticket it contests.
    session, _, _ = api.rpc('wizard.spp.grievance.appeal.create')
    api.server.call('wizard.spp.grievance.appeal.execute', [session,
            {'start': {'description': "The payment never came.",
                    'team': None}}, 'open_',
            {'active_model': 'spp.grievance', 'active_id': grievance_id,
                'active_ids': [grievance_id]}],
        session=api.admin_session)
    appeal, = api.rpc('model.spp.grievance.search',
        [('appeal_of', '=', grievance_id)], 0, None, None)
    appeal_ref, = api.rpc('model.spp.grievance.read', [appeal],
        ['reference'])
    followed = status(api, appeal_ref['reference'])
    assert followed['appeal_of'] == reference
    assert followed['state'] == 'new' and followed['answer'] is None


def test_anonymous_and_unregistered(api):
    """Without a complainant: anonymous, or a person not in the registry
    (name and contact), in the area sent; defaults: channel partner,
    priority normal; a date of receipt counts the deadlines from it"""
    before = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
        ).replace(microsecond=0)
    anonymous = created(api.post('/grievances', key='grv',
            json=complaint(category='exclusion', area='TL-N-B',
                received_on=before.strftime('%Y-%m-%dT%H:%M:%SZ'))))
    assert parse(anonymous['received_on']) == before
    assert parse(anonymous['acknowledge_by']) == before + dt.timedelta(
        hours=48)
    row = record(api, anonymous['reference'], ['complainant_kind',
            'channel.code', 'priority', 'area', 'complainant_name'])
    assert row['complainant_kind'] == 'anonymous'
    assert row['channel.']['code'] == 'partner'
    assert row['priority'] == 'normal'
    assert row['area'] == api.areas['TL-N-B']

    other = created(api.post('/grievances', key='grv', json=complaint(
                area='TL-S', complainant_name="Maria Soares",
                complainant_contact="maria@example.org")))
    row = record(api, other['reference'], ['complainant_kind',
            'complainant_name', 'complainant_contact', 'area'])
    assert row['complainant_kind'] == 'other'
    assert row['complainant_name'] == "Maria Soares"
    assert row['area'] == api.areas['TL-S']

    # About a registrant, filed by someone else: the registrant's area.
    group = create_household(api, "Lima", 9150, size=1, area='TL-N-B')
    about = created(api.post('/grievances', key='grv', json=complaint(
                registrant=group['code'], complainant_name="A neighbour")))
    row = record(api, about['reference'], ['registrant', 'complainant',
            'area'])
    assert row['complainant'] is None and row['registrant']
    assert row['area'] == api.areas['TL-N-B']


def test_attachment_size(api):
    """An attachment up to `[spp_grievance] max_attachment_size` (5 MB by
    default) is kept, over the API's usual body size; a larger one is
    refused with 413 naming it, and nothing is written"""
    large = bytes(range(256)) * (3 * MB // 256)
    receipt = created(api.post('/grievances', key='grv', json=complaint(
                area='TL-N-A', attachments=[
                    attachment(b'a note', 'note.txt', 'text/plain'),
                    attachment(large, 'photo.jpg', 'image/jpeg')])))
    row = record(api, receipt['reference'], ['attachments'])
    sizes = api.rpc('model.ir.attachment.read', row['attachments'],
        ['name', 'data_size'])
    assert sorted((s['name'], s['data_size']) for s in sizes) == [
        ('note.txt', 6), ('photo.jpg', len(large))]

    before = count(api)
    error = error_of(api.post('/grievances', key='grv', json=complaint(
                area='TL-N-A', attachments=[
                    attachment(b'a note', 'note.txt', 'text/plain'),
                    attachment(b'x' * (5 * MB + 1))])), 413, 'too_large')
    assert error['message'] == ("body.attachments[1]: 5.0 MB is more than "
        "an attachment may hold (5.0 MB).")
    # Far over: refused before the body is read.
    error_of(api.post('/grievances', key='grv', data=b'{' + b' ' * (40 * MB),
            headers={'Content-Type': 'application/json'}), 413, 'too_large')
    assert count(api) == before


# -- refusals --------------------------------------------------------------

def test_bad_input(api):
    "Each mistake answers 422 (or 413) saying what, and writes nothing"
    group = create_household(api, "Bad", 9200, size=1, area='TL-N-A')
    head = group['members'][0]['individual']
    before = count(api)
    now = dt.datetime.now(dt.timezone.utc)
    for body, message in [
            (complaint(category='nope', area='TL-N-A'),
                "body.category: unknown category 'nope'."),
            (complaint(category='missed', area='TL-N-A'),
                "body.category: 'missed' is a subcategory of 'payment': "
                "send that as the category and 'missed' as the "
                "subcategory."),
            (complaint(category='exclusion', subcategory='missed',
                    area='TL-N-A'),
                "body.subcategory: 'missed' is not a subcategory of "
                "'exclusion'."),
            (complaint(subcategory='lost', area='TL-N-A'),
                "body.subcategory: unknown subcategory 'lost'."),
            # Anonymous, confidential, with contact details, no category.
            ({'description': "They asked me for money.", 'area': 'TL-N-A',
                    'confidential': True,
                    'complainant_contact': "+670 7700 9999"},
                "body: missing field(s): category."),
            (complaint(), "body.area: required when the complaint names "
                "no registrant with an area."),
            (complaint(area='XX'), "body.area: unknown code 'XX'."),
            (complaint(area='TL-N-A', channel='fax'),
                "body.channel: unknown code 'fax'."),
            (complaint(area='TL-N-A', priority='asap'),
                "body.priority: one of low, normal, high, urgent is "
                "expected."),
            (complaint(area='TL-N-A', description="   "),
                "body.description: may not be empty."),
            (complaint(area='TL-N-A', description="x" * 2001),
                "body.description: at most 2000 characters."),
            (complaint(complainant=head, complainant_name="Someone"),
                "body.complainant_name: only for a person not in the "
                "registry (no complainant handle)."),
            (complaint(area='TL-N-A', received_on=(
                        now + dt.timedelta(days=1)).isoformat()),
                "body.received_on: in the future."),
            (complaint(area='TL-N-A', attachments=[
                        {'filename': 'a.txt', 'data': 'not base64!'}]),
                "body.attachments[0].data: 'not base64!' is not valid "
                "here."),
            (complaint(area='TL-N-A', attachments=[
                        {'filename': 'a.txt', 'data': 'YQ=='}] * 6),
                "body.attachments: at most 5 items."),
            (complaint(area='TL-N-A', team='DA'),
                "body: unknown field(s): team."),
            ]:
        error = error_of(api.post('/grievances', key='grv', json=body), 422,
            'validation_error')
        assert error['message'] == message, (body, error)
    assert count(api) == before


def test_unknown_and_hidden_registrant_alike(api):
    """An unknown complainant and one outside the caller's areas (the
    client's, or its acting user's) get the same answer"""
    south = create_household(api, "Sul", 9300, size=1, area='TL-S')
    north = create_household(api, "Norte", 9310, size=1, area='TL-N-A')
    before = count(api)
    answers = set()
    for key, handle in [
            ('grv_north_a', south['members'][0]['individual']),
            ('grv_north_a', f'national_id|{national_id(9300)}'),
            ('grv_north_a', south['code']),
            ('grv_north_a', 'NOPE-0001'),
            ('grv_north_a', f'national_id|{national_id(9399)}'),
            ('grv_north_a', 'dna|123'),
            # An officer of district B: district A's registrant.
            ('grv_officer_b', north['members'][0]['individual']),
            ('grv_officer_b', f'national_id|{national_id(9310)}'),
            ('grv_officer_b', 'NOPE-0001'),
            ]:
        error = error_of(api.post('/grievances', key=key,
                json=complaint(complainant=handle)), 422)
        answers.add((error['code'], error['message']))
    assert answers == {('validation_error',
            "body.complainant: no registrant matches this handle.")}
    error = error_of(api.post('/grievances', key='grv_north_a',
            json=complaint(registrant=south['code'], area='TL-N-A')), 422)
    assert error['message'] == (
        "body.registrant: no registrant matches this handle.")
    assert count(api) == before


def test_unknown_reference(api):
    "An unknown reference is not found; a malformed one is refused"
    error = error_of(api.get('/grievances/GRV-0000-999999', key='grv'), 404,
        'not_found')
    assert error['message'] == "No grievance matches this handle."
    error_of(api.get('/grievances/' + quote('GRV 1'), key='grv'), 422)
    # No list: a ticket is followed by the reference its receipt gives.
    response = api.get('/grievances', key='grv')
    error_of(response, 405, 'method_not_allowed')
    assert response.headers['Allow'] == 'POST'


# -- who reads what --------------------------------------------------------

def test_scopes_and_groups(api):
    """A key without the scope answers 403 forbidden_scope; a client whose
    acting user is in no grievance group 403 forbidden_user"""
    before = count(api)
    body = complaint(area='TL-N-A')
    error_of(api.post('/grievances', key='reader', json=body), 403,
        'forbidden_scope')
    error_of(api.post('/grievances', key='grv_reader', json=body), 403,
        'forbidden_scope')
    error_of(api.get('/grievances/GRV-1', key='reader'), 403,
        'forbidden_scope')
    error = error_of(api.post('/grievances', key='full', json=body), 403,
        'forbidden_user')
    assert error['message'] == ("This client's acting user may not file "
        "grievances: give it a grievance group (Grievance Officer) in "
        "Tryton.")
    assert count(api) == before
    reference = created(api.post('/grievances', key='grv',
            json=body))['reference']
    error_of(api.get(f'/grievances/{reference}', key='full'), 403,
        'forbidden_user')
    assert status(api, reference, key='grv_reader')['state'] == 'new'


def test_other_area_not_readable(api):
    """A ticket outside the client's areas, or its acting user's, reads
    as 404 like an unknown one; filing there is refused"""
    unknown = error_of(api.get('/grievances/GRV-0000-999998', key='grv'),
        404)['message']
    south = created(api.post('/grievances', key='grv',
            json=complaint(area='TL-S')))['reference']
    north_a = created(api.post('/grievances', key='grv',
            json=complaint(area='TL-N-A')))['reference']
    for key, hidden, seen in [('grv_north_a', south, north_a),
            ('grv_officer_b', north_a, None)]:
        error = error_of(api.get(f'/grievances/{hidden}', key=key), 404,
            'not_found')
        assert error['message'] == unknown
        if seen:
            assert status(api, seen, key=key)['reference'] == seen
    before = count(api)
    error_of(api.post('/grievances', key='grv_north_a',
            json=complaint(area='TL-S')), 403, 'forbidden_area')
    error = error_of(api.post('/grievances', key='grv_officer_b',
            json=complaint(area='TL-N-A')), 403, 'forbidden_area')
    assert error['message'] == ("This client's acting user may not file "
        "grievances in this area.")
    assert count(api) == before
    # In its own district the officer files and follows.
    mine = created(api.post('/grievances', key='grv_officer_b',
            json=complaint(area='TL-N-B')))['reference']
    assert status(api, mine, key='grv_officer_b')['state'] == 'new'
    assert record(api, mine, ['create_uid'])['create_uid'] == (
        api.users['officer_b'])


def test_sensitive_ticket_not_revealed(api):
    """A complaint of a sensitive category is filed by any grievance
    client in its areas and followed by its receiver while new (to hand
    over the receipt, as in Tryton); else only the sensitive cases group
    reads it: 404 for the others, as an unknown ticket"""
    unknown = error_of(api.get('/grievances/GRV-0000-999997', key='grv'),
        404)['message']
    for filer, other in [('grv', 'grv_officer_b'),
            ('grv_officer_b', 'grv')]:
        receipt = created(api.post('/grievances', key=filer,
                json=complaint(category='misconduct', area='TL-N-B',
                    description="The officer asked me for money.")))
        reference = receipt['reference']
        assert record(api, reference, ['sensitive'])['sensitive']
        assert status(api, reference, key=filer)['state'] == 'new'
        error = error_of(api.get(f'/grievances/{reference}', key=other),
            404, 'not_found')
        assert error['message'] == unknown
        assert status(api, reference, key='grv_sensitive')['category'] == (
            'misconduct')
        grievance_id, = api.rpc('model.spp.grievance.search',
            [('reference', '=', reference)], 0, None, None)
        api.rpc('model.spp.grievance.acknowledge', [grievance_id])
        for key in [filer, other]:
            error = error_of(api.get(f'/grievances/{reference}', key=key),
                404, 'not_found')
            assert error['message'] == unknown
        assert status(api, reference, key='grv_sensitive')['state'] == (
            'acknowledged')


def test_confidential_complainant_never_named(api):
    """No answer, to any client, names a confidential complainant: not
    its code, name, ID or contact"""
    group = create_household(api, "Zelia", 9400, size=1, area='TL-N-A')
    member = group['members'][0]
    # Codes may be short numbers: no value is one; nothing holds the rest.
    codes = {member['individual'], group['code']}
    secrets = ["Zelia", national_id(9400), "7700 5555"]
    answers = [api.post('/grievances', key='grv', json=complaint(
                complainant=member['individual'], confidential=True,
                complainant_contact="+670 7700 5555"))]
    reference = answers[0].json()['reference']
    answers += [api.post('/grievances', key='grv', json=complaint(
                category='misconduct', confidential=True,
                complainant=f'national_id|{national_id(9400)}'))]
    sensitive_ref = answers[1].json()['reference']
    answers += [api.get(f'/grievances/{reference}', key=key)
        for key in ['grv', 'grv_sensitive', 'grv_north_a']]
    answers += [api.get(f'/grievances/{sensitive_ref}', key='grv_sensitive')]
    assert [a.status_code for a in answers] == [201, 201, 200, 404, 200, 200]
    for answer in answers:
        for value in strings(answer.json()):
            assert value not in codes, (value, answer.text)
            for secret in secrets:
                assert secret not in value, (secret, answer.text)
    row = record(api, reference, ['complainant', 'confidential'])
    assert row['confidential'] and row['complainant']


# -- OpenAPI ---------------------------------------------------------------

def test_openapi_lists_grievances(api):
    "With spp_grievance activated, its resources are documented"
    from openapi_spec_validator import validate

    from trytond.modules.spp_api.resources import OPERATIONS
    document = requests.get(api.url('/openapi.json'), timeout=30).json()
    validate(document)
    documented = {(m.upper(), p) for p, methods in document['paths'].items()
        for m in methods}
    assert documented == {(o.method, o.path) for o in OPERATIONS
        if o.requires in {None, 'spp.grievance'}}
    assert {('POST', '/grievances'), ('GET', '/grievances/{reference}')} <= (
        documented)
    schemas = document['components']['schemas']
    create = schemas['GrievanceCreate']
    assert create['additionalProperties'] is False
    assert create['required'] == ['category', 'description']
    assert create['properties']['attachments']['items'] == {
        '$ref': '#/components/schemas/GrievanceAttachment'}
    assert schemas['GrievanceAttachment']['properties']['data'][
        'format'] == 'byte'
    assert set(schemas['Grievance']['properties']) == STATUS_KEYS
    post = document['paths']['/grievances']['post']
    assert post['description'] == "Scope: `grievance:create`."
    assert '413' in post['responses'] and '201' in post['responses']
    assert 'grievance:read' in document['info']['description']


def test_schemathesis_grievances(api, artifacts):
    "Generated requests on the grievance resources: no 5xx"
    from .test_api_openapi import run_schemathesis
    api.make_client('grv_fuzzer', scopes=GRV_SCOPES, rate_limit=0,
        user=api.users['manager'])
    run_schemathesis(api, artifacts, 'grv_fuzzer', 'schemathesis-grievances',
        '^/grievances', examples=SCHEMATHESIS_EXAMPLES)
