"""Area rules on payments: a payment holds its payee's name, phone and
account, so it is limited to the user's areas exactly as its beneficiary
is (area_rules.xml), on every path that reads it."""
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.spp_entitlement.tests.tools import (
    cash_program, household, standard_items, submitted_cycle)
from trytond.modules.spp_programs.tests.test_area_rules import (
    area_user, as_user, assert_hidden_as_missing)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .test_module import head, payee_data

# A payment officer of a district: the registry's area-limited viewer
# group limits what they read (the payment groups alone do not).
DISTRICT_OFFICER = ['spp_payment.group_payment_officer',
    'spp_registry.group_registry_viewer']


class AreaRulesTestCase(ActivatedModuleTestCase):
    "Payments follow their beneficiary's area rules"

    module = 'spp_payment'

    def setup_payments(self):
        """Households of districts A (one child) and B (two children),
        their heads payable, paid in one batch; return (areas, household
        of A, household of B, batch)."""
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Batch = pool.get('spp.payment.batch')
        areas = create_areas()
        group_a = household("A", 1, area=areas['TL-N-A'])
        group_b = household("B", 2, area=areas['TL-N-B'])
        for i, group in enumerate([group_a, group_b]):
            payee_data(head(group), i)
        program = cash_program(items=standard_items())
        cycle = submitted_cycle(program, Decimal(100000))
        Cycle.approve_entitlements([cycle])
        batch, = Batch.create_for_cycle(cycle)
        return areas, group_a, group_b, batch

    @with_transaction()
    def test_other_areas_payments_hidden(self):
        "A district's payment officer finds, counts, reads no payment of "
        "another district: neither the payee's name, phone nor account"
        pool = Pool()
        Payment = pool.get('spp.payment')
        areas, group_a, group_b, batch = self.setup_payments()
        own, = Payment.search([('registrant', '=', group_a.id)])
        other, = Payment.search([('registrant', '=', group_b.id)])
        self.assertEqual(other.payee_phone, '+63 917 555 0001')
        domains = [[('payee_phone', '=', other.payee_phone)],
            [('payee_account', '=', other.payee_account)],
            [('payee_name', '=', other.payee_name)],
            [('reference', '=', other.reference)],
            [('rec_name', 'ilike', f'%{other.payee_name}%')],
            [('registrant', '=', group_b.id)]]
        for domain in domains:
            self.assertEqual(Payment.search(domain), [other])
        officer_a = area_user('officer_a', DISTRICT_OFFICER,
            [areas['TL-N-A']])
        with as_user(officer_a):
            self.assertEqual(Payment.search([]), [own])
            self.assertEqual(Payment.search_count([]), 1)
            for domain in domains:
                with self.subTest(domain=domain):
                    self.assertEqual(Payment.search_count(domain), 0)
            assert_hidden_as_missing(self, Payment, other.id,
                ['payee_name', 'payee_phone', 'payee_account'])
            self.assertEqual(Payment.export_data([Payment(own.id)],
                    ['payee_phone', 'registrant/name']),
                [['+63 917 555 0000', "A"]])

    @with_transaction()
    def test_lists_behind_forms_follow_the_rules(self):
        "The registrant's Payments tab and the batch's payments list only "
        "the user's area; the batch's totals stay whole"
        pool = Pool()
        Party = pool.get('party.party')
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        areas, group_a, group_b, batch = self.setup_payments()
        own, = Payment.search([('registrant', '=', group_a.id)])
        officer_a = area_user('officer_a', DISTRICT_OFFICER,
            [areas['TL-N-A']])
        with as_user(officer_a):
            record, = Party.read([group_a.id], ['payments'])
            self.assertEqual(list(record['payments']), [own.id])
            with self.assertRaises(AccessError):
                Party.read([group_b.id], ['payments'])
            record, = Batch.read([batch.id],
                ['payments', 'total_count', 'total_amount'])
            self.assertEqual(list(record['payments']), [own.id])
            # The batch's figures are what the provider is sent: whole.
            self.assertEqual(record['total_count'], 2)
            self.assertEqual(record['total_amount'], Decimal('276.50'))
            with self.assertRaises(AccessError):
                Batch.export_data([Batch(batch.id)],
                    ['payments/payee_phone'])

    @with_transaction()
    def test_who_sees_everything(self):
        "Payment officers, finance validators and program managers without "
        "a registry area see every payment; registry viewers none"
        pool = Pool()
        Payment = pool.get('spp.payment')
        areas, group_a, group_b, batch = self.setup_payments()
        both = Payment.search([], order=[('id', 'ASC')])
        self.assertEqual(len(both), 2)
        users = [
            area_user('officer', ['spp_payment.group_payment_officer']),
            area_user('finance', ['spp_entitlement.group_finance_validator']),
            area_user('manager', ['spp_programs.group_program_manager']),
            area_user('officer_n', DISTRICT_OFFICER, [areas['TL-N']]),
            ]
        for user in users:
            with self.subTest(user=user.login), as_user(user):
                self.assertEqual(
                    Payment.search([], order=[('id', 'ASC')]), both)
                Payment.read(list(map(int, both)), ['payee_phone'])
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        own, = [p for p in both if p.registrant == group_a]
        with as_user(viewer):
            with self.assertRaises(AccessError):
                Payment.search([])
            with self.assertRaises(AccessError):
                Payment.read([own.id], ['payee_phone'])
