import datetime as dt
import json
from decimal import Decimal

from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_registry.tests.tools import (
    create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def define_fields():
    CustomField = Pool().get('spp.custom_field')
    return CustomField.create([{
                'name': 'dwelling', 'string': "Dwelling",
                'applies_to': 'group', 'type_': 'selection',
                'selection': 'brick: Brick\nmud: Mud\ntent: Tent',
                }, {
                'name': 'meals', 'string': "Meals a Day",
                'applies_to': 'group', 'type_': 'integer',
                'indexed': True,
                }, {
                'name': 'pmt_score', 'string': "PMT Score",
                'applies_to': 'both', 'type_': 'numeric',
                }, {
                'name': 'chronic_illness', 'string': "Chronic Illness",
                'applies_to': 'individual', 'type_': 'boolean',
                }, {
                'name': 'last_visit', 'string': "Last Visit",
                'applies_to': 'both', 'type_': 'date',
                }])


def household(name, members=None):
    female = get_ref('spp_registry', 'gender_female')
    male = get_ref('spp_registry', 'gender_male')
    members = members or [
        {'family_name': name, 'given_name': "Ana",
            'birth_date': years_ago(35), 'gender': female,
            'roles': ['head']},
        {'family_name': name, 'given_name': "Lia",
            'birth_date': years_ago(3), 'gender': female,
            'disability': True, 'roles': ['child']},
        {'family_name': name, 'given_name': "Teo",
            'birth_date': years_ago(4), 'gender': male,
            'roles': ['child']},
        ]
    return create_household(name, members)


class CustomFieldTestCase(ModuleTestCase):
    "Test Custom Field module"
    module = 'spp_custom_field'
    extras = ['spp_programs']

    @with_transaction()
    def test_values_typed_and_searchable(self):
        "Values are stored typed, read back typed and searchable"
        Party = Pool().get('party.party')
        define_fields()
        group, members = household("Silva")
        Party.write([group], {'custom_values': {
                    'dwelling': 'mud', 'meals': 2,
                    'pmt_score': Decimal('12.5'),
                    'last_visit': dt.date(2024, 3, 1)}})
        group = Party(group.id)
        self.assertEqual(group.custom_values['meals'], 2)
        self.assertEqual(group.custom_values['pmt_score'], Decimal('12.5'))
        self.assertEqual(group.custom_values['last_visit'],
            dt.date(2024, 3, 1))
        self.assertEqual(Party.search([
                    ('custom_values.dwelling', '=', 'mud')]), [group])
        self.assertEqual(Party.search([
                    ('custom_values.meals', '<', 3)]), [group])
        self.assertEqual(Party.search([
                    ('custom_values.meals', '>=', 3)]), [])
        self.assertEqual(Party.search([
                    ('custom_values.last_visit', '>', dt.date(2024, 2, 1))]),
            [group])
        self.assertEqual(Party.search([
                    ('custom_values.pmt_score', '<', Decimal('20'))]),
            [group])
        self.assertEqual(Party.search([
                    ('custom_values.dwelling', 'in', ['mud', 'tent'])]),
            [group])

    @with_transaction()
    def test_wrong_values_refused(self):
        "Wrong types, unknown options, dates and fields are refused"
        Party = Pool().get('party.party')
        define_fields()
        group, _ = household("Silva")
        for values in [{'meals': 'three'}, {'dwelling': 'castle'},
                {'last_visit': '2024-13-45'}, {'chronic_illness': 'maybe'},
                {'nonexistent': 1}]:
            with self.assertRaises(ValidationError) as cm:
                Party.write([group], {'custom_values': values})
            self.assertIn(list(values)[0], cm.exception.message)
        # checked before writing: nothing saved
        self.assertFalse(Party(group.id).custom_values)
        with self.assertRaises(ValidationError):
            # an individual-only field on a group
            Party.write([group], {'custom_values': {'chronic_illness': True}})

    @with_transaction()
    def test_names_validated(self):
        "Technical names are identifiers, not clashing, never renamed"
        CustomField = Pool().get('spp.custom_field')
        for name in ['Bad Name', '1x', 'birth_date', 'and']:
            with self.assertRaises(ValidationError):
                CustomField.create([{'name': name, 'string': "X",
                            'type_': 'char'}])
        field, = CustomField.create([{'name': 'livelihood',
                    'string': "Livelihood", 'type_': 'char'}])
        with self.assertRaises(AccessError):
            CustomField.write([field], {'name': 'livelihood2'})

    @with_transaction()
    def test_label_rename_and_deactivate_keep_values(self):
        "Renaming the label or deactivating keeps values"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        dwelling, meals, *_ = define_fields()
        group, _ = household("Silva")
        Party.write([group], {'custom_values': {
                    'dwelling': 'mud', 'meals': 2}})
        CustomField.write([dwelling], {'string': "Type of Dwelling"})
        CustomField.write([meals], {'active': False})
        with Transaction().set_context(_check_access=True):
            shown = Party.read([group.id], ['custom_values'])[0]
            self.assertEqual(dict(shown['custom_values']), {'dwelling': 'mud'})
            # a form sends back what it shows
            Party.write([group], {'custom_values': {'dwelling': 'brick'}})
        self.assertEqual(dict(Party(group.id).custom_values),
            {'dwelling': 'brick', 'meals': 2})
        CustomField.write([meals], {'active': True})
        self.assertEqual(Party.search([('custom_values.meals', '=', 2)]),
            [group])

    @with_transaction()
    def test_indicators(self):
        "Computed indicators: count, any and sum over active members"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        define_fields()
        group, (ana, lia, teo) = household("Silva")
        Party.write([ana], {'custom_values': {'pmt_score': Decimal('3.5')}})
        Party.write([lia], {'custom_values': {'pmt_score': Decimal('1')}})
        young_disabled, any_ill, score = CustomField.create([{
                    'name': 'young_disabled', 'string': "Young Disabled",
                    'compute': 'count',
                    'condition': 'age < 5 and disability',
                    }, {
                    'name': 'any_ill', 'string': "Any Chronic Illness",
                    'compute': 'any', 'condition': 'chronic_illness',
                    }, {
                    'name': 'member_score', 'string': "Members' Score",
                    'compute': 'sum', 'sum_field': 'pmt_score',
                    }])
        self.assertEqual(young_disabled.type_, 'integer')
        self.assertEqual(young_disabled.applies_to, 'group')
        values = Party(group.id).custom_values
        self.assertEqual(values['young_disabled'], 1)
        self.assertIs(values['any_ill'], False)
        self.assertEqual(values['member_score'], Decimal('4.5'))

        # member changes recompute
        Party.write([teo], {'disability': True,
                'custom_values': {'chronic_illness': True}})
        values = Party(group.id).custom_values
        self.assertEqual(values['young_disabled'], 2)
        self.assertIs(values['any_ill'], True)
        self.assertEqual(Party.search([
                    ('custom_values.young_disabled', '>=', 2)]), [group])

        # users cannot overwrite computed values
        Party.write([group], {'custom_values': {'young_disabled': 9,
                    'meals': 1}})
        self.assertEqual(Party(group.id).custom_values['young_disabled'], 2)

        # a field an indicator uses cannot be deleted
        illness, = CustomField.search([('name', '=', 'chronic_illness')])
        with self.assertRaises(AccessError):
            CustomField.delete([illness])

        # the manual recompute and the registry's cron
        CustomField.recompute([young_disabled])
        Party.recompute_all_indicators()
        self.assertEqual(Party(group.id).custom_values['young_disabled'], 2)

    @with_transaction()
    def test_indicator_storage(self):
        "Indicators live in their own table (0 is no row), never in the JSON"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        IndicatorValue = pool.get('spp.custom_field.indicator_value')
        define_fields()
        silva, (_, lia, teo) = household("Silva")
        costa, _ = household("Costa", [{'family_name': "Costa",
                    'given_name': "Rui", 'birth_date': years_ago(40),
                    'roles': ['head']}])
        young, any_ill = CustomField.create([{
                    'name': 'young', 'string': "Young", 'compute': 'count',
                    'condition': 'age < 5',
                    }, {
                    'name': 'any_ill', 'string': "Any Ill",
                    'compute': 'any', 'condition': 'chronic_illness',
                    }])
        Party.write([lia], {'custom_values': {'chronic_illness': True}})

        def rows():
            return sorted((v.group, v.field, v.value)
                for v in IndicatorValue.search([]))
        # a row per group and indicator other than 0
        self.assertEqual(rows(), [
                (silva.id, young.id, 2), (silva.id, any_ill.id, 1)])
        # the party row keeps only entered values
        cursor = Transaction().connection.cursor()
        party = Party.__table__()
        cursor.execute(*party.select(party.custom_values,
                where=party.id == silva.id))
        self.assertIsNone(cursor.fetchone()[0])
        self.assertEqual(Party(silva.id).custom_values,
            {'young': 2, 'any_ill': True})
        self.assertEqual(Party(costa.id).custom_values,
            {'young': 0, 'any_ill': False})
        self.assertEqual(Party(lia.id).custom_values,
            {'chronic_illness': True})

        def check_searches():
            group = [('registrant_type', '=', 'group')]
            young_count = {silva: Party(silva.id).custom_values['young'],
                costa: 0}
            for operator, value in [('=', 0), ('=', 1), ('=', 2),
                    ('!=', 0), ('!=', 2), ('>', 0), ('>=', 1), ('<', 2),
                    ('<=', 0), ('in', [0, 1]), ('not in', [0, 1]),
                    ('in', [2]), ('not in', [2])]:
                expected = [p for p in [silva, costa] if {
                        '=': lambda a, b: a == b,
                        '!=': lambda a, b: a != b,
                        '>': lambda a, b: a > b,
                        '>=': lambda a, b: a >= b,
                        '<': lambda a, b: a < b,
                        '<=': lambda a, b: a <= b,
                        'in': lambda a, b: a in b,
                        'not in': lambda a, b: a not in b,
                        }[operator](young_count[p], value)]
                with self.subTest(operator=operator, value=value,
                        young=young_count):
                    self.assertEqual(Party.search(group + [
                                ('custom_values.young', operator, value)],
                            order=[('id', 'ASC')]), expected)
        check_searches()
        for clause, expected in [
                (('custom_values.any_ill', '=', True), [silva]),
                (('custom_values.any_ill', '=', False), [costa]),
                (('custom_values.young', '!=', None), [silva, costa]),
                (('custom_values.young', '=', None), [lia]),
                ]:
            with self.subTest(clause=clause):
                self.assertEqual(Party.search([clause,
                            ('id', 'in', [silva.id, costa.id, lia.id])],
                        order=[('id', 'ASC')]), expected)

        # a recompute where nothing changed writes nothing
        marked = dt.datetime(2000, 1, 1)
        value = IndicatorValue.__table__()
        cursor.execute(*value.update([value.write_date], [marked]))
        Party.recompute_custom_indicators()
        self.assertEqual(IndicatorValue.search(
                [('write_date', '=', marked)], count=True), 2)

        # a change writes only the values it changes
        Party.write([lia], {'birth_date': years_ago(10)})
        row, = IndicatorValue.search([('write_date', '!=', marked)])
        self.assertEqual((row.group, row.field, row.value),
            (silva.id, young.id, 1))
        check_searches()
        # back to 0: the row goes
        Party.write([teo], {'birth_date': years_ago(10)})
        self.assertEqual(rows(), [(silva.id, any_ill.id, 1)])
        self.assertEqual(Party(silva.id).custom_values['young'], 0)
        check_searches()

        # deleting an indicator or a group deletes its values
        CustomField.delete([any_ill])
        self.assertEqual(rows(), [])
        Party.write([lia, teo], {'birth_date': years_ago(1)})
        self.assertEqual(rows(), [(silva.id, young.id, 2)])
        Party.delete([silva])
        self.assertEqual(rows(), [])

    @with_transaction()
    def test_custom_filter(self):
        "The search bar's custom filter: name operator value, or a rule"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        define_fields()
        CustomField.create([{'name': 'young', 'string': "Young",
                    'compute': 'count', 'condition': 'age < 5'}])
        silva, _ = household("Silva")
        costa, _ = household("Costa")
        Party.write([silva], {'custom_values': {'dwelling': 'mud',
                    'meals': 1}})
        Party.write([costa], {'custom_values': {'dwelling': 'brick',
                    'meals': 3}})
        for text, expected in [
                ('dwelling = mud', [silva]),
                ('dwelling = "Brick"', [costa]),
                ('meals < 2', [silva]),
                ('meals>=1', [silva, costa]),
                ('young = 2', [silva, costa]),
                ('dwelling = "mud" and meals <= 1', [silva]),
                ]:
            with self.subTest(text=text):
                self.assertEqual(Party.search([
                            ('custom_filter', 'ilike', f'%{text}%')],
                        order=[('id', 'ASC')]), expected)
        for text in ['nothing', 'unknown = 1', 'meals = two',
                'dwelling = castle']:
            with self.subTest(text=text):
                with self.assertRaises(ValidationError):
                    Party.search([('custom_filter', 'ilike', text)])
        with self.assertRaises(ValidationError):
            Party.search([('custom_filter', 'not ilike', 'meals = 1')])

    @with_transaction()
    def test_program_rule(self):
        "Program rules use custom fields; used fields cannot be deleted"
        pool = Pool()
        Party = pool.get('party.party')
        Program = pool.get('spp.program')
        CustomField = pool.get('spp.custom_field')
        from trytond.modules.spp_programs.rule import RuleError, compile_rule
        dwelling, *_ = define_fields()
        silva, _ = household("Silva")
        costa, _ = household("Costa")
        Party.write([silva], {'custom_values': {'dwelling': 'mud',
                    'meals': 1}})
        Party.write([costa], {'custom_values': {'dwelling': 'brick',
                    'meals': 1}})
        domain = compile_rule('dwelling = "Mud" and meals < 2')
        self.assertEqual(domain, [('custom_values.dwelling', '=', 'mud'),
                ('custom_values.meals', '<', 2)])
        self.assertEqual(Party.search(domain), [silva])
        self.assertEqual(Party.search(compile_rule(
                    'not dwelling = "mud" and meals is set')), [costa])
        with self.assertRaises(RuleError):
            compile_rule('dwelling = "castle"')
        with self.assertRaises(RuleError):
            compile_rule('meals < "two"')

        from trytond.modules.currency.tests import create_currency
        program, = Program.create([{'name': "Mud Houses", 'code': 'MUD',
                    'target_type': 'group',
                    'currency': create_currency('USD').id,
                    'eligibility_rule': 'dwelling = "mud"'}])
        self.assertEqual(Party.search(program.eligible_domain()), [silva])
        with self.assertRaises(AccessError) as cm:
            CustomField.delete([dwelling])
        self.assertIn("Mud Houses", cm.exception.message)

    @with_transaction()
    def test_export_import_definitions(self):
        "Definitions move between deployments as JSON"
        CustomField = Pool().get('spp.custom_field')
        define_fields()
        text = CustomField.export_definitions()
        data = json.loads(text)
        self.assertEqual(len(data['custom_fields']), 5)
        CustomField.delete(CustomField.search([]))
        data['custom_fields'][0]['string'] = "Dwelling Type"
        ids = CustomField.import_definitions(json.dumps(data))
        self.assertEqual(len(ids), 5)
        ids = CustomField.import_definitions(json.dumps(data))
        self.assertEqual(CustomField.search([], count=True), 5)
        dwelling, = CustomField.search([('name', '=', 'dwelling')])
        self.assertEqual(dwelling.string, "Dwelling Type")
        self.assertEqual(len(dwelling.get_keys([dwelling])[0]['selection']),
            3)
        with self.assertRaises(ValidationError):
            CustomField.import_definitions('{"nope": 1}')


del ModuleTestCase
