"""DCI searches we send (sync, async with the answer correlated by
transaction id, status) against a fake registry over real HTTP."""
import json
import unittest

from trytond.modules.spp_dci_client import inbound, search, transport
from trytond.modules.spp_dci_client.transport import RegistryError
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from .fake_registry import search_response
from .tools import MODULES, create_registry, fake_registry


def by_uin(body):
    "Answer each request with the person of its UIN (none for 000)."
    responses = []
    for item in body['message']['search_request']:
        value = item['search_criteria']['query']['value']
        records = [] if value == '000' else [{'@type': 'CRVS_Person',
                'identifier': [{'identifier_type': 'UIN',
                        'identifier_value': value}]}]
        response, = search_response(records, item['reference_id'])[
            'search_response']
        responses.append(response)
    return 200, {'transaction_id': body['message']['transaction_id'],
        'correlation_id': 'c', 'search_response': responses[::-1]}


class SearchTestCase(unittest.TestCase):
    "DCI client searches"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)
        cls.fake = fake_registry()
        cls.fake.handlers[search.SYNC_SEARCH] = by_uin
        cls.fake.handlers[search.ASYNC_SEARCH] = lambda body: (200, {
                'message': {'ack_status': 'ACK', 'correlation_id': 'c'}},
            'raw')
        cls.fake.handlers[search.SYNC_STATUS] = lambda body: (200, {
                'transaction_id': body['message']['transaction_id'],
                'correlation_id': 'c', 'txnstatus_response': {
                    'txn_type': 'search', 'txn_status': 'succ'}})

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        transport.tokens.tokens.clear()
        self.fake.calls.clear()

    @with_transaction()
    def test_sync_search_in_request_order(self):
        "Answers come back in the order asked, whatever the registry's"
        registry = create_registry(self.fake, code='sync')
        items = [search.request_item('idtype-value',
                {'type': 'UIN', 'value': v}) for v in ('111', '000', '222')]
        responses = search.search(registry, items)
        self.assertEqual([len(r['data']['reg_records'])
                for r in responses], [1, 0, 1])
        self.assertEqual(responses[2]['data']['reg_records'][0][
                'identifier'][0]['identifier_value'], '222')
        exchange, = Pool().get('spp.dci.exchange').search([])
        self.assertEqual(exchange.records, 2)
        # What was asked, without the numbers.
        self.assertEqual(json.loads(exchange.asked), {
                'requests': 3, 'query_types': ['idtype-value'],
                'attributes': ['UIN']})
        self.assertNotIn('111', exchange.asked)

    @with_transaction()
    def test_too_many_requests(self):
        "More than 20 search requests a message are not sent"
        registry = create_registry(self.fake, code='many')
        items = [search.request_item('idtype-value',
                {'type': 'UIN', 'value': str(v)}) for v in range(21)]
        with self.assertRaises(ValueError):
            search.search(registry, items)
        self.assertFalse(self.fake.calls)

    @with_transaction()
    def test_async_search_answered_by_callback(self):
        "An async search waits for the on-search of its transaction"
        pool = Pool()
        Exchange = pool.get('spp.dci.exchange')
        registry = create_registry(self.fake, code='async',
            callback_base='http://127.0.0.1:1/db')
        item = search.request_item('idtype-value',
            {'type': 'UIN', 'value': '111'})
        transaction_id = search.search_async(registry, [item],
            purpose=f'spp.dci.registry,{registry.id}')
        body, = self.fake.calls_to(search.ASYNC_SEARCH)
        self.assertEqual(body['header']['sender_uri'],
            'http://127.0.0.1:1/db/dci/async/registry/on-search')
        waiting = Exchange.waiting(registry, transaction_id)
        self.assertEqual(waiting.state, 'waiting')
        with self.assertRaises(inbound.Refused):
            inbound.dispatch(pool, registry, 'on-search',
                {'transaction_id': 'another'}, None)
        inbound.dispatch(pool, registry, 'on-search',
            search_response([], transaction_id=transaction_id), None)
        self.assertEqual(Exchange(waiting.id).state, 'answered')
        # Answered once: a second answer has nothing to wait for.
        with self.assertRaises(inbound.Refused):
            inbound.dispatch(pool, registry, 'on-search',
                search_response([], transaction_id=transaction_id), None)

    @with_transaction()
    def test_async_needs_our_address(self):
        "Without our public address no async search is sent"
        registry = create_registry(self.fake, code='noaddress')
        with self.assertRaises(RegistryError):
            search.search_async(registry, [search.request_item(
                        'idtype-value', {'type': 'UIN', 'value': '1'})],
                purpose=None)
        self.assertFalse(self.fake.calls)

    @with_transaction()
    def test_async_not_acknowledged(self):
        "An ERR acknowledgement is a failure, nothing waits"
        registry = create_registry(self.fake, code='nack',
            callback_base='http://127.0.0.1:1/db')
        self.fake.handlers[search.ASYNC_SEARCH] = lambda body: (200, {
                'message': {'ack_status': 'ERR', 'error': {
                        'code': 'err.sender_id.invalid',
                        'message': "Who?"}}}, 'raw')
        try:
            with self.assertRaises(RegistryError) as raised:
                search.search_async(registry, [search.request_item(
                            'idtype-value', {'type': 'UIN', 'value': '1'})],
                    purpose=f'spp.dci.registry,{registry.id}')
        finally:
            self.fake.handlers[search.ASYNC_SEARCH] = lambda body: (200, {
                    'message': {'ack_status': 'ACK'}}, 'raw')
        self.assertEqual(raised.exception.code, 'err.sender_id.invalid')
        exchange, = Pool().get('spp.dci.exchange').search([])
        self.assertEqual(exchange.state, 'failed')

    @with_transaction()
    def test_transaction_status(self):
        "The status of a transaction of ours"
        registry = create_registry(self.fake, code='status')
        status = search.transaction_status(registry, 'abc')
        self.assertEqual(status['txn_status'], 'succ')
        body, = self.fake.calls_to(search.SYNC_STATUS)
        self.assertEqual(body['message']['txnstatus_request'][
                'attribute_value'], 'abc')
