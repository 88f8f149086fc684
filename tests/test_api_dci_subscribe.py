"""DCI subscriptions against a live server that signs its messages:
/registry/subscribe and /registry/unsubscribe (ACK, then on-subscribe /
on-unsubscribe callbacks), and the notify calls to subscribers when
registrants matching a subscription are created or changed (queued,
retried, signed; restricted to the client's areas). Requests, ACKs,
callbacks and notifications are validated against the DCI registry core
spec (tests/data), which holds the subscription schemas."""
import copy
import functools
import uuid
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from openapi_schema_validator import OAS30Validator

from .server import TestDatabase, running_server
from .test_api_dci import any_of, now
from .test_api_dci_async import (
    ACK, Receiver, pem_public, registry_signed, signed, status_body)
from .test_api_support import Api, household_body

CORE = Path(__file__).resolve().parent / 'data' / (
    'dci_registry_core_api_v1.0.0.yaml')


def body_schema(path):
    return (f'#/paths/~1registry~1{path}/post/requestBody/content/'
        'application~1json/schema')


@functools.lru_cache
def core_spec():
    spec = any_of(yaml.safe_load(CORE.read_text()))
    # Upstream slip: a misspelt required name of UnSubscribeRequest.
    schemas = spec['components']['schemas']
    schemas['UnSubscribeRequest']['required'] = [
        'transaction_id', 'timestamp', 'subscription_codes']
    return spec


def validate(instance, pointer):
    schema = copy.copy(core_spec())
    schema['$ref'] = pointer
    OAS30Validator(schema).validate(instance)


@pytest.fixture(scope='module')
def setup(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-subscribe')
    registry_key = ed25519.Ed25519PrivateKey.generate()
    key_path = workdir / 'registry.pem'
    key_path.write_bytes(registry_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    key_path.chmod(0o600)
    database = TestDatabase.create(workdir, 'dcisub', modules=['spp_api'],
        uri=backend_uri)
    receiver = Receiver()
    config = ("[spp_dci]\n"
        f"signing_key = {key_path}\n"
        "sender_id = registry.test\n"
        "retry_delays = 0\n"
        "notify_batch_size = 2\n"
        "callback_timeout = 5\n")
    try:
        with running_server(database, extra_config=config) as server:
            api = Api(server, server.login())
            api.make_areas()
            api.make_client('full')
            api.make_client('north', areas=['TL-N-A'])
            sender_key = ed25519.Ed25519PrivateKey.generate()
            api.rpc('model.spp.dci.sender.create', [
                    {'sender_id': 'sub.example', 'name': "Subscriber",
                        'client': api.clients['full'],
                        'callback_url': receiver.url,
                        'public_key': pem_public(sender_key)},
                    {'sender_id': 'north.example', 'name': "North",
                        'client': api.clients['north'],
                        'callback_url': receiver.url},
                    {'sender_id': 'must-sign.example', 'name': "Signed",
                        'client': api.clients['full'],
                        'callback_url': receiver.url,
                        'public_key': pem_public(sender_key),
                        'signature_required': True},
                    ])
            yield {'api': api, 'receiver': receiver,
                'registry_key': registry_key.public_key(),
                'sender_key': sender_key}
    finally:
        receiver.stop()
        database.drop()


def subscribe_body(*criteria, sender='sub.example', receiver=None):
    items = [{'reference_id': f'sub-{number}', 'timestamp': now(),
            'subscribe_criteria': item}
        for number, item in enumerate(criteria)]
    header = {'version': '1.0.0', 'message_id': uuid.uuid4().hex,
        'message_ts': now(), 'action': 'subscribe', 'sender_id': sender,
        'total_count': len(items)}
    if receiver:
        header['sender_uri'] = receiver.url + 'on-subscribe'
    return {'header': header, 'message': {
            'transaction_id': uuid.uuid4().hex[:20],
            'subscribe_request': items}}


def criteria(query, event='spdci-common:RegistryEventType:Register',
        record_type='spdci-extensions-dci:Person', collection='Member'):
    return {'reg_event_type': event, 'filter_type': 'expression',
        'filter': {'type': 'ns:org:QueryType:NoSql', 'value': {
                'expression': {'collection': collection, 'query': query}}},
        'notify_record_type': record_type}


def unsubscribe_body(codes, sender='sub.example'):
    return {'header': {'version': '1.0.0', 'message_id': uuid.uuid4().hex,
            'message_ts': now(), 'action': 'unsubscribe',
            'sender_id': sender, 'total_count': len(codes)},
        'message': {'transaction_id': uuid.uuid4().hex[:20],
            'timestamp': now(), 'subscription_codes': codes}}


def run_cron(api, method):
    cron = api.rpc('model.ir.cron.search', [('method', '=', method)])
    api.rpc('model.ir.cron.run_once', cron)


def notify(setup):
    "Run a notification pass: the notify calls it made."
    receiver = setup['receiver']
    before = len(receiver.calls)
    run_cron(setup['api'], 'spp.dci.subscription|notify_changes')
    return [body for path, body in receiver.calls[before:]
        if path == '/dci/notify']


def notified(calls, code):
    "(surname, given name) notified for the subscription `code`."
    names = []
    for call in calls:
        validate(call, body_schema('notify'))
        for event in call['message']['notify_event']:
            if event['subscription_code'] == code:
                record = event['data']['reg_records']
                names.append((record['demographic_info']['name']['surname'],
                        record['demographic_info']['name']['given_name']))
    return names


def subscribe(setup, body, key='full'):
    "POST a subscribe request: (ACK, on-subscribe callback)."
    api, receiver = setup['api'], setup['receiver']
    validate(body, body_schema('subscribe'))
    before = len(receiver.calls)
    response = api.post('/registry/subscribe', json=body, key=key)
    assert response.status_code == 202, response.text
    ack = response.json()
    validate(ack, ACK)
    assert ack['message']['ack_status'] == 'ACK'
    callback, = [b for p, b in receiver.calls[before:]
        if b['header']['action'] == 'on-subscribe']
    validate(callback, body_schema('on-subscribe'))
    registry_signed(setup, callback)
    assert callback['message']['correlation_id'] == ack['message'][
        'correlation_id']
    return ack, callback


def test_subscribe_notify_unsubscribe(setup):
    "on-subscribe, notify for matching changes only, on-unsubscribe"
    api, receiver = setup['api'], setup['receiver']
    api.post('/groups', json=household_body("SubA", 8000, size=1))
    body = subscribe_body(criteria({'family_name': {'$eq': 'SubA'}}),
        criteria({'password': {'$eq': 'x'}}), receiver=receiver)
    body['message']['subscribe_request'][0]['locale'] = 'eng'
    before = len(receiver.calls)
    ack, callback = subscribe(setup, signed(body, setup['sender_key'],
            'ed25519'))
    assert receiver.calls[before][0] == '/dci/on-subscribe'
    assert callback['header']['receiver_id'] == 'sub.example'
    accepted, refused = callback['message']['subscribe_response']
    assert accepted['status'] == 'succ' and accepted['locale'] == 'eng'
    subscription, = accepted['subscriptions']
    code = subscription['code']
    assert subscription['status'] == 'subscribe'
    assert (refused['status'], refused['status_reason_code']) == (
        'rjct', 'rjct.notify_details.invalid')
    assert 'password' in refused['status_reason_message']

    # Registered before the subscription: not notified.
    assert notified(notify(setup), code) == []
    api.post('/groups', json=household_body("SubA", 8010, size=3))
    api.post('/groups', json=household_body("SubZ", 8020, size=1))
    calls = notify(setup)
    # Three matching members, in batches of two; SubZ is not notified.
    assert sorted(notified(calls, code)) == [("SubA", "Member 0"),
        ("SubA", "Member 1"), ("SubA", "Member 2")]
    assert len(calls) == 2
    for call in calls:
        registry_signed(setup, call)
        assert call['header']['action'] == 'notify'
        assert call['header']['receiver_id'] == 'sub.example'
        assert {e['locale'] for e in call['message']['notify_event']} == {
            'eng'}
    # Delivered: nothing personal kept; a second pass sends nothing.
    ids = api.rpc('model.spp.dci.transaction.search',
        [('kind', '=', 'notify')])
    rows = api.rpc('model.spp.dci.transaction.read', ids,
        ['state', 'response', 'request'])
    assert {(r['state'], r['response'], r['request']) for r in rows} == {
        ('delivered', None, None)}
    assert notify(setup) == []

    # The status of the subscribe transaction.
    status = status_body('transaction_id', body['message']['transaction_id'],
        sender='sub.example', transaction_id=body['message'][
            'transaction_id'])
    status['message']['txnstatus_request']['txn_type'] = 'subscribe'
    answer = api.post('/registry/sync/txn/status', json=status).json()
    assert answer['header']['status'] == 'succ'
    assert [(i['reference_id'], i['status']) for i in answer['message'][
            'txnstatus_response']['txn_status']['search_response']] == [
        ('sub-0', 'succ'), ('sub-1', 'rjct')]

    # Unsubscribe: the known code ended, an unknown one named.
    request = unsubscribe_body([code, 'no-such-code'])
    validate(request, body_schema('unsubscribe'))
    before = len(receiver.calls)
    response = api.post('/registry/unsubscribe', json=request)
    assert response.status_code == 202, response.text
    validate(response.json(), ACK)
    path, callback = receiver.calls[before]
    validate(callback, body_schema('on-unsubscribe'))
    registry_signed(setup, callback)
    assert callback['header']['action'] == 'on-unsubscribe'
    message = callback['message']
    assert message['subscription_status'] == [
        {'code': code, 'status': 'unsubscribe'}]
    assert (message['status'], message['status_reason_code']) == (
        'rjct', 'rjct.subscription_code.invalid')
    assert 'no-such-code' in message['status_reason_message']
    state, = api.rpc('model.spp.dci.subscription.read',
        api.rpc('model.spp.dci.subscription.search',
            [('code', '=', code)]), ['state'])
    assert state['state'] == 'unsubscribed'
    api.post('/groups', json=household_body("SubA", 8030, size=1))
    assert notified(notify(setup), code) == []
    # Again: already unsubscribed.
    before = len(receiver.calls)
    api.post('/registry/unsubscribe', json=unsubscribe_body([code]))
    message = receiver.calls[before][1]['message']
    assert message['status_reason_code'] == 'rjct.event.already_unsubscribed'


def test_notify_updates_within_areas_and_retried(setup):
    "Updates notified within the client's areas only; a 503 is retried"
    api, receiver = setup['api'], setup['receiver']
    _, callback = subscribe(setup, subscribe_body(criteria(
                {'family_name': {'$in': ['SubN', 'SubS']}},
                event='update'), sender='north.example'), key='north')
    code = callback['message']['subscribe_response'][0]['subscriptions'][
        0]['code']
    north = api.post('/groups', json=household_body("SubN", 8100,
            area='TL-N-A', size=1)).json()
    south = api.post('/groups', json=household_body("SubS", 8200,
            area='TL-S', size=1)).json()
    notify(setup)
    for group, name in [(north, "Changed N"), (south, "Changed S")]:
        handle = group['members'][0]['individual']
        response = api.patch(f'/individuals/{handle}',
            json={'given_name': name})
        assert response.status_code == 200, response.text
    receiver.fail = 1
    calls = notify(setup)
    receiver.fail = 0
    assert notified(calls, code) == [("SubN", "Changed N")]
    notification, = api.rpc('model.spp.dci.transaction.read',
        api.rpc('model.spp.dci.transaction.search', [('kind', '=', 'notify'),
                ('sender.sender_id', '=', 'north.example')],
            0, 1), ['state', 'attempts', 'last_error'])
    assert (notification['state'], notification['last_error']) == (
        'retrying', 'HTTP 503')
    before = len(receiver.calls)
    run_cron(api, 'spp.dci.transaction|deliver_due')
    path, again = receiver.calls[before]
    assert path == '/dci/notify'
    assert again['message'] == calls[0]['message']
    registry_signed(setup, again)
    assert notified([again], code) == [("SubN", "Changed N")]


def test_subscribe_refused(setup):
    "Refusals per item, per envelope, and of replays and bad signatures"
    api, receiver = setup['api'], setup['receiver']
    family = {'family_name': {'$eq': 'SubR'}}
    ack, callback = subscribe(setup, subscribe_body(
            criteria({'location': {'$eq': 'TL-S'}}),
            criteria(family, record_type='Vehicle'),
            criteria(family, event='Death'),
            criteria(family, collection='Group'),
            criteria(family), criteria(family),
            sender='north.example'), key='north')
    assert [(r['status'], r.get('status_reason_code')) for r in callback[
            'message']['subscribe_response']] == [
        ('rjct', 'rjct.notify_details.invalid'),
        ('rjct', 'rjct.notify_types.invalid'),
        ('rjct', 'rjct.notify_details.invalid'),
        ('rjct', 'rjct.notify_details.invalid'),
        ('succ', None),
        ('rjct', 'rjct.event.already_subscribed')]
    assert 'TL-S' in callback['message']['subscribe_response'][0][
        'status_reason_message']

    # A sender that must sign; a tampered signature.
    body = subscribe_body(criteria(family), sender='must-sign.example')
    count = len(receiver.calls)
    response = api.post('/registry/subscribe', json=body)
    assert response.status_code == 401
    assert response.json()['error']['code'] == 'err.signature.missing'
    body = signed(body, setup['sender_key'], 'ed25519')
    body['message']['subscribe_request'][0]['subscribe_criteria'][
        'notify_record_type'] = 'Group'
    response = api.post('/registry/subscribe', json=body)
    assert response.status_code == 401
    assert response.json()['errors'][0]['code'] == 'err.signature.invalid'
    # Replayed message id; another client's sender; no key.
    body = subscribe_body(criteria({'family_name': {'$eq': 'SubQ'}}))
    assert api.post('/registry/subscribe', json=body).status_code == 202
    response = api.post('/registry/subscribe', json=body)
    assert response.status_code == 409
    assert response.json()['message']['error']['message'].startswith(
        'rjct.message_id.duplicate')
    response = api.post('/registry/unsubscribe',
        json=unsubscribe_body(['x'], sender='sub.example'), key='north')
    assert response.status_code == 403
    assert response.json()['error']['code'] == 'err.sender_id.invalid'
    response = api.post('/registry/subscribe', json=subscribe_body(
            criteria(family)), key=None)
    assert response.status_code == 401
    assert response.json()['error']['code'] == 'err.request.unauthorized'
    # Only the accepted subscribe and the SubQ one were answered.
    assert len(receiver.calls) == count + 1

    # Another client's code is unknown to this one.
    code = callback['message']['subscribe_response'][4]['subscriptions'][
        0]['code']
    before = len(receiver.calls)
    api.post('/registry/unsubscribe', json=unsubscribe_body([code]))
    message = receiver.calls[before][1]['message']
    assert message['status_reason_code'] == 'rjct.subscription_code.invalid'
    assert message['subscription_status'] == []
