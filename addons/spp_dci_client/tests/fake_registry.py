"""A small external DCI registry for the tests: a real HTTP server on
127.0.0.1 that issues OAuth2 tokens, answers DCI messages with signed
envelopes and sends signed notifications and callbacks to us.

Handlers are set per path: `fake.handlers['/registry/sync/search'] =
function(envelope) -> (status, message)` (the message is wrapped in a
signed envelope) or -> (status, body, 'raw') for a body as it is. Faults
to play: `fail` (that many 503s), `garbage` (that many non-JSON answers),
`delay` (seconds before answering), `bad_signature` (sign with another
key). Every request is kept in `calls` as (path, headers, body)."""
import http.server
import json
import threading
import time
import uuid

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from trytond.modules.spp_api.dci_signature import sign

SENDER_ID = 'crvs.test'


def now_iso():
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc).isoformat(
        timespec='milliseconds').replace('+00:00', 'Z')


class FakeRegistry:
    def __init__(self, sender_id=SENDER_ID, client_id='spmis',
            client_secret='s3cret', token_lifetime=300):
        self.sender_id = sender_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.other_key = ed25519.Ed25519PrivateKey.generate()
        self.tokens = set()
        self.tokens_issued = 0
        self.calls = []
        self.handlers = {}
        self.fail = 0
        self.garbage = 0
        self.delay = 0
        self.bad_signature = False
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(size)
                status, body = fake.answer(self.path, dict(self.headers),
                    raw)
                data = body if isinstance(body, bytes) else json.dumps(
                    body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
            Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever,
            daemon=True)
        self.thread.start()

    @property
    def public_pem(self):
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls_to(self, path):
        return [body for p, _, body in self.calls if p == path]

    # -- answering ---------------------------------------------------------
    def answer(self, path, headers, raw):
        if path == '/oauth2/client/token':
            return self.token(raw)
        try:
            body = json.loads(raw or b'null')
        except ValueError:
            body = None
        with self.lock:
            self.calls.append((path, headers, body))
            fail, self.fail = self.fail, max(self.fail - 1, 0)
            garbage, self.garbage = self.garbage, max(self.garbage - 1, 0)
        if self.delay:
            time.sleep(self.delay)
        if fail:
            return 503, {'errors': [{'code': 'err.service.unavailable',
                        'message': "Down"}]}
        if garbage:
            return 200, b'<html>Bad gateway</html>'
        auth = headers.get('Authorization', '')
        if auth[7:] not in self.tokens:
            return 401, {'errors': [{'code': 'err.request.unauthorized',
                        'message': "Bad token"}]}
        handler = self.handlers.get(path)
        if handler is None:
            return 404, {'errors': [{'code': 'err.request.not_found',
                        'message': path}]}
        result = handler(body)
        if len(result) == 3:
            return result[0], result[1]
        status, message = result
        return status, self.envelope(
            (body or {}).get('header', {}), message)

    def token(self, raw):
        from urllib.parse import parse_qs
        values = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if (values.get('grant_type') != 'client_credentials'
                or values.get('client_id') != self.client_id
                or values.get('client_secret') != self.client_secret):
            return 401, {'error': 'invalid_client'}
        token = 'tok_' + uuid.uuid4().hex
        with self.lock:
            self.tokens.add(token)
            self.tokens_issued += 1
        return 200, {'access_token': token, 'token_type': 'Bearer',
            'expires_in': self.token_lifetime}

    def revoke_tokens(self):
        with self.lock:
            self.tokens.clear()

    def envelope(self, request_header, message, action=None):
        "A signed envelope answering (or sent with) a header."
        header = {
            'version': '1.0.0',
            'message_id': str(uuid.uuid4()),
            'message_ts': now_iso(),
            'action': action or ('on-' + request_header.get(
                    'action', 'search')),
            'status': 'succ',
            'sender_id': self.sender_id,
            'receiver_id': request_header.get('sender_id'),
            'total_count': 1,
            'completed_count': 1,
            'is_msg_encrypted': False,
            }
        envelope = {'header': header, 'message': message}
        key = self.other_key if self.bad_signature else self.key
        envelope['signature'] = sign(envelope, key, 'ed25519',
            f'{self.sender_id}|1|ed25519')
        return envelope

    # -- sending -----------------------------------------------------------
    def send(self, url, action, message, receiver_id=None, message_id=None,
            signed=True):
        "POST a signed message to us: the response."
        envelope = self.envelope({'sender_id': receiver_id}, message,
            action=action)
        if message_id:
            envelope['header']['message_id'] = message_id
            key = self.other_key if self.bad_signature else self.key
            envelope['signature'] = sign(envelope, key, 'ed25519',
                f'{self.sender_id}|1|ed25519')
        if not signed:
            del envelope['signature']
        return requests.post(url, json=envelope, timeout=30), envelope

    def notify(self, url, code, records, receiver_id=None, message_id=None):
        "A notify message of records for our subscription `code`."
        message = {'transaction_id': code, 'notify_event': [{
                    'reference_id': code, 'timestamp': now_iso(),
                    'data': {'version': '1.0.0',
                        'reg_record_type': 'person',
                        'reg_records': records}}]}
        return self.send(url, 'notify', message, receiver_id, message_id)


def search_response(records, reference_id='1', total=None, page_size=10,
        page_number=1, transaction_id='t'):
    "An on-search message of records."
    return {'transaction_id': transaction_id, 'correlation_id': 'c',
        'search_response': [{
                'reference_id': reference_id, 'timestamp': now_iso(),
                'status': 'succ',
                'data': {'version': '1.0.0',
                    'reg_record_type': 'person', 'reg_records': records},
                'pagination': {'page_size': page_size,
                    'page_number': page_number,
                    'total_count': len(records) if total is None
                    else total},
                }]}
