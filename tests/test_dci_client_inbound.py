"""The DCI client against a live server: a subscription asked of a fake
registry over HTTP and confirmed by its on-subscribe callback at our
route; what the routes refuse (unsigned, forged, another sender, a
replayed message id, an answer nobody waits for, an unknown registry)."""
import uuid

import pytest

from trytond.modules.spp_dci_client.tests.fake_registry import FakeRegistry
from trytond.modules.spp_dci_client.tests.tools import registry_values

from .server import TestDatabase, running_server
from .test_api_support import Api


@pytest.fixture(scope='module')
def setup(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-client')
    database = TestDatabase.create(workdir, 'dcic',
        modules=['spp_dci_client'], uri=backend_uri)
    fake = FakeRegistry()
    fake.handlers['/registry/subscribe'] = lambda body: (200, {
            'message': {'ack_status': 'ACK', 'correlation_id': 'c'}}, 'raw')
    fake.handlers['/registry/unsubscribe'] = lambda body: (200, {
            'message': {'ack_status': 'ACK', 'correlation_id': 'c'}}, 'raw')
    try:
        with running_server(database,
                extra_config="[spp_dci_client]\nretry_pause = 0\n") as server:
            api = Api(server, server.login())
            base = f'{server.url.rstrip("/")}/{database.name}'
            api.make_areas()
            registry, = api.rpc('model.spp.dci.registry.create', [
                    registry_values(fake, name="Civil Registry",
                        callback_base=base, attempts=2, page_size=100,
                        batch_size=100,
                        areas=[['add', [api.areas['TL-N']]]])])
            yield {'api': api, 'fake': fake, 'registry': registry,
                'url': f'{base}/dci/crvs/registry'}
    finally:
        fake.stop()
        database.drop()


def subscription(setup, event='death'):
    api = setup['api']
    record, = api.rpc('model.spp.dci.client.subscription.create', [{
                'registry': setup['registry'], 'event_type': event}])
    return record


def read(setup, model, ids, names):
    return setup['api'].rpc(f'model.{model}.read', ids, names)


def test_subscribe_confirmed_by_callback(setup):
    "subscribe → requested; the on-subscribe callback makes it active"
    api, fake = setup['api'], setup['fake']
    record = subscription(setup)
    api.rpc('model.spp.dci.client.subscription.subscribe', [record])
    body = fake.calls_to('/registry/subscribe')[-1]
    criteria = body['message']['subscribe_request'][0]['subscribe_criteria']
    # Our areas (TL-N and the districts below), not the whole country.
    assert criteria['filter'][0]['expression1']['attribute_value'] == [
        'TL-N', 'TL-N-A', 'TL-N-B']
    assert body['header']['sender_uri'] == setup['url'] + '/on-subscribe'
    (state, transaction_id), = [(r['state'], r['transaction_id'])
        for r in read(setup, 'spp.dci.client.subscription', [record],
            ['state', 'transaction_id'])]
    assert state == 'requested'

    response, _ = fake.send(setup['url'] + '/on-subscribe', 'on-subscribe', {
            'transaction_id': transaction_id, 'correlation_id': 'c',
            'subscribe_response': [{'reference_id': str(record),
                    'timestamp': '2026-12-07T10:00:00Z', 'status': 'succ',
                    'subscriptions': [{'code': 'SUB-1', 'status':
                            'subscribe', 'timestamp':
                            '2026-12-07T10:00:00Z'}]}]},
        receiver_id='spmis.test')
    assert response.status_code == 200, response.text
    assert response.json()['message']['ack_status'] == 'ACK'
    values, = read(setup, 'spp.dci.client.subscription', [record],
        ['state', 'code'])
    assert (values['state'], values['code']) == ('active', 'SUB-1')

    api.rpc('model.spp.dci.client.subscription.unsubscribe', [record])
    body = fake.calls_to('/registry/unsubscribe')[-1]
    assert body['message']['subscription_codes'] == ['SUB-1']
    values, = read(setup, 'spp.dci.client.subscription', [record],
        ['state'])
    assert values['state'] == 'cancelled'

    # Every exchange is on record, both ways.
    exchanges = api.rpc('model.spp.dci.exchange.search_read',
        [('registry', '=', setup['registry'])], 0, None, None,
        ['direction', 'action', 'state'])
    assert {(e['direction'], e['action'], e['state'])
        for e in exchanges} >= {('out', 'subscribe', 'answered'),
        ('in', 'on-subscribe', 'done'), ('out', 'unsubscribe', 'done')}


def test_registry_down_subscription_stays_draft(setup):
    "A registry that answers 503: the user gets the error, nothing changes"
    api, fake = setup['api'], setup['fake']
    record = subscription(setup, 'live_birth')
    fake.fail = 5
    try:
        with pytest.raises(Exception) as raised:
            api.rpc('model.spp.dci.client.subscription.subscribe', [record])
    finally:
        fake.fail = 0
    assert 'HTTP 503' in str(raised.value)
    values, = read(setup, 'spp.dci.client.subscription', [record],
        ['state'])
    assert values['state'] == 'draft'
    failed = api.rpc('model.spp.dci.exchange.search_read', [
            ('registry', '=', setup['registry']),
            ('action', '=', 'subscribe'), ('state', '=', 'failed')],
        0, None, None, ['attempts', 'http_status'])
    assert failed and failed[0]['attempts'] == 2
    assert failed[0]['http_status'] == 503


def on_search(transaction_id='nobody'):
    return {'transaction_id': transaction_id, 'correlation_id': 'c',
        'search_response': []}


def test_refusals(setup):
    "Unsigned, forged, another sender, replayed, unknown: refused, recorded"
    fake, url = setup['fake'], setup['url']
    response, _ = fake.send(url + '/on-search', 'on-search', on_search(),
        signed=False)
    assert response.status_code == 401
    body = response.json()
    assert body['message']['ack_status'] == 'ERR'
    assert body['errors'][0]['code'] == 'err.signature.missing'
    assert body['error']['code'] == 'err.signature.missing'

    fake.bad_signature = True
    try:
        response, _ = fake.send(url + '/on-search', 'on-search',
            on_search())
    finally:
        fake.bad_signature = False
    assert response.status_code == 401
    assert response.json()['error']['code'] == 'err.signature.invalid'

    other = FakeRegistry(sender_id='intruder')
    other.key = fake.key  # even with the right key, not its sender id
    try:
        response, _ = other.send(url + '/on-search', 'on-search',
            on_search())
    finally:
        other.stop()
    assert response.status_code == 403

    response, _ = fake.send(url + '/notify', 'on-search', on_search())
    assert response.status_code == 400  # the action of another route

    response, _ = fake.send(url + '/on-search', 'on-search', on_search())
    assert response.status_code == 404
    assert response.json()['error']['code'] == 'rjct.transaction_id.invalid'

    response, _ = fake.send(url.replace('/crvs/', '/nowhere/')
        + '/on-search', 'on-search', on_search())
    assert response.status_code == 404


def test_replayed_message_refused(setup):
    "A message id is taken once"
    api, fake = setup['api'], setup['fake']
    record = subscription(setup)
    api.rpc('model.spp.dci.client.subscription.subscribe', [record])
    transaction_id, = [r['transaction_id'] for r in read(setup,
            'spp.dci.client.subscription', [record], ['transaction_id'])]
    message = {'transaction_id': transaction_id, 'correlation_id': 'c',
        'subscribe_response': [{'reference_id': str(record),
                'timestamp': '2026-12-07T10:00:00Z', 'status': 'rjct',
                'status_reason_code': 'rjct.notify_details.invalid',
                'status_reason_message': "No such area"}]}
    message_id = str(uuid.uuid4())
    first, _ = fake.send(setup['url'] + '/on-subscribe', 'on-subscribe',
        message, message_id=message_id)
    assert first.status_code == 200, first.text
    again, _ = fake.send(setup['url'] + '/on-subscribe', 'on-subscribe',
        message, message_id=message_id)
    assert again.status_code == 409
    assert again.json()['error']['code'] == 'rjct.message_id.duplicate'
    values, = read(setup, 'spp.dci.client.subscription', [record],
        ['state', 'refusal'])
    assert values == {'id': record, 'state': 'refused',
        'refusal': "No such area"}
    refused = api.rpc('model.spp.dci.exchange.search_count', [
            ('registry', '=', setup['registry']),
            ('direction', '=', 'in'), ('state', '=', 'refused')])
    assert refused >= 1


def test_secret_for_administrators_only(setup):
    "Registrars may read registries (their names), never the secret"
    api = setup['api']
    user, = api.rpc('model.res.user.create', [{'name': "Reg", 'login':
                'reg_dci', 'password': 'a-Long-passw0rd-4-tests',
                'groups': [['add', api.rpc('model.res.group.search',
                                [('name', '=', 'Registrar')])]]}])
    session = api.server.login('reg_dci', 'a-Long-passw0rd-4-tests')
    values, = api.server.call('model.spp.dci.registry.read',
        [[setup['registry']], ['name'], {}], session=session,
        login='reg_dci')
    assert values['name'] == "Civil Registry"
    with pytest.raises(Exception):
        api.server.call('model.spp.dci.registry.read',
            [[setup['registry']], ['client_secret'], {}], session=session,
            login='reg_dci')
    with pytest.raises(Exception):
        api.server.call('model.spp.dci.exchange.search',
            [[], 0, None, None, {}], session=session, login='reg_dci')
