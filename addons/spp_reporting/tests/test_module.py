from trytond.tests.test_tryton import ModuleTestCase

from .tools import MODULES


class ReportingTestCase(ModuleTestCase):
    "Reporting: the generic checks of a module (views, access, fields)"
    module = MODULES[0]
    # The set of the other test modules: restored from trytond's DB cache.
    extras = MODULES[1:]


del ModuleTestCase
