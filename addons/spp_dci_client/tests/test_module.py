"""The generic checks of Tryton's ModuleTestCase on spp_dci_client, the
registry's own checks and what it audits."""
import json

from trytond.model.exceptions import ValidationError
from trytond.modules.spp_audit.tests.test_module import entries
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .fake_registry import FakeRegistry
from .tools import MODULES, create_registry


class DciClientModuleTestCase(ModuleTestCase):
    "Test spp_dci_client module"
    module = 'spp_dci_client'
    extras = MODULES[1:]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeRegistry()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    @with_transaction()
    def test_registry_checked(self):
        "Addresses, keys, codes and mappings are checked when saved"
        Mapping = Pool().get('spp.dci.registry.mapping')
        registry = create_registry(self.fake)
        for values in [{'base_url': 'ftp://x'}, {'public_key': 'nope'},
                {'code': 'a b'}, {'callback_base': 'file:///etc'}]:
            with self.subTest(values=values), self.assertRaises(
                    ValidationError):
                registry.__class__.write([registry], values)
        Mapping.create([{'registry': registry.id,
                    'category': 'identifier_type', 'external_code': 'UIN',
                    'internal_code': 'national_id'}])
        self.assertEqual(registry.mapping('identifier_type'),
            {'UIN': 'national_id'})
        with self.assertRaises(ValidationError):
            Mapping.create([{'registry': registry.id, 'category': 'sex',
                        'external_code': '1', 'internal_code': 'unknown'}])

    @with_transaction()
    def test_audited_without_secret(self):
        "Registry changes are audited; the secret never is"
        Registry = Pool().get('spp.dci.registry')
        registry = create_registry(self.fake)
        Registry.write([registry], {'client_secret': 'n3w-s3cret',
                'timeout': 9})
        # The write of the same transaction merges into the creation.
        created, = entries(model='spp.dci.registry', action='create')
        changes = json.loads(created.changes)
        self.assertEqual(changes['timeout'], [None, 9])
        self.assertNotIn('client_secret', changes)
        self.assertNotIn('s3cret', created.changes)

del ModuleTestCase
