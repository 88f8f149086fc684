"""What the cycle and entitlement screens tell a caseworker: the cycle's
entitlements and total before approval, what its buttons did, amounts in
the currency's digits, entitlements found by registrant, item names."""
from decimal import Decimal

from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    approved_cycle, cash_program, household, post_fund, rice_and_oil,
    standard_items)


def notices():
    return [n.label for n in Transaction().user_notifications or []]


class CaseworkerTestCase(ActivatedModuleTestCase):
    "Informative entitlement screens"
    module = 'spp_entitlement'

    @with_transaction()
    def test_cycle_totals_and_notices(self):
        "The cycle shows its entitlements, total and fees; buttons confirm"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Entitlement = pool.get('spp.entitlement')
        household("One", 1)
        household("Two", 2)
        program = cash_program(items=standard_items(),
            fee_fixed=Decimal('1.00'))
        cycle = approved_cycle(program)
        other = Cycle.create_next(program)
        Entitlement.prepare(cycle)
        cycles = Cycle.browse([cycle.id, other.id])
        self.assertEqual(
            [(c.entitlement_count, c.entitlement_amount, c.entitlement_fee)
                for c in cycles],
            [(2, Decimal('276.50'), Decimal('2.00')),
                (0, Decimal(0), Decimal(0))])
        name = cycle.rec_name
        self.assertEqual(Cycle(cycle.id).summary, '2 entitlements, '
            '276.50 TSD (fees 2.00 TSD) approved by Administrator.')
        Cycle.submit_entitlements([cycle])
        self.assertIn(f'{name}: entitlements submitted for validation '
            '(2 entitlements, 276.50 TSD (fees 2.00 TSD)).', notices())
        post_fund(program, Decimal('1000.00'))
        Cycle.approve_entitlements([Cycle(cycle.id)])
        self.assertIn(f'{name}: entitlements approved (2 entitlements, '
            '276.50 TSD (fees 2.00 TSD)).', notices())
        # Cancelled entitlements leave the totals.
        one, = Entitlement.search([('registrant.name', '=', "One")])
        Entitlement.cancel([one])
        self.assertEqual(Cycle(cycle.id).entitlement_count, 1)
        self.assertEqual(Cycle(cycle.id).entitlement_amount,
            Decimal('151.00'))

    @with_transaction()
    def test_preview_wizard_notice(self):
        "Preparing through the wizard says what was prepared"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Preview = pool.get('spp.entitlement.preview', type='wizard')
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = Cycle.create_next(program)
        Cycle.prepare([cycle])
        with Transaction().set_context(active_model='spp.cycle',
                active_id=cycle.id, active_ids=[cycle.id]):
            session_id, _, _ = Preview.create()
            preview = Preview(session_id)
            start = preview.default_start(None)
            self.assertEqual((start['count'], start['amount'],
                    start['currency']),
                (1, Decimal('125.50'), program.currency.id))
            preview.transition_prepare()
        self.assertIn(f'{cycle.rec_name}: 1 entitlements, 125.50 TSD '
            'prepared.', notices())

    @with_transaction()
    def test_amounts_in_currency_digits(self):
        "Amounts take the digits of the program's currency"
        pool = Pool()
        for model, names in [
                ('spp.entitlement', ['amount', 'fee']),
                ('spp.cycle', ['entitlement_amount', 'entitlement_fee']),
                ('spp.program.fund', ['amount']),
                ('spp.program.balance',
                    ['posted', 'committed', 'paid', 'available']),
                ('spp.program', ['committed_amount', 'max_amount',
                        'fee_fixed']),
                ('spp.entitlement.item', ['amount']),
                ('spp.entitlement.redemption', ['amount']),
                ('spp.entitlement.preview.start', ['amount', 'fee']),
                ]:
            Model = pool.get(model)
            for name, definition in Model.fields_get(names).items():
                with self.subTest(model=model, field=name):
                    self.assertEqual(definition['digits'], '"currency"')
                    self.assertEqual(definition['symbol'], 'currency')
                    self.assertIn('currency', Model._fields)
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        pool.get('spp.entitlement').prepare(cycle)
        entitlement, = pool.get('spp.entitlement').search([])
        self.assertEqual(entitlement.currency, program.currency)
        self.assertEqual(entitlement.currency.get_digits(), (None, 2))
        self.assertEqual(Pool().get('spp.cycle')(cycle.id).currency,
            program.currency)

    @with_transaction()
    def test_search_and_item_names(self):
        "Plain text finds entitlements by registrant; items are named"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        one = household("Mendoza", 1)
        household("Reyes", 2)
        program = cash_program(items=standard_items(),
            in_kind_items=rice_and_oil())
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)

        def found(text):
            return {(e.registrant.name, e.kind) for e in Entitlement.search(
                    [('rec_name', 'ilike', f'%{text}%')])}
        self.assertEqual({n for n, _ in found('mendoza')}, {"Mendoza"})
        self.assertTrue(one.code)
        self.assertEqual({n for n, _ in found(one.code)}, {"Mendoza"})
        self.assertEqual(found('nobody'), set())
        names = {(e.registrant.name, e.item_name) for e in
            Entitlement.search([('registrant', '=', one.id)])}
        self.assertEqual(names,
            {("Mendoza", None), ("Mendoza", "Rice"), ("Mendoza", "Oil")})
