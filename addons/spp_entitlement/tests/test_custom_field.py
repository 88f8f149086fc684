"""Custom fields of spp_custom_field as entitlement multipliers and in
conditions (the integration registered when that addon is installed)."""
import unittest
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .tools import approved_cycle, cash_program, household, rice_and_oil


def define_fields():
    "A decimal field of groups and an indicator counting young members."
    CustomField = Pool().get('spp.custom_field')
    return CustomField.create([{
                'name': 'hectares', 'string': "Hectares Farmed",
                'applies_to': 'group', 'type_': 'numeric',
                }, {
                'name': 'dwelling', 'string': "Dwelling",
                'applies_to': 'group', 'type_': 'selection',
                'selection': 'brick: Brick\nmud: Mud',
                }, {
                'name': 'under_five', 'string': "Under Five",
                'compute': 'count', 'condition': 'age < 5',
                }])


class CustomFieldMultiplierTestCase(unittest.TestCase):
    "Test custom fields as multipliers and conditions"

    @classmethod
    def setUpClass(cls):
        # A database of its own: scenarios run in the same process commit.
        drop_db()
        activate_module(['spp_entitlement', 'spp_custom_field'])

    @classmethod
    def tearDownClass(cls):
        drop_db()

    @with_transaction()
    def test_multiplier_choices(self):
        "Numeric custom fields and indicators are offered, others not"
        Item = Pool().get('spp.entitlement.item')
        define_fields()
        names = {name for name, _ in Item.get_multiplier_fields()}
        self.assertTrue({'child_count', 'hectares', 'under_five'} <= names)
        self.assertNotIn('dwelling', names)

    @with_transaction()
    def test_cash_and_in_kind_by_custom_fields(self):
        """30.00 per hectare farmed (at most 2.5) to households in mud
        dwellings; 5 kg of rice per child under five (computed)"""
        pool = Pool()
        Party = pool.get('party.party')
        Entitlement = pool.get('spp.entitlement')
        define_fields()
        # children are 2 + i years old: under five for i < 3
        small = household("Small", 1)
        large = household("Large", 4)
        brick = household("Brick", 2)
        Party.write([small], {'custom_values': {
                    'hectares': Decimal('1.5'), 'dwelling': 'mud'}})
        Party.write([large], {'custom_values': {
                    'hectares': Decimal(4), 'dwelling': 'mud'}})
        Party.write([brick], {'custom_values': {
                    'hectares': Decimal(2), 'dwelling': 'brick'}})
        self.assertEqual(Party(large.id).custom_values['under_five'], 3)
        rice, _ = rice_and_oil()
        rice.update({'condition': 'under_five >= 1',
                'multiplier_field': 'under_five', 'max_multiplier': None,
                'max_quantity': None})
        program = cash_program(items=[{'name': "Per hectare",
                    'amount': Decimal('30.00'),
                    'condition': 'dwelling = "mud"',
                    'multiplier_field': 'hectares', 'max_multiplier': 3}],
            in_kind_items=[rice])
        item, = program.entitlement_items
        item.max_multiplier = None
        item.save()
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        cash = {e.registrant.name: e.amount for e in Entitlement.search(
                [('kind', '=', 'cash'), ('cycle', '=', cycle.id)])}
        # 30 × 1.5 | 30 × 4 | brick: no cash
        self.assertEqual(cash, {"Small": Decimal('45.00'),
                "Large": Decimal('120.00')})
        goods = {e.registrant.name: e.quantity for e in Entitlement.search(
                [('kind', '=', 'in_kind'), ('cycle', '=', cycle.id)])}
        # 5 kg per child under five: 1 | 3 | 2
        self.assertEqual(goods, {"Small": Decimal(5), "Large": Decimal(15),
                "Brick": Decimal(10)})
        for entitlement in Entitlement.search([('kind', '=', 'cash'),
                    ('cycle', '=', cycle.id)]):
            self.assertEqual(
                program.compute_entitlement(entitlement.registrant)[0],
                entitlement.amount)
        for entitlement in Entitlement.search([('kind', '=', 'in_kind'),
                    ('cycle', '=', cycle.id)]):
            self.assertEqual(entitlement.in_kind_item.compute_quantity(
                    entitlement.registrant), entitlement.quantity)

        # the maximum multiplier bounds a custom field like an indicator
        item.max_multiplier = 2
        item.save()
        Entitlement.prepare(cycle)
        large_cash, = Entitlement.search([('kind', '=', 'cash'),
                ('registrant', '=', large.id), ('cycle', '=', cycle.id)])
        self.assertEqual(large_cash.amount, Decimal('60.00'))

    @with_transaction()
    def test_used_field_not_deleted(self):
        "A custom field an item multiplies by or tests cannot be deleted"
        CustomField = Pool().get('spp.custom_field')
        hectares, dwelling, under_five = define_fields()
        cash_program(items=[{'name': "Per hectare",
                    'amount': Decimal('30.00'),
                    'condition': 'dwelling = "mud"',
                    'multiplier_field': 'hectares'}])
        for record in [hectares, dwelling]:
            with self.subTest(field=record.name), \
                    self.assertRaisesRegex(AccessError, 'Per hectare'):
                CustomField.delete([record])
        CustomField.delete([under_five])
        self.assertEqual(CustomField.search_count(
                [('name', '=', 'under_five')]), 0)
