"""DCI asynchronous search and transaction status, OAuth2 client
credentials and message signatures, against a live server that signs its
answers; callbacks go to a small receiver on 127.0.0.1. Requests, ACKs
and callbacks are validated against the spec."""
import base64
import hashlib
import http.server
import json
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from trytond.modules.spp_api.dci_signature import (
    load_public_key, sign, verify)

from .server import ServerError, TestDatabase, running_server
from .test_api_dci import envelope, validate, validate_response
from .test_api_support import Api, household_body, national_id

ACK = '#/components/responses/Response/content/application~1json/schema'
ON_SEARCH = ('#/paths/~1registry~1on-search/post/requestBody/content/'
    'application~1json/schema')
ON_STATUS = ('#/paths/~1registry~1txn~1on-status/post/requestBody/content/'
    'application~1json/schema')
SEARCH = ('#/paths/~1registry~1search/post/requestBody/content/'
    'application~1json/schema')
STATUS = ('#/paths/~1registry~1txn~1status/post/requestBody/content/'
    'application~1json/schema')
SYNC_STATUS = ('#/paths/~1registry~1sync~1txn~1status/post/responses/'
    'default/content/application~1json/schema')
TOKEN_LIFETIME = 6


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Receiver:
    "An on-search/on-status endpoint: records calls, fails when told."

    def __init__(self):
        self.calls = []
        self.times = []
        self.fail = 0
        # When set: answer only once the event is set (or 20 s passed).
        self.hold = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(size))
                receiver.times.append(time.monotonic())
                receiver.calls.append((self.path, body))
                if receiver.hold is not None:
                    receiver.hold.wait(20)
                status = 200
                if receiver.fail:
                    receiver.fail -= 1
                    status = 503
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.end_headers()
                self.wfile.write(b'{"message": {"ack_status": "ACK"}}')

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
            Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/dci/'
        self.thread = threading.Thread(target=self.server.serve_forever,
            daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope='module')
def setup(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci')
    registry_key = ed25519.Ed25519PrivateKey.generate()
    key_path = workdir / 'registry.pem'
    key_path.write_bytes(registry_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    key_path.chmod(0o600)
    database = TestDatabase.create(workdir, 'dci', modules=['spp_api'],
        uri=backend_uri)
    receiver = Receiver()
    config = ("[spp_dci]\n"
        f"signing_key = {key_path}\n"
        "sender_id = registry.test\n"
        "retry_delays = 0\n"
        f"token_lifetime = {TOKEN_LIFETIME}\n"
        "callback_timeout = 5\n")
    try:
        with running_server(database, extra_config=config) as server:
            api = Api(server, server.login())
            api.make_areas()
            api.make_client('full')
            api.make_client('other')
            api.make_client('reader', scopes=['individual:read'])
            sender_key = ed25519.Ed25519PrivateKey.generate()
            rsa_key = rsa.generate_private_key(public_exponent=65537,
                key_size=2048)
            api.rpc('model.spp.dci.sender.create', [
                    {'sender_id': 'sr.example', 'name': "SR",
                        'client': api.clients['full'],
                        'callback_url': receiver.url,
                        'public_key': pem_public(sender_key)},
                    {'sender_id': 'signed.example', 'name': "Signed",
                        'client': api.clients['full'],
                        'callback_url': receiver.url,
                        'public_key': pem_public(rsa_key),
                        'signature_required': True},
                    {'sender_id': 'other.example', 'name': "Other",
                        'client': api.clients['other'],
                        'callback_url': receiver.url},
                    {'sender_id': 'reader.example', 'name': "Reader",
                        'client': api.clients['reader'],
                        'callback_url': receiver.url},
                    ])
            api.post('/groups', json=household_body("Async", 9000, size=2))
            yield {'api': api, 'receiver': receiver,
                'registry_key': registry_key.public_key(),
                'sender_key': sender_key, 'rsa_key': rsa_key}
    finally:
        receiver.stop()
        database.drop()


def registry_signed(setup, body):
    "The answer carries a valid signature of the registry's key."
    verify(body, setup['registry_key'], 'ed25519')
    assert body['signature'].startswith('Signature: namespace="spdci", '
        'kidId="registry.test|1|ed25519"')


def dci_envelope(sender='sr.example', action='search', **header):
    body = envelope(('national_id', national_id(9001)), **header)
    body['header']['sender_id'] = sender
    body['header']['action'] = action
    return body


def transactions(api, domain=()):
    ids = api.rpc('model.spp.dci.transaction.search', list(domain))
    return api.rpc('model.spp.dci.transaction.read', ids, [
            'state', 'attempts', 'last_error', 'request', 'response',
            'correlation_id', 'transaction_id', 'callback_url', 'kind'])


def run_cron(api):
    cron = api.rpc('model.ir.cron.search',
        [('method', '=', 'spp.dci.transaction|deliver_due')])
    api.rpc('model.ir.cron.run_once', cron)


def test_async_search_ack_and_callback(setup):
    "ACK at once, the on-search answer delivered to sender_uri, signed"
    api, receiver = setup['api'], setup['receiver']
    body = dci_envelope(sender_uri=receiver.url + 'on-search')
    body['message']['transaction_id'] = 'txn-async-1'
    validate(body, SEARCH)
    before = len(receiver.calls)
    response = api.post('/registry/search', json=body)
    assert response.status_code == 202, response.text
    ack = response.json()
    validate(ack, ACK)
    assert ack['message']['ack_status'] == 'ACK'

    path, callback = receiver.calls[before]
    assert path == '/dci/on-search'
    validate(callback, ON_SEARCH)
    registry_signed(setup, callback)
    assert callback['header']['action'] == 'on-search'
    assert callback['header']['receiver_id'] == 'sr.example'
    message = callback['message']
    assert message['transaction_id'] == 'txn-async-1'
    assert message['correlation_id'] == ack['message']['correlation_id']
    records = message['search_response'][0]['data']['reg_records']
    assert [r['demographic_info']['name']['given_name']
        for r in records] == ["Member 1"]

    record, = transactions(api, [
            ('correlation_id', '=', ack['message']['correlation_id'])])
    assert record['state'] == 'delivered' and record['attempts'] == 1
    # Personal data is not kept once delivered.
    assert record['request'] is None and record['response'] is None


def test_callback_retried_then_given_up(setup):
    "A failed callback is retried by the cron job, then marked failed"
    api, receiver = setup['api'], setup['receiver']
    receiver.fail = 1
    before = len(receiver.calls)
    ack = api.post('/registry/search', json=dci_envelope()).json()
    correlation = [('correlation_id', '=', ack['message']['correlation_id'])]
    record, = transactions(api, correlation)
    assert (record['state'], record['attempts'], record['last_error']) == (
        'retrying', 1, 'HTTP 503')
    assert record['response']
    run_cron(api)
    record, = transactions(api, correlation)
    assert (record['state'], record['attempts']) == ('delivered', 2)
    assert len(receiver.calls) == before + 2
    first, second = [c[1]['message'] for c in receiver.calls[-2:]]
    assert first['correlation_id'] == second['correlation_id'] == ack[
        'message']['correlation_id']
    validate(receiver.calls[-1][1], ON_SEARCH)

    receiver.fail = 10
    ack = api.post('/registry/search', json=dci_envelope()).json()
    correlation = [('correlation_id', '=', ack['message']['correlation_id'])]
    run_cron(api)
    record, = transactions(api, correlation)
    assert (record['state'], record['attempts']) == ('failed', 2)
    assert record['response'] is None
    receiver.fail = 0


def status_body(attribute_type, value, sender='sr.example',
        transaction_id='txn-async-1', **header):
    body = dci_envelope(sender, 'txn-status', **header)
    body['message'] = {'transaction_id': transaction_id,
        'txnstatus_request': {'reference_id': 'st-1', 'txn_type': 'search',
            'attribute_type': attribute_type, 'attribute_value': value}}
    body['header']['total_count'] = 1
    return body


def test_txn_status(setup):
    "Status by transaction id, reference ids and correlation id"
    api, receiver = setup['api'], setup['receiver']
    body = dci_envelope()
    body['message']['transaction_id'] = 'txn-status-1'
    ack = api.post('/registry/search', json=body).json()
    correlation_id = ack['message']['correlation_id']
    for kind, value in [('transaction_id', 'txn-status-1'),
            ('reference_id_list', ['ref-0']),
            ('correlation_id', correlation_id)]:
        request = status_body(kind, value, transaction_id='txn-status-1')
        validate(request, STATUS)
        response = api.post('/registry/sync/txn/status', json=request)
        assert response.status_code == 200, response.text
        answer = response.json()
        validate(answer, SYNC_STATUS)
        registry_signed(setup, answer)
        status = answer['message']['txnstatus_response']['txn_status']
        assert status['correlation_id'] == correlation_id
        assert [(i['reference_id'], i['status'])
            for i in status['search_response']] == [('ref-0', 'succ')]

    before = len(receiver.calls)
    response = api.post('/registry/txn/status', json=status_body(
            'transaction_id', 'txn-status-1',
            sender_uri=receiver.url + 'on-status'))
    assert response.status_code == 202, response.text
    validate(response.json(), ACK)
    path, callback = receiver.calls[before]
    assert path == '/dci/on-status'
    validate(callback, ON_STATUS)
    assert callback['header']['action'] == 'txn-on-status'

    # Unknown, or another client's transaction: the txn-on-status
    # envelope, status rjct (the same for both: no leak).
    for sender, value in [('sr.example', 'txn-nope'),
            ('other.example', 'txn-status-1')]:
        request = status_body('transaction_id', value, sender=sender,
            transaction_id=value)
        key = 'full' if sender == 'sr.example' else 'other'
        response = api.post('/registry/sync/txn/status', json=request,
            key=key)
        assert response.status_code == 200, response.text
        answer = response.json()
        validate(answer, SYNC_STATUS)
        registry_signed(setup, answer)
        assert_unknown(answer)
        before = len(receiver.calls)
        response = api.post('/registry/txn/status', json=request, key=key)
        assert response.status_code == 202, response.text
        validate(response.json(), ACK)
        assert response.json()['message']['ack_status'] == 'ACK'
        path, callback = receiver.calls[before]
        validate(callback, ON_STATUS)
        registry_signed(setup, callback)
        assert_unknown(callback)
        assert callback['message']['correlation_id'] == response.json()[
            'message']['correlation_id']


def assert_unknown(answer):
    "A txn-on-status answer for no known transaction: rjct."
    assert answer['header']['action'] == 'txn-on-status'
    assert answer['header']['status'] == 'rjct'
    status = answer['message']['txnstatus_response']['txn_status']
    item, = status['search_response']
    assert (item['reference_id'], item['status'],
        item['status_reason_code']) == ('st-1', 'rjct',
        'rjct.reference_id.invalid')


def test_duplicate_message_id(setup):
    "A sender's message_id is processed once; a resend is refused"
    api, receiver = setup['api'], setup['receiver']
    body = dci_envelope()
    before, count = len(receiver.calls), len(transactions(api))
    first = api.post('/registry/search', json=body)
    assert first.status_code == 202, first.text
    assert len(receiver.calls) == before + 1
    again = dict(body, message=dict(body['message'],
            transaction_id='txn-resent'))
    for resent in [body, again]:
        response = api.post('/registry/search', json=resent)
        assert response.status_code == 409, response.text
        answer = response.json()
        validate(answer, ACK)
        assert answer['message']['ack_status'] == 'ERR'
        assert answer['message']['error']['code'] == 'err.request.bad'
        assert answer['message']['error']['message'].startswith(
            'rjct.message_id.duplicate')
        assert body['header']['message_id'] in answer['message']['error'][
            'message']
    # Nothing queued, answered or delivered twice.
    assert len(transactions(api)) == count + 1
    assert len(receiver.calls) == before + 1
    # A status request may not reuse it either.
    status = status_body('transaction_id', body['message']['transaction_id'],
        transaction_id=body['message']['transaction_id'])
    status['header']['message_id'] = body['header']['message_id']
    assert api.post('/registry/txn/status', json=status).status_code == 409
    # The same message_id from another sender is another message.
    other = dci_envelope('other.example')
    other['header']['message_id'] = body['header']['message_id']
    response = api.post('/registry/search', json=other, key='other')
    assert response.status_code == 202, response.text
    assert len(transactions(api)) == count + 2


def test_duplicate_message_id_concurrent(setup):
    "The same message sent twice at once: one ACK, one refusal"
    api = setup['api']
    body = dci_envelope()
    count = len(transactions(api))
    statuses = []
    barrier = threading.Barrier(2)

    def send():
        barrier.wait()
        statuses.append(api.post('/registry/search',
                json=body).status_code)
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202, 409]
    assert len(transactions(api)) == count + 1


def test_txn_status_of_every_kind(setup):
    "Status requests are recorded transactions too, and reported"
    api, receiver = setup['api'], setup['receiver']
    search = dci_envelope()
    search['message']['transaction_id'] = 'txn-kinds-1'
    assert api.post('/registry/search', json=search).status_code == 202
    request = status_body('transaction_id', 'txn-kinds-1',
        transaction_id='txn-kinds-2')
    request['message']['txnstatus_request']['reference_id'] = 'st-kinds'
    before = len(receiver.calls)
    response = api.post('/registry/txn/status', json=request)
    assert response.status_code == 202, response.text
    status_ack = response.json()['message']['correlation_id']
    assert len(receiver.calls) == before + 1

    for attribute, value in [('transaction_id', 'txn-kinds-2'),
            ('correlation_id', status_ack),
            ('reference_id_list', ['st-kinds'])]:
        asked = status_body(attribute, value, transaction_id='txn-kinds-2')
        asked['message']['txnstatus_request']['txn_type'] = 'txn-status'
        response = api.post('/registry/sync/txn/status', json=asked)
        assert response.status_code == 200, response.text
        answer = response.json()
        registry_signed(setup, answer)
        reply = answer['message']['txnstatus_response']
        assert reply['txn_type'] == 'txn-status'
        assert reply['txn_status']['correlation_id'] == status_ack
        assert [(i['reference_id'], i['status'])
            for i in reply['txn_status']['search_response']] == [
            ('st-kinds', 'succ')]
    # The search itself is still reported as a search.
    asked = status_body('transaction_id', 'txn-kinds-1',
        transaction_id='txn-kinds-1')
    reply = api.post('/registry/sync/txn/status', json=asked).json()[
        'message']['txnstatus_response']
    assert reply['txn_type'] == 'search'
    assert [i['reference_id'] for i in reply['txn_status'][
            'search_response']] == ['ref-0']
    # A status request is not a search, nor the reverse.
    asked = status_body('transaction_id', 'txn-kinds-2',
        transaction_id='txn-kinds-2')
    response = api.post('/registry/sync/txn/status', json=asked)
    assert response.status_code == 200
    assert response.json()['header']['status'] == 'rjct'
    # Kinds this registry does not record are named as such.
    asked['message']['txnstatus_request']['txn_type'] = 'receipt'
    response = api.post('/registry/sync/txn/status', json=asked)
    assert response.status_code == 400
    error, = response.json()['errors']
    assert error['code'] == 'err.request.bad'
    assert "'receipt'" in error['message'] and 'txn-status' in (
        error['message'])
    response = api.post('/registry/txn/status', json=asked)
    assert response.status_code == 400
    assert response.json()['message']['ack_status'] == 'ERR'


@pytest.mark.parametrize('change, status, code', [
        ({'header': {'sender_id': 'nobody.example'}}, 403,
            'err.sender_id.invalid'),
        ({'header': {'sender_id': 'other.example'}}, 403,
            'err.sender_id.invalid'),
        ({'header': {'sender_uri': 'http://169.254.169.254/latest'}}, 400,
            'err.sender_uri.invalid'),
        ({'header': {'message_ts': None}}, 400, 'err.request.bad'),
        ({'header': {'total_count': None}}, 400, 'err.request.bad'),
        ({'header': {'action': 'on-search'}}, 400, 'err.request.bad'),
        ({'message': None}, 400, 'err.request.bad'),
        ({'header': {'receiver_id': 'elsewhere.example'}}, 400,
            'err.receiver_id.invalid'),
        ])
def test_async_refused(setup, change, status, code):
    "Envelopes that cannot be processed: ERR with the code, nothing queued"
    api = setup['api']
    body = dci_envelope()
    for part, values in change.items():
        if values is None:
            del body[part]
            continue
        for name, value in values.items():
            if value is None:
                del body['header'][name]
            else:
                body['header'][name] = value
    count = len(transactions(api))
    response = api.post('/registry/search', json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    validate(answer, ACK)
    assert answer['message']['ack_status'] == 'ERR'
    assert answer['message']['error']['code'] == code
    # As every 4xx body: errors[] and error too.
    assert answer['errors'] == [answer['error']] == [
        answer['message']['error']]
    assert len(transactions(api)) == count


def token(api, sender='sr.example', secret=None, **extra):
    data = {'grant_type': 'client_credentials', 'client_id': sender,
        'client_secret': secret or api.keys['full'], **extra}
    return requests.post(api.url('/oauth2/client/token'), data=data,
        timeout=30)


def test_oauth2_client_credentials(setup):
    "Tokens for registered senders: short-lived, hashed, scoped"
    api = setup['api']
    response = token(api)
    assert response.status_code == 200, response.text
    assert response.headers['Cache-Control'] == 'no-store'
    granted = response.json()
    assert granted['token_type'] == 'Bearer'
    assert granted['expires_in'] == TOKEN_LIFETIME
    assert granted['scope'] == 'registry:search'
    access = granted['access_token']
    response = api.post('/registry/sync/search', key=access,
        json=dci_envelope())
    assert response.status_code == 200, response.text
    # The token is stored as its SHA-256 only.
    ids = api.rpc('model.spp.dci.token.search', [])
    hashes = [t['token_hash'] for t in api.rpc('model.spp.dci.token.read',
            ids, ['token_hash'])]
    assert hashlib.sha256(access.encode()).hexdigest() in hashes
    assert access not in hashes
    # Basic credentials work too.
    basic = base64.b64encode(f"sr.example:{api.keys['full']}".encode())
    response = requests.post(api.url('/oauth2/client/token'),
        data={'grant_type': 'client_credentials'},
        headers={'Authorization': f'Basic {basic.decode()}'}, timeout=30)
    assert response.status_code == 200, response.text

    for kwargs, status, error in [
            ({'secret': api.keys['other']}, 401, 'invalid_client'),
            ({'secret': 'spp_not-a-key'}, 401, 'invalid_client'),
            ({'sender': 'nobody.example'}, 401, 'invalid_client'),
            ({'grant_type': 'password'}, 400, 'unsupported_grant_type'),
            ({'scope': 'individual:read'}, 400, 'invalid_scope'),
            ({'sender': 'reader.example', 'secret': api.keys['reader']},
                400, 'invalid_scope'),
            ]:
        response = token(api, **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        assert response.json()['error'] == error

    for bad in ['dci_forged-token', access + 'x']:
        response = api.post('/registry/sync/search', key=bad,
            json=dci_envelope())
        assert response.status_code == 401
        assert response.json()['errors'][0]['code'] == (
            'err.request.unauthorized')
    # Expired after its lifetime.
    time.sleep(TOKEN_LIFETIME + 1)
    response = api.post('/registry/sync/search', key=access,
        json=dci_envelope())
    assert response.status_code == 401


def test_token_of_revoked_client(setup):
    "Revoking the API client ends its tokens at once"
    api = setup['api']
    api.make_client('short')
    api.rpc('model.spp.dci.sender.create', [{'sender_id': 'short.example',
                'name': "Short", 'client': api.clients['short']}])
    access = token(api, 'short.example', api.keys['short']).json()[
        'access_token']
    body = dci_envelope('short.example')
    assert api.post('/registry/sync/search', key=access,
        json=body).status_code == 200
    api.rpc('model.spp.api.client.revoke', [api.clients['short']])
    response = api.post('/registry/sync/search', key=access, json=body)
    assert response.status_code == 401


def signed(body, key, algorithm, now=None):
    body['signature'] = sign(body, key, algorithm,
        f"{body['header']['sender_id']}|k1|{algorithm}", now=now)
    return body


def test_signatures(setup):
    "Senders' signatures verified (ed25519, RSA); answers signed"
    api = setup['api']
    search = '/registry/sync/search'
    body = signed(dci_envelope(), setup['sender_key'], 'ed25519')
    response = api.post(search, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate_response(answer)
    registry_signed(setup, answer)

    body['message']['transaction_id'] = 'tampered'
    response = api.post(search, json=body)
    assert response.status_code == 401
    assert response.json()['errors'][0]['code'] == 'err.signature.invalid'

    other_key = ed25519.Ed25519PrivateKey.generate()
    response = api.post(search, json=signed(dci_envelope(), other_key,
            'ed25519'))
    assert response.json()['errors'][0]['code'] == 'err.signature.invalid'

    # signed.example must sign, with its RSA key.
    response = api.post(search, json=dci_envelope('signed.example'))
    assert response.status_code == 401
    assert response.json()['errors'][0]['code'] == 'err.signature.missing'
    response = api.post(search, json=signed(dci_envelope('signed.example'),
            setup['rsa_key'], 'rsa-sha256'))
    assert response.status_code == 200, response.text
    stale = time.time() - 3600
    response = api.post(search, json=signed(dci_envelope('signed.example'),
            setup['rsa_key'], 'rsa-sha256', now=stale))
    assert response.json()['errors'][0]['code'] == 'err.signature.invalid'

    # The asynchronous endpoint checks them before the ACK.
    response = api.post('/registry/search',
        json=dci_envelope('signed.example'))
    assert response.status_code == 401
    answer = response.json()
    validate(answer, ACK)
    assert answer['message']['error']['code'] == 'err.signature.missing'


def test_sender_change_seen_at_once(setup):
    "A sender registered, changed or deactivated applies to the next call"
    api = setup['api']
    search = '/registry/sync/search'
    # Unregistered senders may call unsigned; the server now caches that.
    assert api.post(search,
        json=dci_envelope('late.example')).status_code == 200
    sender, = api.rpc('model.spp.dci.sender.create', [{
                'sender_id': 'late.example', 'name': "Late",
                'client': api.clients['full'],
                'public_key': pem_public(setup['sender_key']),
                'signature_required': True}])
    response = api.post(search, json=dci_envelope('late.example'))
    assert response.status_code == 401
    assert response.json()['errors'][0]['code'] == 'err.signature.missing'
    api.rpc('model.spp.dci.sender.write', [sender],
        {'client': api.clients['other']})
    response = api.post(search, json=signed(dci_envelope('late.example'),
            setup['sender_key'], 'ed25519'))
    assert response.status_code == 403
    assert response.json()['errors'][0]['code'] == 'err.sender_id.invalid'
    api.rpc('model.spp.dci.sender.write', [sender], {'active': False})
    assert api.post(search,
        json=dci_envelope('late.example')).status_code == 200


def test_sender_keys_validated(setup):
    "A sender's key and callback URL are checked when saved"
    api = setup['api']
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for values in [{'public_key': 'not a key'},
            {'public_key': pem_public(weak)},
            {'callback_url': 'file:///etc/passwd'}]:
        with pytest.raises(ServerError):
            api.rpc('model.spp.dci.sender.create', [{
                        'sender_id': 'bad.example', 'name': "Bad",
                        'client': api.clients['full'], **values}])
    assert load_public_key(pem_public(setup['sender_key']))[1] == 'ed25519'


def test_oversized_envelope(setup):
    "A body over 1 MiB is refused before it is parsed or stored"
    api = setup['api']
    body = dci_envelope()
    body['header']['meta'] = {'padding': 'x' * (1024 * 1024)}
    count = len(transactions(api))
    response = api.post('/registry/search', json=body)
    assert response.status_code == 400
    assert response.json()['message']['error']['code'] == 'err.request.bad'
    response = api.post('/registry/sync/search', json=body)
    assert response.status_code == 400
    assert response.json()['header']['status'] == 'rjct'
    assert len(transactions(api)) == count
