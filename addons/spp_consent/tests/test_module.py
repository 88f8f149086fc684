"""The generic checks of Tryton's ModuleTestCase on spp_consent, with the
addons it extends."""
from trytond.tests.test_tryton import ModuleTestCase


class ConsentModuleTestCase(ModuleTestCase):
    "Test spp_consent module"
    module = 'spp_consent'
    extras = ['spp_programs', 'spp_audit', 'spp_custom_field']


del ModuleTestCase
