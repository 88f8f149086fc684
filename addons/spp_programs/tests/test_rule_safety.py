"""The rule language is no way around the registry's access rules, and
every rule that saves can run (issue probes D2, D17)."""
from trytond.modules.spp_programs.rule import RuleError, compile_rule
from trytond.modules.spp_programs.rule_parser import (
    MAX_CONDITIONS, MAX_DEPTH)
from trytond.modules.spp_programs.tests.test_module import (
    create_program, population)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access


def user(login, groups, areas=()):
    User = Pool().get('res.user')
    record, = User.create([{
                'name': login, 'login': login,
                'groups': [('add', [get_ref(*g) for g in groups])],
                'spp_areas': [('add', [a.id for a in areas])],
                }])
    return record


class RuleSafetyTestCase(ActivatedModuleTestCase):
    "Eligibility rules: what they may reach, count and hold"

    module = 'spp_programs'

    @with_transaction()
    def test_rule_reaches_registry_only(self):
        "Users, their passwords and other models are not in the language"
        create_areas()
        for rule in [
                'create_uid.login = "admin"',
                'create_uid.password_hash contains "$argon2id$v=19$m"',
                'write_uid.login = "admin"',
                'memberships.individual.create_uid.login = "admin"',
                'lang.code = "en"',
                'memberships.create_uid.login = "admin"',
                ]:
            with self.subTest(rule=rule), self.assertRaisesRegex(
                    RuleError, 'not a registrant field'):
                compile_rule(rule)
        # Registry relations still work.
        self.assertEqual(
            compile_rule('memberships.individual.age < 5'),
            [('memberships.individual.age', '<', 5)])
        self.assertEqual(compile_rule('identifiers.code = "X1"'),
            [('identifiers.code', '=', "X1")])

    @with_transaction()
    def test_count_only_for_program_managers_within_their_rules(self):
        "Matching Now answers program managers, counting what they may read"
        pool = Pool()
        Program = pool.get('spp.program')
        areas = create_areas()
        population(areas)
        program = create_program('child_count >= 1', code='CT')
        self.assertEqual(program.eligible_count, 2)
        registrar = user('reg_a', [('spp_registry', 'group_registrar')],
            [areas['TL-N-A']])
        manager_a = user('manager_a', [
                ('spp_programs', 'group_program_manager'),
                ('spp_registry', 'group_registry_viewer')],
            [areas['TL-N-A']])
        manager = user('manager', [
                ('spp_programs', 'group_program_manager')])
        values = {'eligibility_method': 'rule', 'target_type': 'group',
            'eligibility_rule': 'child_count >= 1'}
        in_b = dict(values, eligibility_rule='area in "District B"')

        def count(user_id, values):
            with Transaction().set_user(user_id), check_access():
                return Program(**values).on_change_with_eligible_count()
        self.assertIsNone(count(registrar.id, values))
        self.assertIsNone(count(registrar.id, in_b))
        self.assertEqual(count(manager_a.id, values), 1)
        self.assertEqual(count(manager_a.id, in_b), 0)
        self.assertEqual(count(manager.id, values), 2)
        self.assertEqual(count(manager.id, in_b), 1)

    @with_transaction()
    def test_rules_that_cannot_run_are_refused(self):
        "Too long, too deep, too many terms, out-of-range numbers (D17)"
        create_areas()
        ors = ' or '.join(['age = 1'] * 2000)
        for rule, message in [
                (ors, r'21996 characters long; .* at most 10000'),
                (' or '.join(['age=1'] * (MAX_CONDITIONS + 1)),
                    r'more than 200 conditions'),
                ('name contains "%s"' % ('x' * 1_000_000),
                    r'at most \d+'),
                ('name contains "%s"' % ('x' * 1000), r'longer than \d+'),
                ('age >= 12345678901234567890123456',
                    r'whole number from -2147483648 to 2147483647'),
                ('(' * 500 + 'age = 1' + ')' * 500, r'levels deep'),
                ('not ' * 500 + 'age = 1', r'levels deep'),
                ('age in [%s]' % ','.join(['1'] * 1001),
                    r'more than 1000 values'),
                ]:
            with self.subTest(rule=rule[:40]), self.assertRaisesRegex(
                    RuleError, message):
                compile_rule(rule)
        # Up to the limits they compile.
        compile_rule(' or '.join(['age = 1'] * MAX_CONDITIONS))
        compile_rule('(' * MAX_DEPTH + 'age = 1' + ')' * MAX_DEPTH)
        compile_rule('age >= 2147483647')
        with self.assertRaisesRegex(RuleError, 'characters long'):
            create_program(ors, code='ORS')
