"""Login attempts as the administrators' list shows them (user.py)."""
import unittest

from trytond import config
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction


class LoginAttemptTestCase(unittest.TestCase):
    "Login attempts"

    @classmethod
    def setUpClass(cls):
        activate_module('spp_audit')

    @with_transaction()
    def test_user_and_locked(self):
        "An attempt names its account, and is locked beyond max_attempt"
        pool = Pool()
        Attempt = pool.get('res.user.login.attempt')
        User = pool.get('res.user')
        registrar, = User.create([{'name': "Registrar", 'login': 'reg'}])
        limit = config.getint('session', 'max_attempt', default=5)
        for _ in range(limit):
            Attempt.add('reg')
        Attempt.add('nobody')
        attempts = Attempt.search([('login', '=', 'reg')])
        self.assertEqual(len(attempts), limit)
        self.assertEqual({a.user for a in attempts}, {registrar})
        self.assertEqual({a.locked for a in attempts}, {False})
        nobody, = Attempt.search([('login', '=', 'nobody')])
        self.assertIsNone(nobody.user)

        Attempt.add('reg')
        attempts = Attempt.search([('login', '=', 'reg')])
        self.assertEqual({a.locked for a in attempts}, {True})
        # Newest first, as the list shows them.
        self.assertEqual(attempts, sorted(
                attempts, key=lambda a: (a.create_date, a.id), reverse=True))
        # Another device's attempts do not lock this one.
        Attempt.add('reg', 'a-device-cookie')
        device, = Attempt.search([('device_cookie', '=', 'a-device-cookie')])
        self.assertFalse(device.locked)
