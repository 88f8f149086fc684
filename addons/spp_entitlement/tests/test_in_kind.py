"In-kind entitlements: products in a unit, per condition and multiplier."
from decimal import Decimal

from trytond.model.exceptions import SQLConstraintError
from trytond.model.exceptions import DomainValidationError
from trytond.modules.spp_entitlement.exceptions import (
    EntitlementError, ItemValidationError)
from trytond.modules.spp_programs.rule import RuleError
from trytond.modules.spp_registry.tests.tools import get_ref
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import (
    EntitlementDatabaseTestCase, approved_cycle, cash_program,
    create_product, household, rice_and_oil, standard_items)


def in_kind(cycle):
    "{(household, product): (quantity, unit symbol, state)} of live ones."
    Entitlement = Pool().get('spp.entitlement')
    return {(e.registrant.name, e.product.name):
        (e.quantity, e.uom.symbol, e.state)
        for e in Entitlement.search([('cycle', '=', cycle.id),
                ('kind', '=', 'in_kind'), ('slot', '=', 1)])}


class InKindTestCase(EntitlementDatabaseTestCase):
    "Test in-kind entitlement items"

    @with_transaction()
    def test_rice_and_oil_for_households_with_children(self):
        """5 kg of rice per child (3 children at most, 12 kg at most) and
        1.5 l of oil, to households with children only"""
        Entitlement = Pool().get('spp.entitlement')
        household("None", 0)
        household("One", 1)
        household("Two", 2)
        household("Five", 5)
        program = cash_program(in_kind_items=rice_and_oil())
        cycle = approved_cycle(program)

        preview = {item.product.name: (count, quantity)
            for item, count, quantity in Entitlement.preview_in_kind(cycle)}
        # rice 5 + 10 + 12 (15 capped); oil 3 × 1.5
        self.assertEqual(preview, {"Rice": (3, Decimal(27)),
                "Oil": (3, Decimal('4.5'))})
        self.assertEqual(Entitlement.preview(cycle)[0], 0)  # no cash items
        self.assertEqual(Entitlement.search_count([]), 0)

        self.assertEqual(Entitlement.prepare(cycle), 6)
        self.assertEqual(in_kind(cycle), {
                ("One", "Rice"): (Decimal(5), 'kg', 'draft'),
                ("Two", "Rice"): (Decimal(10), 'kg', 'draft'),
                ("Five", "Rice"): (Decimal(12), 'kg', 'draft'),
                ("One", "Oil"): (Decimal('1.5'), 'l', 'draft'),
                ("Two", "Oil"): (Decimal('1.5'), 'l', 'draft'),
                ("Five", "Oil"): (Decimal('1.5'), 'l', 'draft'),
                })
        for entitlement in Entitlement.search([]):
            self.assertEqual(entitlement.kind, 'in_kind')
            self.assertEqual(entitlement.amount, 0)
            self.assertEqual(entitlement.item_key,
                entitlement.in_kind_item.id)
            # the Python reference agrees with the SQL
            self.assertEqual(entitlement.in_kind_item.compute_quantity(
                    entitlement.registrant), entitlement.quantity)
        none, = Pool().get('party.party').search([('name', '=', "None")])
        for item in program.in_kind_items:
            self.assertEqual(item.compute_quantity(none), 0)

    @with_transaction()
    def test_cash_and_in_kind_together(self):
        "Cash items and in-kind items of one program are prepared together"
        Entitlement = Pool().get('spp.entitlement')
        household("Two", 2)
        program = cash_program(items=standard_items(),
            in_kind_items=rice_and_oil())
        cycle = approved_cycle(program)
        self.assertEqual(Entitlement.prepare(cycle), 3)
        cash, = Entitlement.search([('kind', '=', 'cash')])
        self.assertEqual(cash.amount, Decimal('151.00'))
        self.assertEqual(len(in_kind(cycle)), 2)

    @with_transaction()
    def test_reprepare_and_approve(self):
        """Re-preparing replaces in-kind drafts only; approval needs no
        funds for goods; approved quantities are final"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        household("Two", 2)
        program = cash_program(in_kind_items=rice_and_oil())
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        one_rice, = Entitlement.search([('registrant.name', '=', "One"),
                ('product.name', '=', "Rice")])
        Entitlement.submit([one_rice])
        rice = one_rice.in_kind_item
        rice.quantity = Decimal(6)
        rice.save()
        self.assertEqual(Entitlement.prepare(cycle), 3)
        self.assertEqual(in_kind(cycle)[("One", "Rice")],
            (Decimal(5), 'kg', 'pending_validation'))
        self.assertEqual(in_kind(cycle)[("Two", "Rice")],
            (Decimal(12), 'kg', 'draft'))
        self.assertEqual(Entitlement.search_count([]), 4)

        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        self.assertEqual({s for _, _, s in in_kind(cycle).values()},
            {'approved'})
        with self.assertRaises(EntitlementError):
            Entitlement.write([Entitlement(one_rice.id)],
                {'quantity': Decimal(50)})

    @with_transaction()
    def test_unique_per_item(self):
        "One live in-kind entitlement per cycle, beneficiary and item"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        household("One", 1)
        program = cash_program(in_kind_items=rice_and_oil())
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        rice, = Entitlement.search([('product.name', '=', "Rice")])
        with self.assertRaises(SQLConstraintError):
            Entitlement.create([{'cycle': cycle.id,
                        'cycle_membership': rice.cycle_membership.id,
                        'in_kind_item': rice.in_kind_item.id,
                        'product': rice.product.id, 'uom': rice.uom.id,
                        'quantity': Decimal(1), 'amount': Decimal(0)}])

    @with_transaction()
    def test_bad_items(self):
        "A unit of another category, too many digits, zero quantities"
        Program = Pool().get('spp.program')
        program = cash_program()
        rice = create_product("Rice", 'uom_kilogram')
        item = {'product': rice.id, 'quantity': Decimal(5),
            'uom': get_ref('product', 'uom_kilogram')}
        for wrong, error in [
                ({'uom': get_ref('product', 'uom_liter')},
                    DomainValidationError),
                ({'quantity': Decimal('0.0001')}, ItemValidationError),
                ({'quantity': Decimal(0)}, DomainValidationError),
                ({'max_quantity': Decimal(-1)}, DomainValidationError),
                ({'condition': 'no_such_field > 1'}, RuleError)]:
            with self.subTest(wrong=wrong), self.assertRaises(error):
                Program.write([program], {'in_kind_items': [
                            ('create', [{**item, **wrong}])]})
        Item = Pool().get('spp.entitlement.in_kind_item')
        created, = Item.create([{**item, 'program': program.id}])
        self.assertEqual(created.rec_name, "Rice")
