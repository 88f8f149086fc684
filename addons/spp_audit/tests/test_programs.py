"What the programs record in the audit log."
import json

from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.spp_programs.tests import test_module as programs
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from .test_module import entries

SPINE = ['spp_audit', 'spp_programs', 'spp_entitlement', 'spp_payment',
    'spp_custom_field']


class SpineAuditTestCase(TestCase):
    """A database with spp_audit and the spine addons whose defaults it
    holds, without the generic checks (test_module.py runs those)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(SPINE)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()


def details(entry):
    return json.loads(entry.details) if entry.details else None


def families(count, area=None):
    "`count` households with a young child, and one without."
    for i in range(count):
        create_household(f"Family {i}", [
                {'family_name': f"Head {i}", 'birth_date': years_ago(30),
                    'roles': ['head']},
                {'family_name': f"Child {i}", 'birth_date': years_ago(2),
                    'roles': ['child']},
                ], area=area)
    create_household("Adults", [
            {'family_name': "Adult", 'birth_date': years_ago(60),
                'roles': ['head']},
            ], area=area)


def rpc(Model, method, *args):
    "Call `method` of `Model` as JSON-RPC would, through its decorator."
    function = getattr(Model, method)
    decorator = Model.__rpc__[method].decorator
    return (decorator(function) if decorator else function)(*args)


class ProgramsAuditTestCase(SpineAuditTestCase):
    "Audit of programs, memberships, cycles and custom field definitions"

    @with_transaction()
    def test_population_runs_one_entry_each(self):
        "Import, enrolment and verification are one entry per run"
        pool = Pool()
        Program = pool.get('spp.program')
        Run = pool.get('spp.program.run')
        families(6)
        program = programs.create_program('child_count >= 1')

        Program.import_eligible([program])
        entry, = entries(model='spp.program', action='import_eligible')
        run, = Run.search([('action', '=', 'import_eligible')])
        self.assertEqual(entry.record_id, program.id)
        self.assertEqual(entry.count, 6)
        self.assertEqual(entry.user.id, Transaction().user)
        self.assertEqual(details(entry)['run'], run.id)
        self.assertEqual(details(entry)['rows_changed'], 6)
        self.assertEqual(details(entry)['population'], 6)
        self.assertFalse(details(entry)['queued'])
        self.assertEqual(details(entry)['members']['draft'], 6)
        # Set-based: no entry per membership.
        self.assertEqual(
            entries(model='spp.program.membership', action='create'), [])

        Program.enrol([program])
        entry, = entries(model='spp.program', action='enrol')
        self.assertEqual(entry.count, 6)
        self.assertEqual(details(entry)['members']['enrolled'], 6)
        self.assertEqual(details(entry)['members']['draft'], 0)

        Program.write([program], {'eligibility_rule': 'child_count >= 2'})
        Program.verify_eligibility([Program(program.id)])
        entry, = entries(model='spp.program', action='verify_eligibility')
        self.assertEqual(entry.count, 6)
        self.assertEqual(details(entry)['members']['not_eligible'], 6)

        Program.deduplicate([program])
        entry, = entries(model='spp.program', action='deduplicate')
        self.assertEqual(entry.count, 0)

    @with_transaction()
    def test_queued_run_recorded_when_it_runs(self):
        """A queued run is recorded by the worker that runs it, as the user
        who started it"""
        pool = Pool()
        Program = pool.get('spp.program')
        Queue = pool.get('ir.queue')
        families(3)
        program = programs.create_program('child_count >= 1')
        manager = programs.create_user(
            'manager', 'spp_programs.group_program_manager')
        context = {'spp_programs_queue_threshold': 0, '_check_access': True,
            '_request': {'remote_addr': '127.0.0.1'}}
        with Transaction().set_user(manager.id), \
                Transaction().set_context(context):
            Program.import_and_enrol([program])
        self.assertEqual(
            entries(model='spp.program', action='import_and_enrol'), [],
            "nothing is done until the task runs")

        task, = Queue.search([], order=[('id', 'DESC')], limit=1)
        task.run()
        entry, = entries(model='spp.program', action='import_and_enrol')
        self.assertEqual(entry.user, manager)
        self.assertEqual(entry.channel, 'system')
        self.assertTrue(details(entry)['queued'])
        self.assertEqual(entry.count, 3)
        self.assertEqual(details(entry)['members']['enrolled'], 3)

    @with_transaction()
    def test_cycle_prepare_submit_approve(self):
        "Preparing, submitting and approving a cycle, with beneficiaries"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        families(4)
        program = programs.create_program('child_count >= 1')
        cycle = programs.prepared_cycle(program)
        entry, = entries(model='spp.cycle', action='prepare')
        self.assertEqual(entry.record_id, cycle.id)
        self.assertEqual(entry.count, 4)
        self.assertEqual(details(entry)['beneficiaries'], 4)
        self.assertEqual(
            entries(model='spp.cycle.membership', action='create'), [])
        created, = entries(model='spp.cycle', action='create')
        self.assertEqual(created.record_id, cycle.id)

        manager = programs.create_user(
            'manager', 'spp_programs.group_program_manager')
        approver = programs.create_user(
            'approver', 'spp_programs.group_cycle_approver')
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True):
            Cycle.submit([Cycle(cycle.id)])
        with Transaction().set_user(approver.id), \
                Transaction().set_context(_check_access=True):
            Cycle.approve([Cycle(cycle.id)])
        submitted, = entries(model='spp.cycle', action='submit')
        approved, = entries(model='spp.cycle', action='approve')
        self.assertEqual((submitted.user, approved.user), (manager, approver))
        self.assertEqual(details(approved)['beneficiaries'],
            {str(cycle.id): 4})
        written, = entries(model='spp.cycle', action='write',
            record_id=cycle.id)
        changes = json.loads(written.changes)
        self.assertEqual(changes['state'], ['draft', 'approved'])
        self.assertEqual(changes['approved_by'], [None, approver.id])

    @with_transaction()
    def test_program_changes_old_new(self):
        "A changed rule is recorded old and new; its compiled form is not"
        Program = Pool().get('spp.program')
        program = programs.create_program('child_count >= 1')
        # Written apart: a change in the transaction that created the
        # program merges into its creation entry.
        entries()
        Program.write([program], {'eligibility_rule': 'child_count >= 2'})
        written, = entries(model='spp.program', action='write')
        changes = json.loads(written.changes)
        self.assertEqual(changes['eligibility_rule'],
            ['child_count >= 1', 'child_count >= 2'])
        self.assertNotIn('eligibility_domain', changes)
        activated, = entries(model='spp.program', action='activate')
        self.assertEqual(activated.record_id, program.id)

    @with_transaction()
    def test_add_manually_forced(self):
        "A forced enrolment is an entry with its reason"
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        families(0)
        adults, = pool.get('party.party').search([('name', '=', "Adults")])
        program = programs.create_program('child_count >= 1')
        membership = Membership.add_manually(program, adults, force=True,
            reason="Orphaned grandchild in care")
        entry, = entries(model='spp.program.membership',
            action='add_manually')
        self.assertEqual(entry.record_id, membership.id)
        self.assertEqual(details(entry), {'program': program.id,
                'registrant': adults.id, 'forced': True,
                'reason': "Orphaned grandchild in care"})
        created, = entries(model='spp.program.membership', action='create')
        self.assertEqual(json.loads(created.changes)['forced'], [None, True])

    @with_transaction()
    def test_membership_reads_recorded(self):
        "Reading program memberships over RPC is an access entry"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        families(2)
        program = programs.create_program('child_count >= 1')
        Program.import_and_enrol([program])
        members = Membership.search([('program', '=', program.id)])
        rpc(Membership, 'read', [m.id for m in members],
            ['state', 'registrant'])
        entry, = entries(model='spp.program.membership', action='access')
        self.assertEqual(entry.count, 2)
        self.assertEqual(details(entry), {'fields': ['registrant', 'state']})
        # The registrants received with them are read too.
        party, = entries(model='party.party', action='access')
        self.assertEqual(party.count, 2)

    @with_transaction()
    def test_auditor_reads_never_changes(self):
        "An auditor opens programs and their entries, and changes nothing"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        Cycle = pool.get('spp.cycle')
        Keyword = pool.get('ir.action.keyword')
        Menu = pool.get('ir.ui.menu')
        create_areas()
        families(2)
        program = programs.create_program('child_count >= 1')
        cycle = programs.prepared_cycle(program)
        auditor = programs.create_user('auditor', 'spp_audit.group_auditor')
        manager = programs.create_user(
            'manager', 'spp_programs.group_program_manager')
        relate = get_ref('spp_audit', 'act_log_program')
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(Program.search([]), [program])
            self.assertEqual(len(Membership.search([])), 2)
            self.assertEqual(Cycle.search([]), [cycle])
            menu = get_ref('spp_programs', 'menu_programs')
            self.assertTrue(Menu.search([('id', '=', menu)]))
            self.assertIn(relate, [a['id'] for a in Keyword.get_keyword(
                        'form_relate', ('spp.program', program.id))])
            with self.assertRaises(AccessError):
                Program.write([program], {'name': "Changed"})
            with self.assertRaises(AccessButtonError):
                Program.enrol([program])
            with self.assertRaises(AccessButtonError):
                Cycle.prepare([cycle])
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True):
            self.assertNotIn(relate, [a['id'] for a in Keyword.get_keyword(
                        'form_relate', ('spp.program', program.id))])

    @with_transaction()
    def test_custom_field_definitions(self):
        """Defining a custom field, changing who sees it and importing
        definitions are recorded"""
        CustomField = Pool().get('spp.custom_field')
        field, = CustomField.create([{'name': 'dwelling',
                    'string': "Dwelling", 'type_': 'char',
                    'applies_to': 'group'}])
        created, = entries(model='spp.custom_field', action='create')
        self.assertEqual(json.loads(created.changes)['name'],
            [None, 'dwelling'])
        viewers = get_ref('spp_registry', 'group_registry_viewer')
        CustomField.write([field], {'read_groups': [('add', [viewers])]})
        written, = entries(model='spp.custom_field', action='write')
        self.assertEqual(json.loads(written.changes)['read_groups'],
            [[], [viewers]])

        text = CustomField.export_definitions([field]).replace(
            '"Dwelling"', '"Dwelling Type"')
        CustomField.import_definitions(text)
        imported, = entries(model='spp.custom_field',
            action='import_definitions')
        self.assertEqual(details(imported),
            {'fields': 1, 'created': 0, 'updated': 1})
        self.assertEqual(imported.record_id, field.id)


del TestCase
