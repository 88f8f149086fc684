"Unit tests of spp_api: clients, keys, the call log and the OpenAPI document."
import datetime as dt

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, check_access


class ApiTestCase(ModuleTestCase):
    "Test API module"
    module = 'spp_api'

    @with_transaction()
    def test_key_stored_hashed(self):
        "A key is returned once and only its SHA-256 is stored"
        Client = Pool().get('spp.api.client')
        client, = Client.create([{'name': "Warehouse",
                    'scopes': ['individual:read']}])
        self.assertEqual(client.state, 'no_key')
        key, = Client.issue_key([client])
        self.assertTrue(key.startswith('spp_'))
        self.assertNotIn(key, (client.key_hash, client.key_hint))
        self.assertEqual(client.state, 'active')
        found = Client.authenticate(key)
        self.assertEqual(found['id'], client.id)
        self.assertEqual(found['scopes'], {'individual:read'})
        self.assertIsNone(Client.authenticate(key + 'x'))
        self.assertIsNone(Client.authenticate('nonsense'))

        new_key, = Client.issue_key([client])
        self.assertIsNone(Client.authenticate(key))
        self.assertEqual(Client.authenticate(new_key)['id'], client.id)

    @with_transaction()
    def test_revoke_and_expire(self):
        "Revoked clients get no new key; state follows expiry"
        Client = Pool().get('spp.api.client')
        client, = Client.create([{'name': "App"}])
        Client.issue_key([client])
        Client.write([client], {
                'expires': dt.datetime.now() - dt.timedelta(days=1)})
        self.assertEqual(client.state, 'expired')
        Client.revoke([client])
        self.assertEqual(client.state, 'revoked')
        with self.assertRaises(UserError):
            Client.issue_key([client])
        copy, = Client.copy([client])
        self.assertEqual(copy.state, 'no_key')

    @with_transaction()
    def test_key_cache(self):
        "Cached keys: wrong keys refused, changes seen, entries age out"
        from trytond.modules.spp_api.client import (
            authenticate_cached, hash_key, key_cache)
        Client = Pool().get('spp.api.client')
        key_cache.clear()
        client, = Client.create([{'name': "Cached",
                    'scopes': ['individual:read']}])
        key, = Client.issue_key([client])
        found = authenticate_cached(key)
        self.assertEqual(found['id'], client.id)
        self.assertIsNone(found['revoked'])
        self.assertEqual(len(key_cache.entries), 1)
        self.assertIsNone(authenticate_cached(key + 'x'))
        self.assertIsNone(authenticate_cached('nonsense'))
        # A caller changing its copy does not change the cache.
        found['scopes'].add('group:read')
        self.assertEqual(authenticate_cached(key)['scopes'],
            {'individual:read'})

        # A change through the ORM empties the cache at once.
        Client.write([client], {'scopes': ['area:read']})
        self.assertEqual(authenticate_cached(key)['scopes'], {'area:read'})
        Client.revoke([client])
        self.assertIsNotNone(authenticate_cached(key)['revoked'])

        # A change made elsewhere (another process) is seen once the entry
        # is older than key_cache_seconds.
        other, = Client.create([{'name': "Elsewhere"}])
        other_key, = Client.issue_key([other])
        self.assertIsNone(authenticate_cached(other_key)['revoked'])
        table = Client.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.revoked],
                [dt.datetime(2020, 1, 1)], where=table.id == other.id))
        self.assertIsNone(authenticate_cached(other_key)['revoked'])
        entry_key = (Transaction().database.name, hash_key(other_key))
        stamp, cached = key_cache.entries[entry_key]
        key_cache.entries[entry_key] = (stamp - 3600, cached)
        self.assertIsNotNone(authenticate_cached(other_key)['revoked'])
        key_cache.clear()

    @with_transaction()
    def test_issue_key_wizard_shows_key_once(self):
        "The wizard shows the new key; the client keeps only its hash"
        pool = Pool()
        Client = pool.get('spp.api.client')
        IssueKey = pool.get('spp.api.client.issue_key', type='wizard')
        client, = Client.create([{'name': "Payments"}])
        session_id, _, _ = IssueKey.create()
        with Transaction().set_context(
                active_model='spp.api.client', active_id=client.id,
                active_ids=[client.id]):
            result = IssueKey.execute(session_id, {}, 'issue')
        key = result['view']['defaults']['key']
        self.assertTrue(key.startswith('spp_'))
        self.assertEqual(Client.authenticate(key)['id'], client.id)
        self.assertNotIn(key, str(Client.read([client.id],
                    list(Client._fields))))

    @with_transaction()
    def test_clients_for_api_administrators_only(self):
        "Users outside API Administrator cannot read or key clients"
        pool = Pool()
        Client = pool.get('spp.api.client')
        User = pool.get('res.user')
        client, = Client.create([{'name': "Warehouse"}])
        clerk, = User.create([{'login': 'clerk', 'name': "Clerk"}])
        with Transaction().set_user(clerk.id), check_access():
            with self.assertRaises(AccessError):
                Client.read([client.id], ['name'])
            with self.assertRaises(AccessError):
                Client.issue_key([Client(client.id)])

    @with_transaction()
    def test_log_record(self):
        "Calls are logged with no personal data"
        Log = Pool().get('spp.api.log')
        Log.record([{'client': None, 'timestamp': dt.datetime.now(),
                    'method': 'GET', 'endpoint': '/individuals/{handle}',
                    'status': 404, 'request_id': 'abc', 'duration': 3}])
        log, = Log.search([])
        self.assertEqual(log.endpoint, '/individuals/{handle}')

    def test_openapi_valid(self):
        "The generated OpenAPI document is valid OpenAPI 3"
        from openapi_spec_validator import validate

        from trytond.modules.spp_api.openapi import document
        validate(document('db'))


del ModuleTestCase
