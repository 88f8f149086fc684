"""The generic checks of Tryton's ModuleTestCase on spp_grievance, with the
addons it links to and the audit trail; what those bring."""
import json

from trytond.modules.spp_audit.tests.test_module import entries
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .tools import file_grievance, setup_grievances


class GrievanceModuleTestCase(ModuleTestCase):
    "Test spp_grievance module"
    module = 'spp_grievance'
    extras = ['spp_payment', 'spp_audit']

    @with_transaction()
    def test_audited(self):
        """Filing, the workflow buttons and an escalation with its reason
        are in the audit log"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'])
        Grievance.acknowledge([grievance])
        Grievance.escalate([grievance], "Needs the regional budget")
        created, = entries(model='spp.grievance', action='create')
        self.assertEqual(created.record_id, grievance.id)
        acknowledged, = entries(model='spp.grievance', action='acknowledge')
        self.assertEqual(acknowledged.record_id, grievance.id)
        escalated, = entries(model='spp.grievance', action='escalated')
        self.assertEqual(json.loads(escalated.details)['reason'],
            "Needs the regional budget")

    @with_transaction()
    def test_links_to_programs_and_payments(self):
        "With the spine addons, a ticket links to a program, cycle, payment"
        Grievance = Pool().get('spp.grievance')
        fields = Grievance.fields_get(['program', 'cycle', 'entitlement',
                'payment'])
        self.assertEqual({n: f['relation'] for n, f in fields.items()}, {
                'program': 'spp.program', 'cycle': 'spp.cycle',
                'entitlement': 'spp.entitlement', 'payment': 'spp.payment'})
        form = Grievance.fields_view_get(view_type='form')['arch']
        for name in fields:
            self.assertIn(f'name="{name}"', form)


del ModuleTestCase
