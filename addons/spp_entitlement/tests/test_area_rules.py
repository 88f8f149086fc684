"""Area rules on entitlements and their redemptions: what a registrant
receives (and a voucher's code) is limited to the user's areas exactly as
the registrant is (area_rules.xml), on every path that reads them."""
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.spp_entitlement.tests.tools import (
    cash_program, create_product, household, standard_items,
    submitted_cycle)
from trytond.modules.spp_programs.tests.test_area_rules import (
    area_user, as_user, assert_hidden_as_missing)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .test_basket import basket_program


class AreaRulesTestCase(ActivatedModuleTestCase):
    "Entitlements follow their registrant's area rules"

    module = 'spp_entitlement'

    def setup_vouchers(self):
        """A household in district A (one child) and one in B (two), with
        approved vouchers of 125.50 and 151.00, A's partly redeemed;
        return (areas, household of A, household of B, cycle)."""
        pool = Pool()
        Program = pool.get('spp.program')
        Cycle = pool.get('spp.cycle')
        Entitlement = pool.get('spp.entitlement')
        areas = create_areas()
        group_a = household("A", 1, area=areas['TL-N-A'])
        group_b = household("B", 2, area=areas['TL-N-B'])
        program = cash_program(items=standard_items())
        Program.write([program], {'entitlement_kind': 'voucher'})
        cycle = submitted_cycle(program, Decimal(1000))
        Cycle.approve_entitlements([cycle])
        for group in [group_a, group_b]:
            voucher, = Entitlement.search([('registrant', '=', group.id)])
            Entitlement.redeem(voucher.code, Decimal('10.00'), vendor="Shop")
        return areas, group_a, group_b, Cycle(cycle.id)

    @with_transaction()
    def test_other_areas_entitlements_hidden(self):
        "A viewer of district A finds, counts, reads no entitlement of B, "
        "nor its redemptions"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Redemption = pool.get('spp.entitlement.redemption')
        areas, group_a, group_b, cycle = self.setup_vouchers()
        own, = Entitlement.search([('registrant', '=', group_a.id)])
        other, = Entitlement.search([('registrant', '=', group_b.id)])
        own_redemption, = own.redemptions
        other_redemption, = other.redemptions
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        # What finds B's voucher, as an administrator searches.
        domains = [[('code', '=', other.code)],
            [('registrant', '=', group_b.id)],
            [('rec_name', 'ilike', group_b.code)],
            [('amount', '=', Decimal('151.00'))]]
        for domain in domains:
            self.assertEqual(Entitlement.search(domain), [other])
        with as_user(viewer):
            self.assertEqual(Entitlement.search([]), [own])
            self.assertEqual(Entitlement.search_count([]), 1)
            for domain in domains:
                with self.subTest(domain=domain):
                    self.assertEqual(Entitlement.search_count(domain), 0)
            assert_hidden_as_missing(self, Entitlement, other.id,
                ['code', 'amount', 'registrant'])
            self.assertEqual(Entitlement.export_data(
                    [Entitlement(own.id)], ['registrant/name', 'amount']),
                [["A", Decimal('125.50')]])
            self.assertEqual(Redemption.search([]), [own_redemption])
            self.assertEqual(Redemption.search_count(
                    [('vendor', '=', "Shop")]), 1)
            assert_hidden_as_missing(self, Redemption, other_redemption.id,
                ['amount', 'vendor', 'date'])

    @with_transaction()
    def test_lists_behind_forms_follow_the_rules(self):
        "The registrant's Entitlements tab and the cycle's entitlements "
        "list only the user's area; the cycle's totals stay whole"
        pool = Pool()
        Party = pool.get('party.party')
        Cycle = pool.get('spp.cycle')
        Entitlement = pool.get('spp.entitlement')
        areas, group_a, group_b, cycle = self.setup_vouchers()
        own, = Entitlement.search([('registrant', '=', group_a.id)])
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        with as_user(viewer):
            record, = Party.read([group_a.id], ['entitlements'])
            self.assertEqual(list(record['entitlements']), [own.id])
            self.assertEqual(Party.export_data([Party(group_a.id)],
                    ['entitlements/amount']), [[Decimal('125.50')]])
            record, = Cycle.read([cycle.id], ['entitlements',
                    'entitlement_count', 'entitlement_amount'])
            self.assertEqual(list(record['entitlements']), [own.id])
            # A cycle's figures are what it costs, not whom it pays: the
            # whole cycle's, as the approvers read them.
            self.assertEqual(record['entitlement_count'], 2)
            self.assertEqual(record['entitlement_amount'], Decimal('276.50'))
            with self.assertRaises(AccessError):
                Cycle.export_data([Cycle(cycle.id)], ['entitlements/code'])

    @with_transaction()
    def test_who_sees_everything(self):
        "Users of the region, finance validators and program managers see "
        "every entitlement; a registrar none"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Redemption = pool.get('spp.entitlement.redemption')
        areas, group_a, group_b, cycle = self.setup_vouchers()
        both = Entitlement.search([], order=[('id', 'ASC')])
        self.assertEqual(len(both), 2)
        users = [
            area_user('view_n', ['spp_registry.group_registry_viewer'],
                [areas['TL-N']]),
            area_user('finance', ['spp_entitlement.group_finance_validator']),
            area_user('manager', ['spp_programs.group_program_manager']),
            ]
        for user in users:
            with self.subTest(user=user.login), as_user(user):
                self.assertEqual(
                    Entitlement.search([], order=[('id', 'ASC')]), both)
                Entitlement.read(list(map(int, both)), ['code', 'amount'])
                self.assertEqual(Redemption.search_count([]), 2)
        registrar = area_user('reg_a', ['spp_registry.group_registrar'],
            [areas['TL-N-A']])
        with as_user(registrar):
            with self.assertRaises(AccessError):
                Entitlement.search([])
            with self.assertRaises(AccessError):
                Entitlement.read([both[0].id], ['code'])

    @with_transaction()
    def test_basket_lines_hidden(self):
        "The products of another area's basket voucher and of its "
        "redemptions are not found either"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Entitlement = pool.get('spp.entitlement')
        VoucherLine = pool.get('spp.entitlement.voucher.line')
        RedemptionLine = pool.get('spp.entitlement.redemption.line')
        areas = create_areas()
        group_a = household("A", 1, area=areas['TL-N-A'])
        household("B", 2, area=areas['TL-N-B'])
        rice, oil = create_product("Rice"), create_product("Oil",
            'uom_liter')
        cycle = submitted_cycle(basket_program(rice, oil), Decimal(100))
        Cycle.approve_entitlements([cycle])
        vouchers = Entitlement.search([])
        self.assertEqual(len(vouchers), 2)
        for voucher in vouchers:
            Entitlement.redeem_products(voucher.code, {rice: Decimal(1)})
        own, = [v for v in vouchers if v.registrant == group_a]
        own_lines = VoucherLine.search([('entitlement', '=', own.id)],
            order=[('id', 'ASC')])
        own_redeemed = RedemptionLine.search(
            [('redemption.entitlement', '=', own.id)])
        self.assertEqual((VoucherLine.search_count([]),
                RedemptionLine.search_count([])), (4, 2))
        # B's two children: 10 kg of rice.
        self.assertEqual(VoucherLine.search_count(
                [('quantity', '=', Decimal(10))]), 1)
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        with as_user(viewer):
            self.assertEqual(VoucherLine.search([], order=[('id', 'ASC')]),
                own_lines)
            self.assertEqual(RedemptionLine.search([]), own_redeemed)
            self.assertEqual(VoucherLine.search_count(
                    [('quantity', '=', Decimal(10))]), 0)
