"""The DCI client's wire against a fake registry over real HTTP: tokens,
retries with the same message id, refused answers, the exchange log."""
import json
import socket
import unittest

from trytond.modules.spp_dci_client import transport
from trytond.modules.spp_dci_client.transport import RegistryError, send
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from .fake_registry import search_response
from .tools import MODULES, create_registry, fake_registry

PATH = '/registry/sync/search'


def ok(body):
    return 200, search_response([{'@type': 'Person'}])


def search(registry, **kwargs):
    return send(registry, PATH, 'search', {'transaction_id': 't1',
            'search_request': []},
        asked={'query_type': 'idtype-value', 'attributes': ['UIN']},
        records=lambda a: len(
            a['message']['search_response'][0]['data']['reg_records']),
        **kwargs)


def exchanges():
    return Pool().get('spp.dci.exchange').search([], order=[('id', 'ASC')])


class TransportTestCase(unittest.TestCase):
    "DCI client transport"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)
        cls.fake = fake_registry()
        cls.fake.handlers[PATH] = ok

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.fake.calls.clear()
        self.fake.fail = self.fake.garbage = self.fake.delay = 0
        self.fake.bad_signature = False
        # Registry ids are reused by the rolled back tests.
        transport.tokens.tokens.clear()

    @with_transaction()
    def test_token_cached_and_renewed(self):
        "One token for several calls; a new one when it is refused"
        registry = create_registry(self.fake, code='token')
        issued = self.fake.tokens_issued
        search(registry)
        search(registry)
        self.assertEqual(self.fake.tokens_issued, issued + 1)
        self.fake.revoke_tokens()
        search(registry)
        self.assertEqual(self.fake.tokens_issued, issued + 2)
        # The refused call was sent again with the same message id.
        first, second = [b['header']['message_id']
            for b in self.fake.calls_to(PATH)[-2:]]
        self.assertEqual(first, second)

    @with_transaction()
    def test_retried_with_same_message_id(self):
        "5xx answers are retried with the same envelope, then recorded"
        registry = create_registry(self.fake, code='retry')
        self.fake.fail = 2
        answer = search(registry)
        self.assertEqual(answer['header']['sender_id'], 'crvs.test')
        ids = {b['header']['message_id'] for b in self.fake.calls_to(PATH)}
        self.assertEqual(len(self.fake.calls_to(PATH)), 3)
        self.assertEqual(len(ids), 1)
        exchange, = exchanges()
        self.assertEqual((exchange.state, exchange.attempts,
                exchange.records, exchange.http_status), ('done', 3, 1, 200))
        self.assertEqual(json.loads(exchange.asked),
            {'attributes': ['UIN'], 'query_type': 'idtype-value'})

    @with_transaction()
    def test_down_after_attempts(self):
        "A registry that keeps failing: the error after every attempt"
        registry = create_registry(self.fake, code='down')
        self.fake.fail = 5
        with self.assertRaises(RegistryError) as raised:
            search(registry)
        self.assertEqual(raised.exception.code, 'unavailable')
        self.assertEqual(len(self.fake.calls_to(PATH)), 3)
        exchange, = exchanges()
        self.assertEqual((exchange.state, exchange.http_status,
                exchange.error_code), ('failed', 503, 'unavailable'))

    @with_transaction()
    def test_unreachable(self):
        "Nothing listens: unreachable, recorded"
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        registry = create_registry(self.fake, code='gone',
            base_url=f'http://127.0.0.1:{port}', auth_method='none')
        with self.assertRaises(RegistryError) as raised:
            search(registry)
        self.assertEqual(raised.exception.code, 'unreachable')
        exchange, = exchanges()
        self.assertEqual(exchange.state, 'failed')

    @with_transaction()
    def test_slow(self):
        "An answer later than the timeout is a failure"
        registry = create_registry(self.fake, code='slow', timeout=1,
            attempts=1)
        self.fake.delay = 1.5
        with self.assertRaises(RegistryError) as raised:
            search(registry)
        self.assertEqual(raised.exception.code, 'timeout')

    @with_transaction()
    def test_garbage(self):
        "An answer that is not JSON, or not an envelope, is refused"
        registry = create_registry(self.fake, code='garbage', attempts=1)
        self.fake.garbage = 1
        with self.assertRaises(RegistryError) as raised:
            search(registry)
        self.assertEqual(raised.exception.code, 'garbage')
        self.fake.handlers[PATH] = lambda body: (200, {'x': 1}, 'raw')
        try:
            with self.assertRaises(RegistryError) as raised:
                search(registry)
        finally:
            self.fake.handlers[PATH] = ok
        self.assertEqual(raised.exception.code, 'garbage')

    @with_transaction()
    def test_wrong_signature(self):
        "An answer signed by another key is refused"
        registry = create_registry(self.fake, code='forged')
        self.fake.bad_signature = True
        with self.assertRaises(RegistryError) as raised:
            search(registry)
        self.assertEqual(raised.exception.code, 'err.signature.invalid')
        exchange, = exchanges()
        self.assertEqual((exchange.error_code, exchange.attempts),
            ('err.signature.invalid', 3))

    @with_transaction()
    def test_garbage_then_answer(self):
        "A garbage answer is tried again, with the same message"
        registry = create_registry(self.fake, code='flaky')
        self.fake.garbage = 1
        search(registry)
        first, second = self.fake.calls_to(PATH)
        self.assertEqual(first['header']['message_id'],
            second['header']['message_id'])
        exchange, = exchanges()
        self.assertEqual((exchange.state, exchange.attempts), ('done', 2))

    @with_transaction()
    def test_error_answer(self):
        "A 4xx answer's DCI error is reported as it is"
        registry = create_registry(self.fake, code='refuse')
        self.fake.handlers[PATH] = lambda body: (403, {'errors': [
                    {'code': 'err.request.forbidden',
                        'message': "Not yours"}]}, 'raw')
        try:
            with self.assertRaises(RegistryError) as raised:
                search(registry)
        finally:
            self.fake.handlers[PATH] = ok
        self.assertEqual((raised.exception.code, raised.exception.status),
            ('err.request.forbidden', 403))

    @with_transaction()
    def test_signed_request(self):
        "Our envelope names us and the registry"
        registry = create_registry(self.fake, code='header')
        search(registry)
        body, = self.fake.calls_to(PATH)
        header = body['header']
        self.assertEqual((header['sender_id'], header['receiver_id'],
                header['action']), ('spmis.test', 'crvs.test', 'search'))
