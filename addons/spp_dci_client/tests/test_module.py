"""The generic checks of Tryton's ModuleTestCase on spp_dci_client."""
from trytond.tests.test_tryton import ModuleTestCase


class DciClientModuleTestCase(ModuleTestCase):
    "Test spp_dci_client module"
    module = 'spp_dci_client'
    extras = ['spp_programs', 'spp_change_request', 'spp_audit']


del ModuleTestCase
