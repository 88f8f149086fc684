from trytond.tests.test_tryton import ModuleTestCase


class DemoTestCase(ModuleTestCase):
    "Test Demo module"
    module = 'spp_demo'


del ModuleTestCase
