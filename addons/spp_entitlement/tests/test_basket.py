"Basket vouchers: a voucher item with products instead of an amount."
from decimal import Decimal

from trytond.model.exceptions import SQLConstraintError
from trytond.modules.spp_entitlement.exceptions import (
    EntitlementError, ItemValidationError)
from trytond.modules.spp_registry.tests.tools import get_ref
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import (
    EntitlementDatabaseTestCase, approved_cycle, cash_program,
    create_product, household, submitted_cycle)


def basket_program(rice, oil, cash=None):
    """A voucher program whose item "Food basket" gives 5 kg of rice per
    child (3 children at most) and 1.5 l of oil to households with
    children; with `cash`, a cash voucher item of that amount too."""
    Program = Pool().get('spp.program')
    items = [{'name': "Food basket", 'sequence': 1,
            'condition': 'child_count >= 1',
            'multiplier_field': 'child_count', 'max_multiplier': 3,
            'basket_lines': [('create', [
                        {'product': rice.id, 'quantity': Decimal(5),
                            'uom': get_ref('product', 'uom_kilogram')},
                        {'product': oil.id, 'quantity': Decimal('1.5'),
                            'uom': get_ref('product', 'uom_liter')}])]}]
    if cash is not None:
        items.append({'name': "Cash", 'amount': cash, 'sequence': 2})
    program = cash_program(code='BASKET')
    Program.write([program], {'entitlement_kind': 'voucher',
            'entitlement_items': [('create', items)]})
    return Program(program.id)


def issued(cycle):
    "{(household, item name): {product: (quantity, redeemed)}} of vouchers."
    Entitlement = Pool().get('spp.entitlement')
    return {(e.registrant.name, e.item.name if e.item else None):
        {l.product.name: (l.quantity, l.redeemed_quantity)
            for l in e.basket_lines}
        for e in Entitlement.search([('cycle', '=', cycle.id),
                ('kind', '=', 'voucher'), ('slot', '=', 1)])}


class BasketTestCase(EntitlementDatabaseTestCase):
    "Test basket vouchers"

    @with_transaction()
    def test_amount_or_basket(self):
        """An item has an amount or a basket, exactly one; a basket only
        in a voucher program; a product once per basket"""
        pool = Pool()
        Item = pool.get('spp.entitlement.item')
        Program = pool.get('spp.program')
        rice = create_product("Rice")
        kilogram = get_ref('product', 'uom_kilogram')
        # Refused records stay in a test transaction: one program each.
        other = cash_program(code='OTHER')
        with self.assertRaisesRegex(ItemValidationError,
                'Item "Empty" has neither an amount nor a basket'):
            Item.create([{'program': other.id, 'name': "Empty"}])
        program = cash_program(code='CHECK')
        with self.assertRaisesRegex(ItemValidationError,
                'Item "Food" has a basket of products but program '
                '".*" gives cash: a basket is for voucher programs only'):
            Item.create([{'program': program.id, 'name': "Food",
                        'basket_lines': [('create', [{'product': rice.id,
                                        'quantity': Decimal(5),
                                        'uom': kilogram}])]}])
        Program.write([program], {'entitlement_kind': 'voucher'})
        with self.assertRaisesRegex(ItemValidationError,
                r'Item "Both" has both an amount \(10.00\) and a basket'):
            Item.create([{'program': program.id, 'name': "Both",
                        'amount': Decimal('10.00'),
                        'basket_lines': [('create', [{'product': rice.id,
                                        'quantity': Decimal(5),
                                        'uom': kilogram}])]}])
        item, = Item.create([{'program': program.id, 'name': "Food",
                    'basket_lines': [('create', [{'product': rice.id,
                                    'quantity': Decimal(5),
                                    'uom': kilogram}])]}])
        with self.assertRaisesRegex(ItemValidationError,
                'program ".*" gives cash'):
            Program.write([program], {'entitlement_kind': 'cash'})
        with self.assertRaisesRegex(ItemValidationError,
                'quantity 0.0001 of "Rice" in the basket has more digits'):
            Item.write([item], {'basket_lines': [('write',
                            [item.basket_lines[0].id],
                            {'quantity': Decimal('0.0001')})]})
        with self.assertRaisesRegex(SQLConstraintError,
                'only once in a basket'):
            Item.write([item], {'basket_lines': [('create', [{
                                'product': rice.id, 'quantity': Decimal(1),
                                'uom': kilogram}])]})

    @with_transaction()
    def test_prepare_basket_vouchers(self):
        """Preparing issues one basket voucher per household with
        children, with the quantities times the multiplier; a cash item
        of the same program gives its own vouchers; re-preparing replaces
        the drafts"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("None", 0)
        household("One", 1)
        household("Five", 5)
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        program = basket_program(rice, oil, cash=Decimal('40.00'))
        cycle = approved_cycle(program)
        (item, count, lines), = Entitlement.preview_baskets(cycle)
        self.assertEqual((item.name, count), ("Food basket", 2))
        self.assertEqual([(l.product.name, q) for l, q in lines],
            [("Rice", Decimal(20)), ("Oil", Decimal(6))])
        self.assertEqual(Entitlement.prepare(cycle), 5)
        expected = {
            ("None", None): {}, ("One", None): {}, ("Five", None): {},
            ("One", "Food basket"): {"Rice": (Decimal(5), 0),
                "Oil": (Decimal('1.5'), 0)},
            ("Five", "Food basket"): {"Rice": (Decimal(15), 0),
                "Oil": (Decimal('4.5'), 0)},
            }
        self.assertEqual(issued(cycle), expected)
        baskets = Entitlement.search([('cycle', '=', cycle.id),
                ('item', '!=', None)])
        self.assertEqual({(e.amount, e.fee, e.state) for e in baskets},
            {(Decimal(0), Decimal(0), 'draft')})
        # The cash value leaves the basket out, in Python as in SQL.
        self.assertEqual(program.compute_entitlement(baskets[0].registrant),
            (Decimal('40.00'), Decimal(0)))
        self.assertEqual(Entitlement.prepare(Cycle(cycle.id)), 5)
        self.assertEqual(issued(cycle), expected)

        # Submitted vouchers stay; only the drafts are prepared again.
        Entitlement.submit(Entitlement.search([('cycle', '=', cycle.id),
                    ('item', '!=', None)]))
        Entitlement.prepare(Cycle(cycle.id))
        self.assertEqual(issued(cycle), expected)
        self.assertEqual(len(Entitlement.search(
                    [('cycle', '=', cycle.id)])), 5)

    @with_transaction()
    def test_redeem_basket_in_parts(self):
        """A basket voucher is redeemed by product quantities, in parts,
        never beyond what was issued; it is redeemed once every product
        is used up; an amount does not redeem it"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("Two", 2)
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        beans = create_product("Beans")
        program = basket_program(rice, oil, cash=Decimal('40.00'))
        cycle = submitted_cycle(program, Decimal(100))
        Cycle.approve_entitlements([cycle])
        voucher, = Entitlement.search([('item', '!=', None)])
        cash, = Entitlement.search([('kind', '=', 'voucher'),
                ('item', '=', None)])
        self.assertEqual(len(voucher.code), 17)
        self.assertNotEqual(voucher.code, cash.code)

        with self.assertRaisesRegex(EntitlementError,
                'holds a basket of products: redeem quantities'):
            Entitlement.redeem(voucher.code, Decimal(1))
        with self.assertRaisesRegex(EntitlementError,
                'holds a cash value: redeem an amount'):
            Entitlement.redeem_products(cash.code, {rice: Decimal(1)})
        with self.assertRaisesRegex(EntitlementError, 'holds no "Beans"'):
            Entitlement.redeem_products(voucher.code, {beans: Decimal(1)})
        with self.assertRaisesRegex(EntitlementError,
                '"Rice" must be positive'):
            Entitlement.redeem_products(voucher.code, {rice: Decimal(0)})
        with self.assertRaisesRegex(EntitlementError,
                r'has 10(\.0+)? kg of "Rice" left: 11 kg cannot be '
                'redeemed'):
            Entitlement.redeem_products(voucher.code, {rice: Decimal(11)})

        redemption = Entitlement.redeem_products(voucher.code.lower(),
            {rice: Decimal(4)}, vendor="Shop")
        self.assertEqual([(l.product.name, l.quantity, l.uom.symbol)
                for l in redemption.lines], [("Rice", Decimal(4), 'kg')])
        self.assertIsNone(redemption.amount)
        voucher = Entitlement(voucher.id)
        self.assertEqual(voucher.state, 'approved')
        self.assertEqual(issued(cycle)[("Two", "Food basket")], {
                "Rice": (Decimal(10), Decimal(4)),
                "Oil": (Decimal(3), Decimal(0))})
        with self.assertRaisesRegex(EntitlementError,
                r'has 6(\.0+)? kg of "Rice" left: 7 kg cannot'):
            Entitlement.redeem_products(voucher.code,
                {oil: Decimal(1), rice: Decimal(7)})
        # Refused as a whole: the oil of the refused redemption stays.
        self.assertEqual(issued(cycle)[("Two", "Food basket")]["Oil"],
            (Decimal(3), Decimal(0)))
        Entitlement.redeem_products(voucher.code,
            {rice: Decimal(6), oil: Decimal(2)})
        self.assertEqual(Entitlement(voucher.id).state, 'approved')
        Entitlement.redeem_products(voucher.code, {oil: Decimal(1)})
        voucher = Entitlement(voucher.id)
        self.assertEqual(voucher.state, 'redeemed')
        self.assertEqual(len(voucher.redemptions), 3)
        with self.assertRaisesRegex(EntitlementError, 'is redeemed'):
            Entitlement.redeem_products(voucher.code, {oil: Decimal(1)})
        # Goods need no funds: only the cash voucher is committed.
        Fund = pool.get('spp.program.fund')
        self.assertEqual(Fund.balance(program)[1], Decimal('40.00'))

    @with_transaction()
    def test_redeem_wizard(self):
        """The Redeem Voucher wizard takes an amount for a cash voucher or
        product quantities for a basket voucher, not both"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Redeem = pool.get('spp.entitlement.redeem', type='wizard')
        household("One", 1)
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        program = basket_program(rice, oil)
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        voucher, = Entitlement.search([('item', '!=', None)])

        def run(start):
            session_id, _, _ = Redeem.create()
            Redeem.execute(session_id, {'start': {
                        'code': voucher.code, 'date': cycle.start_date,
                        **start}}, 'redeem')
        with self.assertRaisesRegex(EntitlementError,
                'either an amount .* or product quantities'):
            run({'amount': Decimal(1), 'products': [{'product': rice.id,
                            'quantity': Decimal(1)}]})
        with self.assertRaisesRegex(EntitlementError, 'either an amount'):
            run({})
        run({'products': [{'product': rice.id, 'quantity': Decimal(2)},
                    {'product': rice.id, 'quantity': Decimal(3)},
                    {'product': oil.id, 'quantity': Decimal('1.5')}]})
        voucher = Entitlement(voucher.id)
        self.assertEqual(voucher.state, 'redeemed')
        self.assertEqual([(l.product.name, l.quantity)
                for l in voucher.redemptions[0].lines],
            [("Rice", Decimal(5)), ("Oil", Decimal('1.5'))])

    @with_transaction()
    def test_correct_basket_voucher(self):
        """Correcting an approved basket voucher (cancel + new) gives the
        correction the same basket, nothing of it redeemed, and no
        redemptions"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("Two", 2)
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        program = basket_program(rice, oil)
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        voucher, = Entitlement.search([('item', '!=', None)])
        Entitlement.redeem_products(voucher.code, {rice: Decimal(4)})

        correction = Entitlement.correct(voucher, Decimal(0))
        self.assertEqual(Entitlement(voucher.id).state, 'cancelled')
        self.assertEqual((correction.state, correction.code,
                correction.item, correction.correction_of),
            ('draft', None, voucher.item, voucher))
        self.assertEqual([(l.product.name, l.quantity, l.uom.symbol,
                    l.redeemed_quantity) for l in correction.basket_lines],
            [("Rice", Decimal(10), 'kg', Decimal(0)),
                ("Oil", Decimal(3), 'l', Decimal(0))])
        self.assertEqual(correction.redemptions, ())
        # The cancelled voucher keeps its own lines and redemption.
        self.assertEqual([(l.product.name, l.redeemed_quantity)
                for l in Entitlement(voucher.id).basket_lines],
            [("Rice", Decimal(4)), ("Oil", Decimal(0))])
        self.assertEqual(len(Entitlement(voucher.id).redemptions), 1)

        # Approved, the correction gets its code and redeems as a basket.
        Entitlement.submit([correction])
        Entitlement.approve([correction])
        correction = Entitlement(correction.id)
        self.assertNotEqual(correction.code, voucher.code)
        with self.assertRaisesRegex(EntitlementError,
                'holds a basket of products'):
            Entitlement.redeem(correction.code, Decimal(1))
        Entitlement.redeem_products(correction.code,
            {rice: Decimal(10), oil: Decimal(3)})
        self.assertEqual(Entitlement(correction.id).state, 'redeemed')

    @with_transaction()
    def test_redeem_quantity_rounding(self):
        """A redeemed quantity must be a multiple of the unit's rounding:
        otherwise it is refused, naming product, quantity and unit, and
        nothing is recorded"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        program = basket_program(rice, oil)
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        voucher, = Entitlement.search([('item', '!=', None)])
        with self.assertRaisesRegex(EntitlementError,
                r'0.005 kg of "Rice" cannot be redeemed, the unit "kg" '
                r'counts in steps of 0.01'):
            Entitlement.redeem_products(voucher.code,
                {oil: Decimal(1), rice: Decimal('0.005')})
        self.assertEqual(Entitlement(voucher.id).redemptions, ())
        self.assertEqual(issued(cycle)[("One", "Food basket")], {
                "Rice": (Decimal(5), Decimal(0)),
                "Oil": (Decimal('1.5'), Decimal(0))})
        # Trailing zeros are no extra digits.
        Entitlement.redeem_products(voucher.code,
            {rice: Decimal('2.500'), oil: Decimal('1.50')})
        self.assertEqual(issued(cycle)[("One", "Food basket")], {
                "Rice": (Decimal(5), Decimal('2.5')),
                "Oil": (Decimal('1.5'), Decimal('1.5'))})
