"The generic checks of Tryton's ModuleTestCase on spp_grievance."
from trytond.tests.test_tryton import ModuleTestCase


class GrievanceModuleTestCase(ModuleTestCase):
    "Test spp_grievance module"
    module = 'spp_grievance'
    extras = ['spp_payment', 'spp_audit']


del ModuleTestCase
