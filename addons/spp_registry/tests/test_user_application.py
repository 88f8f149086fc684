"""Application keys expire and are made by administrators only (issue 18,
D12; tests/test_generic_rest.py sends the same over JSON-RPC)."""
import datetime as dt

from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, with_transaction
from trytond.transaction import Transaction, check_access


class UserApplicationTestCase(ActivatedModuleTestCase):
    "User application keys"

    module = 'spp_registry'

    @with_transaction()
    def test_expired_key_refused(self):
        "check() accepts a key until it expires, and never a cancelled one"
        Application = Pool().get('res.user.application')
        live, expired, cancelled = Application.create([
                {'user': 1, 'application': 'rest'},
                {'user': 1, 'application': 'rest'},
                {'user': 1, 'application': 'rest'}])
        Application.write([expired], {
                'expires': dt.datetime.now() - dt.timedelta(seconds=1)})
        Application.cancel([cancelled])
        self.assertEqual(Application.check(live.key, 'rest'), live)
        self.assertIsNone(Application.check(expired.key, 'rest'))
        self.assertIsNone(Application.check(cancelled.key, 'rest'))
        self.assertIsNone(Application.check(live.key, 'other'))

    @with_transaction()
    def test_validity_limited(self):
        "A key expires within a year; one without expiry is refused"
        Application = Pool().get('res.user.application')
        with self.assertRaises(ValidationError):
            Application.create([{'user': 1, 'application': 'rest',
                        'expires': dt.datetime.now()
                        + dt.timedelta(days=400)}])
        with self.assertRaises(Exception):
            Application.create([{'user': 1, 'application': 'rest',
                        'expires': None}])

    @with_transaction()
    def test_administrators_only(self):
        "A user without the Administration group makes and changes no key"
        pool = Pool()
        User = pool.get('res.user')
        Application = pool.get('res.user.application')
        user, = User.create([{'name': "Plain", 'login': 'plain'}])
        own, = Application.create([{'user': user.id, 'application': 'rest'}])
        with Transaction().set_user(user.id), check_access():
            with self.assertRaises(AccessError):
                Application.create([{'user': user.id, 'application': 'rest'}])
            with self.assertRaises(AccessError):
                Application.write([Application(own.id)], {
                        'expires': dt.datetime.now()})
            # trytond writes preferences without access checks.
            with self.assertRaises(AccessError):
                User.set_preferences({'applications': [
                            ('create', [{'application': 'rest'}])]})
            self.assertEqual(Application.search([]), [Application(own.id)])
            Application.delete([Application(own.id)])


del TestCase
