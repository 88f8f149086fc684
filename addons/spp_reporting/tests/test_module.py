from trytond.tests.test_tryton import ModuleTestCase


class ReportingTestCase(ModuleTestCase):
    "Reporting: the generic checks of a module (views, access, fields)"
    module = 'spp_reporting'
    extras = ['spp_payment', 'spp_grievance', 'spp_change_request']


del ModuleTestCase
