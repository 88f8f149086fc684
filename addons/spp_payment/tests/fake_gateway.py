"""A small fake payment gateway on 127.0.0.1 for the connector tests.

Modes: 'success' (every payment paid), 'partial' (references whose
entitlement id is even fail), 'accept' (accepted, outcome later), 'timeout'
(the first `slow` requests sleep past the client timeout), 'duplicate'
(the same answer twice in one response); `errors` first requests answer
HTTP 503. POST /status answers the
outcome of references (accepted ones are paid by then). It remembers
payments by reference, as a real provider does with idempotency keys, and
answers 'duplicate' for a reference it already has."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGateway:
    def __init__(self, mode='success', slow=0, delay=1.0, token='secret',
            errors=0):
        self.mode = mode
        self.slow = slow
        self.errors = errors  # the first `errors` requests answer HTTP 503
        self.delay = delay
        self.token = token
        self.requests = []  # (path, idempotency key, body)
        self.paid = {}  # reference -> amount, paid once
        self.accepted = {}  # reference -> amount, outcome on status query
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get('Content-Length', 0))
                body = json.loads(self.rfile.read(length) or b'{}')
                gateway.requests.append((self.path,
                        self.headers.get('Idempotency-Key'), body))
                if self.headers.get('Authorization') != (
                        f'Bearer {gateway.token}'):
                    return self.answer(401, {'error': 'unauthorized'})
                if gateway.errors > 0:
                    gateway.errors -= 1
                    return self.answer(503, {'error': 'unavailable'})
                if gateway.slow > 0:
                    gateway.slow -= 1
                    time.sleep(gateway.delay)
                    return self.answer(200, {'results': []})
                if self.path == '/status':
                    return self.answer(200, gateway.statuses(body))
                return self.answer(200, gateway.results(body))

            def answer(self, status, data):
                payload = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever,
            daemon=True)

    def results(self, body):
        results = []
        for payment in body.get('payments', []):
            reference = payment['reference']
            if reference in self.paid:
                results.append({'reference': reference,
                        'status': 'duplicate'})
                continue
            entitlement = int(reference.split('-')[1])
            if self.mode == 'accept':
                status = 'accepted'
            elif self.mode == 'partial' and entitlement % 2 == 0:
                status = 'failed'
            else:
                status = 'paid'
            if status == 'paid':
                self.paid[reference] = payment['amount']
            elif status == 'accepted':
                self.accepted[reference] = payment['amount']
            results.append({'reference': reference, 'status': status,
                    'amount': payment['amount'] if status == 'paid'
                    else None,
                    'provider_reference': f'PRV-{reference}'})
        if self.mode == 'duplicate':
            results = results + results
        return {'results': results}

    def statuses(self, body):
        "Accepted payments are paid by the time their status is asked."
        results = []
        for reference in body.get('references', []):
            if reference in self.accepted:
                self.paid[reference] = self.accepted.pop(reference)
            if reference in self.paid:
                results.append({'reference': reference, 'status': 'paid',
                        'amount': self.paid[reference],
                        'provider_reference': f'PRV-{reference}'})
            else:
                results.append({'reference': reference,
                        'status': 'unknown'})
        return {'results': results}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *args):
        self.server.shutdown()
        self.server.server_close()
