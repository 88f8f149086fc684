"""What the cycle and program forms tell a caseworker: the cycle's summary,
why a button is unavailable, what a button did; the rule checker's words;
the compiled domain kept to administrators."""
from trytond.modules.spp_programs.rule import RuleError, compile_rule
from trytond.modules.spp_programs.tests.test_module import (
    create_program, create_user, population, prepared_cycle)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


def notices():
    "The labels of the notifications the transaction will store."
    return [n.label for n in Transaction().user_notifications or []]


class CaseworkerTestCase(ActivatedModuleTestCase):
    "Informative cycle and program screens"
    module = 'spp_programs'

    @with_transaction()
    def test_cycle_notes_and_notices(self):
        "The cycle says what it holds, why a button is unavailable, and "
        "what each button did"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        population(create_areas())
        program = create_program('child_count >= 1')
        cycle = prepared_cycle(program)
        self.assertIn('Program CG - Cycle 1: 2 beneficiaries prepared.',
            notices())
        self.assertEqual(Cycle(cycle.id).summary,
            '2 beneficiaries prepared, not yet submitted for approval.')

        approver = create_user('approver', 'spp_programs.group_cycle_approver')
        manager = create_user('manager', 'spp_programs.group_program_manager',
            'spp_programs.group_cycle_approver')
        clerk = create_user('clerk', 'spp_registry.group_registry_viewer')
        context = {'_check_access': True}
        with Transaction().set_user(clerk.id):
            self.assertEqual(Cycle(cycle.id).action_note,
                'Only a Program Manager may use "Prepare". '
                'Only a Program Manager may use "Submit". '
                'Only a Program Manager may use "Cancel".')
        with Transaction().set_user(manager.id), \
                Transaction().set_context(context):
            self.assertIsNone(Cycle(cycle.id).action_note)
            Cycle.submit([Cycle(cycle.id)])
            self.assertIn(
                'Program CG - Cycle 1: 2 beneficiaries submitted for '
                'approval.',
                notices())
            cycle = Cycle(cycle.id)
            self.assertEqual(cycle.summary,
                '2 beneficiaries submitted for approval by manager.')
            # Four-eyes: the form says why, and approving is still refused.
            self.assertEqual(cycle.action_note, 'You submitted this cycle; '
                'another Cycle Approver must approve it.')
        with Transaction().set_user(clerk.id):
            self.assertEqual(Cycle(cycle.id).action_note,
                'Only a Cycle Approver or Program Manager may use '
                '"Reset to Draft". Only a Cycle Approver may use "Approve". '
                'Only a Program Manager may use "Cancel".')
        with Transaction().set_user(approver.id), \
                Transaction().set_context(context):
            self.assertEqual(Cycle(cycle.id).action_note,
                'Only a Program Manager may use "Cancel".')
            Cycle.approve([Cycle(cycle.id)])
            self.assertIn('Program CG - Cycle 1: 2 beneficiaries approved.',
                notices())
            self.assertEqual(Cycle(cycle.id).summary,
                '2 beneficiaries approved by approver.')

    @with_transaction()
    def test_rule_checker_words(self):
        "The rule checker lists rule fields only and says what to write"
        create_areas()
        with self.assertRaises(RuleError) as raised:
            compile_rule('salary > 10')
        message = raised.exception.message
        listed = message.split('Fields a rule can use: ')[1].rstrip('.')
        listed = listed.split(', ')
        self.assertIn('age', listed)
        self.assertIn('child_count', listed)
        for technical in ['id', 'rec_name', 'create_date', 'write_uid',
                'active', 'code_alnum', 'replaced_by', 'disabled']:
            self.assertNotIn(technical, listed)
            with self.subTest(field=technical), \
                    self.assertRaisesRegex(RuleError, 'not a registrant'):
                compile_rule(f'{technical} is set')
        for rule, expected in [
                ('age', 'After "age" (character 1) write a comparison such '
                    'as >= 60: "age" is a whole number'),
                ('age 60', 'after "age" write a comparison'),
                ('name < "M"', '"name", which is a text'),
                ('age = true', 'a whole number (not true or false)'),
                ]:
            with self.subTest(rule=rule):
                with self.assertRaises(RuleError) as raised:
                    compile_rule(rule)
                self.assertIn(expected, raised.exception.message)
                self.assertNotIn('no operator', raised.exception.message)

    @with_transaction()
    def test_domain_for_administrators(self):
        "The compiled domain shows to administrators only; rules still save"
        pool = Pool()
        Program = pool.get('spp.program')
        User = pool.get('res.user')
        program = create_program('age >= 60', target='individual')
        manager = create_user('manager', 'spp_programs.group_program_manager')
        admin, = User.search([('login', '=', 'admin')])

        def hidden(user):
            "Whether the form hides the domain from `user` (as sao does)."
            with Transaction().set_user(user.id):
                groups = User.get_groups()
                view = Program.fields_view_get(view_type='form')
            states = PYSONDecoder({'context': {'groups': list(groups)}}
                ).decode(view['fields']['eligibility_domain']['states'])
            return states.get('invisible', False)
        self.assertTrue(hidden(manager))
        self.assertFalse(hidden(admin))
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True):
            Program.write([program], {'eligibility_rule': 'age >= 65'})
        self.assertEqual(Program(program.id).eligibility_domain,
            '[["age", ">=", 65]]')

    @with_transaction()
    def test_action_names_not_codes(self):
        "The program's last and running actions read as names"
        Program = Pool().get('spp.program')
        population(create_areas())
        program = create_program('child_count >= 1')
        Program.import_and_enrol([program])
        definition = Program.fields_get(['last_action'])['last_action']
        self.assertEqual(Program(program.id).last_action, 'import_and_enrol')
        self.assertIn(['import_and_enrol', "Import and Enrol"],
            [list(s) for s in definition['selection']])
