"""CRVS life events against a live server: a fake civil registry POSTs
signed notify messages (validated against the registry core spec) to our
route over HTTP. A death is applied end to end (deceased, disabled,
spouse widowed, household recounted, the event kept); the route refuses
an unknown subscription, a forged or missing signature and a replayed
message id, and writes nothing then."""
import datetime as dt
import uuid

import pytest

from trytond.modules.spp_dci_client.tests.fake_registry import FakeRegistry
from trytond.modules.spp_dci_client.tests.tools import registry_values
from trytond.modules.spp_dci_client.tests.test_crvs import (
    NOTIFY, crvs_person, notify_message, validate)

ACK = '#/components/responses/Response/content/application~1json/schema'
ERROR = ('#/components/responses/HttpErrorResponse/content/'
    'application~1json/schema')

from .server import TestDatabase, running_server
from .test_api_support import Api, national_id


@pytest.fixture(scope='module')
def setup(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-crvs')
    # The modules of test_dci_client_inbound.py: one template for both.
    database = TestDatabase.create(workdir, 'dcicrvs',
        modules=['spp_dci_client'], uri=backend_uri)
    fake = FakeRegistry()
    try:
        with running_server(database,
                extra_config="[spp_dci_client]\nretry_pause = 0\n") as server:
            api = Api(server, server.login())
            base = f'{server.url.rstrip("/")}/{database.name}'
            api.make_areas()
            registry, = api.rpc('model.spp.dci.registry.create', [
                    registry_values(fake, name="Civil Registry",
                        callback_base=base, attempts=2, page_size=100,
                        batch_size=100, mappings=[['create', [{
                                        'category': 'identifier_type',
                                        'external_code': 'UIN',
                                        'internal_code': 'national_id'}]]])])
            subscription, = api.rpc(
                'model.spp.dci.client.subscription.create', [{
                        'registry': registry, 'event_type': 'death',
                        'state': 'active', 'code': 'SUB-DEATHS'}])
            yield {'api': api, 'fake': fake, 'registry': registry,
                'url': f'{base}/dci/crvs/registry/notify'}
    finally:
        fake.stop()
        database.drop()


def household(api, seed):
    "A married couple of district A: (group, husband, wife, their IDs)."
    rpc = api.rpc
    ids = [national_id(seed), national_id(seed + 1)]
    roles = {r['code']: r['id'] for r in rpc(
            'model.spp.group.membership.role.search_read', [], 0, None,
            None, ['code'])}
    people = rpc('model.party.party.create', [{
                'registrant_type': 'individual', 'family_name': "Lopes",
                'given_name': given, 'civil_status': 'married',
                'birth_date': '1950-03-04', 'area': api.areas['TL-N-A'],
                'identifiers': [['create', [{'type': 'national_id',
                                'code': number}]]]}
            for given, number in zip(["Rui", "Ines"], ids)])
    group, = rpc('model.party.party.create', [{
                'registrant_type': 'group', 'name': f"Lopes {seed}",
                'area': api.areas['TL-N-A'],
                'memberships': [['create', [
                            {'individual': people[0],
                                'roles': [['add', [roles['head']]]]},
                            {'individual': people[1],
                                'roles': [['add', [roles['spouse']]]]},
                            ]]]}])
    return group, people[0], people[1], ids


def send(setup, code, records, message_id=None, signed=True):
    fake = setup['fake']
    message = notify_message(code, records)
    response, body = fake.send(setup['url'], 'notify', message,
        receiver_id='spmis.test', message_id=message_id, signed=signed)
    if signed:
        validate(body, NOTIFY)
    return response


def events(api, **domain):
    return api.rpc('model.spp.dci.life.event.search_read',
        [(k, '=', v) for k, v in domain.items()], 0, None, [['id', 'ASC']],
        ['state', 'registrant', 'widowed', 'review_reason', 'event_date'])


def test_death_end_to_end(setup):
    "A signed death notification over HTTP: applied, kept with its changes"
    api = setup['api']
    group, husband, wife, ids = household(api, 880100)
    died = dt.date.today() - dt.timedelta(days=2)
    response = send(setup, 'SUB-DEATHS', [
            crvs_person(ids[0], death_date=died, sex='male'),
            crvs_person(national_id(880999), death_date=died)])
    assert response.status_code == 200, response.text
    assert response.json()['message']['ack_status'] == 'ACK'
    validate(response.json(), ACK)
    person, = api.rpc('model.party.party.read', [husband],
        ['death_date', 'disabled', 'death_source'])
    assert person['death_date'] == {'__class__': 'date',
        'year': died.year, 'month': died.month, 'day': died.day}
    assert person['disabled'] and person['death_source'] == setup['registry']
    spouse, = api.rpc('model.party.party.read', [wife], ['civil_status'])
    assert spouse['civil_status'] == 'widowed'
    counts, = api.rpc('model.party.party.read', [group], ['member_count'])
    assert counts['member_count'] == 1
    applied, unknown = events(api, registrant=husband) + events(
        api, review_reason='unknown_person')
    assert (applied['state'], applied['widowed']) == ('applied', wife)
    assert unknown['state'] == 'review'
    exchange, = api.rpc('model.spp.dci.exchange.search_read', [
            ('direction', '=', 'in'), ('action', '=', 'notify'),
            ('state', '=', 'done')], 0, None, None, ['records'])
    assert exchange['records'] == 2


@pytest.mark.parametrize('case', ['unknown_subscription', 'forged',
        'unsigned', 'replayed'])
def test_refusals(setup, case):
    "Refused notifications change nothing and are recorded as refused"
    api, fake = setup['api'], setup['fake']
    seed = 881000 + 10 * ['unknown_subscription', 'forged', 'unsigned',
        'replayed'].index(case)
    _, husband, _, ids = household(api, seed)
    record = crvs_person(ids[0], death_date=dt.date.today(), sex='male')
    before = len(events(api))
    code, message_id = 'SUB-DEATHS', str(uuid.uuid4())
    expected = {'unknown_subscription': (404, 'rjct.subscription.invalid'),
        'forged': (401, 'err.signature.invalid'),
        'unsigned': (401, None), 'replayed': (409,
            'rjct.message_id.duplicate')}[case]
    if case == 'unknown_subscription':
        code = 'SUB-NOT-OURS'
    elif case == 'replayed':
        # The first one with this message id is taken, about someone else.
        other = crvs_person(national_id(881999), death_date=dt.date.today())
        assert send(setup, code, [other], message_id).status_code == 200
        before = len(events(api))
    if case == 'forged':
        fake.bad_signature = True
    try:
        response = send(setup, code, [record], message_id,
            signed=case != 'unsigned')
    finally:
        fake.bad_signature = False
    assert response.status_code == expected[0], response.text
    body = response.json()
    assert body['message']['ack_status'] == 'ERR'
    # The HTTP error body of the spec. (Its Ack error codes are a closed
    # list without the rjct.* codes of refused notifications.)
    validate(body, ERROR)
    if expected[1]:
        assert body['message']['error']['code'] == expected[1]
    assert len(events(api)) == before
    person, = api.rpc('model.party.party.read', [husband], ['death_date'])
    assert person['death_date'] is None
    assert api.rpc('model.spp.dci.exchange.search_count', [
            ('direction', '=', 'in'), ('state', '=', 'refused')])
