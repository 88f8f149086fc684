"What the payment batches and payments record in the audit log."
import json
from decimal import Decimal

from trytond.model.modelview import AccessButtonError
from trytond.modules.spp_payment.tests import test_module as payments
from trytond.modules.spp_programs.tests import test_module as programs
from trytond.modules.spp_registry.tests.tools import get_ref
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .test_module import entries
from .test_programs import SpineAuditTestCase, details, rpc

# What approved_entitlements(3) gives: 100 + 25.50 per child.
TOTAL = Decimal('376.50')


class PaymentAuditTestCase(SpineAuditTestCase):
    "Audit of payment batches and payments"

    @with_transaction()
    def test_batch_lifecycle(self):
        """Creating batches, exporting, sending and reconciling are one
        entry each, with counts and amounts"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        cycle = payments.approved_entitlements(3)
        payments.run_wizard('spp.payment.batch.create', 'spp.cycle',
            [cycle], {'start': {'cycle': cycle.id, 'provider': 'file',
                    'size': 10}}, 'issue')
        batch, = Batch.search([('cycle', '=', cycle.id)])
        created, = entries(model='spp.cycle', action='create_payment_batches')
        self.assertEqual(created.record_id, cycle.id)
        self.assertEqual(created.count, 3)
        self.assertEqual(details(created)['batches'], [batch.id])
        self.assertEqual(details(created)['provider'], 'file')
        self.assertEqual(details(created)['size'], 10)
        issued = details(created)['payments']['issued']
        self.assertEqual((issued['count'], Decimal(issued['amount'])),
            (3, TOTAL))
        # Issued in bulk: no entry per payment.
        self.assertEqual(entries(model='spp.payment'), [])

        Batch.approve([batch])
        approved, = entries(model='spp.payment.batch', action='approve')
        self.assertEqual(approved.record_id, batch.id)

        payments.run_wizard('spp.payment.batch.export', 'spp.payment.batch',
            [batch], {'start': {'format': 'csv'}}, 'result')
        exported, = entries(model='spp.payment.batch', action='export_file')
        self.assertEqual(exported.record_id, batch.id)
        self.assertEqual(exported.channel, 'export')
        self.assertEqual(exported.count, 3)
        self.assertEqual(details(exported)['format'], 'csv')
        self.assertEqual(Decimal(details(exported)['amount']), TOTAL)
        self.assertRegex(details(exported)['filename'], r'\.csv$')

        Batch.send([Batch(batch.id)])
        sent, = entries(model='spp.payment.batch', action='send')
        self.assertEqual(sent.count, 3)
        self.assertEqual(Decimal(details(sent)['amount']), TOTAL)
        self.assertEqual(details(sent)['providers'], ['file'])

        first, second, _ = payments.payments(cycle)
        data = (payments.HEADER
            + f'{first.reference},paid,{first.amount},2026-01-05,PRV-0\n'
            + f'{second.reference},failed,,2026-01-05,PRV-1\n'
            + 'PAY-999999-1,paid,10.00,2026-01-05,PRV-X\n').encode()
        start = {'start': {'file': data, 'filename': 'bank.csv'}}
        payments.run_wizard('spp.payment.reconciliation.import',
            'spp.payment.batch', [batch], start, 'check')
        self.assertEqual(entries(action='import_reconciliation'), [],
            "a check changes nothing and is no entry")
        payments.run_wizard('spp.payment.reconciliation.import',
            'spp.payment.batch', [batch], start, 'import_')
        imported, = entries(model='spp.payment.batch',
            action='import_reconciliation')
        self.assertEqual(imported.record_id, batch.id)
        self.assertEqual(imported.count, 2)
        self.assertEqual({k: details(imported)[k] for k in [
                    'filename', 'paid', 'failed', 'refused']},
            {'filename': 'bank.csv', 'paid': 1, 'failed': 1, 'refused': 1})
        self.assertEqual(imported.user.id, Transaction().user)

    @with_transaction()
    def test_payee_change_old_new(self):
        """A blocked payment whose payee got an account is recorded old and
        new when re-checked"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Party = pool.get('party.party')
        cycle = payments.approved_entitlements(2, unpayable=[1])
        batch, = Batch.create_for_cycle(cycle)
        blocked, = payments.payments(cycle, state='blocked')
        group, = Party.search([('name', '=', "H1")])
        payments.payee_data(payments.head(group), 1)
        Batch.recheck([batch])
        written, = entries(model='spp.payment', action='write')
        self.assertEqual(written.record_id, blocked.id)
        changes = json.loads(written.changes)
        self.assertEqual(changes['payee_account'], [None, '639175550001'])
        self.assertEqual(changes['payee_phone'], [None, '+63 917 555 0001'])
        self.assertNotIn('payee', changes, "the same person collects")
        rechecked, = entries(model='spp.payment.batch', action='recheck')
        self.assertEqual(details(rechecked), {'blocked_before': 1,
                'blocked_after': 0, 'issued': 1})

    @with_transaction()
    def test_payment_reads_recorded(self):
        "Reading payments over RPC is an access entry; auditors only read"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        Keyword = pool.get('ir.action.keyword')
        cycle = payments.approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle)
        ids = [p.id for p in payments.payments(cycle)]
        rpc(Payment, 'read', ids, ['payee_name', 'payee_account'])
        entry, = entries(model='spp.payment', action='access')
        self.assertEqual(entry.count, 2)
        self.assertEqual(details(entry),
            {'fields': ['payee_account', 'payee_name']})

        auditor = programs.create_user('auditor', 'spp_audit.group_auditor')
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(len(Payment.search([])), 2)
            self.assertEqual(Batch.search([]), [batch])
            self.assertIn(get_ref('spp_audit', 'act_log_payment_batch'),
                [a['id'] for a in Keyword.get_keyword(
                        'form_relate', ('spp.payment.batch', batch.id))])
            with self.assertRaises(AccessButtonError):
                Batch.approve([batch])
        self.assertEqual(Batch(batch.id).state, 'draft')


del SpineAuditTestCase
