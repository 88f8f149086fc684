import csv
import io
from decimal import Decimal

from lxml import etree

from trytond import backend, config
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.spp_entitlement.tests.tools import (
    cash_program, create_user, household, standard_items, submitted_cycle)
from trytond.modules.spp_programs.copied import CopiedReferenceError
from trytond.modules.spp_programs.tests.tools import (
    foreign_keys, hot_updatable)
from trytond.modules.spp_payment.exceptions import (
    GatewayError, PaymentError, ReconciliationError)
from trytond.modules.spp_payment.export import (
    PAIN_NS, copy_csv, export_csv, export_pain001, write_csv)
from trytond.modules.spp_payment.gateway import HTTPGateway
from trytond.modules.spp_payment.reconcile import import_reconciliation
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .fake_gateway import FakeGateway

HEADER = 'reference,status,paid_amount,date,provider_reference\n'


def approved_entitlements(households=5, unpayable=()):
    """A cycle whose entitlements are approved: households with 0..n-1
    children, base 100 + 25.50 per child (3 at most), whose heads have a
    mobile number and a mobile wallet, except those of `unpayable`."""
    Cycle = Pool().get('spp.cycle')
    for i in range(households):
        group = household(f"H{i}", i)
        if i not in unpayable:
            payee_data(head(group), i)
    program = cash_program(items=standard_items())
    cycle = submitted_cycle(program, Decimal(100000))
    Cycle.approve_entitlements([cycle])
    return Cycle(cycle.id)


def head(group):
    Membership = Pool().get('spp.group.membership')
    membership, = Membership.search([('group', '=', group.id),
            ('roles.code', '=', 'head')])
    return membership.individual


def payee_data(person, i, phone=True, account='mobile_wallet'):
    "Give `person` a mobile number and an account of type `account`."
    pool = Pool()
    if phone:
        pool.get('party.contact_mechanism').create([{'party': person.id,
                    'type': 'mobile', 'value': f'+63917555{i:04d}'}])
    if account:
        pool.get('party.identifier').create([{'party': person.id,
                    'type': account, 'code': f'63917555{i:04d}'}])


def pain001_schema():
    """The ISO 20022 pain.001.001.03 schema, as the sepaxml package ships
    it (found without importing the package)."""
    import importlib.util
    import os
    spec = importlib.util.find_spec('sepaxml')
    path = os.path.join(spec.submodule_search_locations[0], 'schemas',
        'pain.001.001.03.xsd')
    return etree.XMLSchema(etree.parse(path))


def payments(cycle, **domain):
    Payment = Pool().get('spp.payment')
    return Payment.search([('cycle', '=', cycle.id)]
        + [(k, '=', v) for k, v in domain.items()], order=[('id', 'ASC')])


def pain(tag):
    return f'{{{PAIN_NS}}}{tag}'


def run_wizard(name, model, records, data, state, action=None):
    """Run wizard `name` launched on `records` of `model` (by the action
    of XML id `action`) up to `state` with the values `data` of its views;
    return the answer."""
    pool = Pool()
    Wizard = pool.get(name, type='wizard')
    action_id = (pool.get('ir.model.data').get_id('spp_payment', action)
        if action else None)
    with Transaction().set_context(active_model=model, action_id=action_id,
            active_id=records[0].id if records else None,
            active_ids=[r.id for r in records]):
        session_id, _, _ = Wizard.create()
        return Wizard.execute(session_id, data, state)


def gateway_config(url='', auth_header='', timeout='10'):
    "Set (or, with no url, clear) the gateway of the configuration."
    if not config.has_section('spp_payment'):
        config.add_section('spp_payment')
    for option, value in [('gateway_url', url),
            ('gateway_auth_header', auth_header),
            ('gateway_timeout', timeout),
            ('gateway_retries', '0' if url else '3')]:
        config.set('spp_payment', option, value)


class PaymentTestCase(ModuleTestCase):
    "Test Payment module"
    module = 'spp_payment'

    @with_transaction()
    def test_batches_split_and_unique(self):
        "A cycle splits into batches; an entitlement is never issued twice"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        cycle = approved_entitlements(5)
        batches = Batch.create_for_cycle(cycle, size=2)
        self.assertEqual([b.number for b in batches], [1, 2, 3])
        self.assertEqual([Batch(b.id).total_count for b in batches],
            [2, 2, 1])
        self.assertEqual(sum(Batch(b.id).total_amount for b in batches),
            Decimal('100.00') + Decimal('125.50') + Decimal('151.00')
            + Decimal('176.50') * 2)
        self.assertEqual(Batch.create_for_cycle(cycle, size=2), [])
        with self.assertRaisesRegex(PaymentError, 'at least 1'):
            Batch.create_for_cycle(cycle, size=0)
        first = payments(cycle)[0]
        self.assertRegex(first.reference, r'^PAY-\d+-1$')
        # Last: on PostgreSQL the refused INSERT ends the transaction.
        with self.assertRaisesRegex(UserError, 'cannot be paid twice'):
            Payment.create([{'batch': batches[0].id,
                        'entitlement': first.entitlement.id,
                        'cycle': cycle.id, 'registrant': first.registrant.id,
                        'amount': first.amount, 'attempt': 2, 'slot': 1,
                        'reference': 'OTHER'}])

    @with_transaction()
    def test_copied_references(self):
        "A payment's cycle and payee are those of its entitlement"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle)
        first, second = payments(cycle)
        self.assertEqual(
            (first.registrant, first.cycle),
            (first.entitlement.registrant, first.entitlement.cycle))
        with self.assertRaisesRegex(CopiedReferenceError,
                'The Beneficiary must be that of the Entitlement'):
            Payment.write([first], {'registrant': second.registrant.id})

        if backend.name == 'postgresql':
            keys = foreign_keys('spp_payment', 'spp_entitlement')
            # The payee is no copy of the entitlement's: its own key.
            self.assertEqual(keys['spp_payment'],
                {'batch', 'entitlement', 'payee'})
            self.assertFalse(
                {'cycle', 'registrant'} & keys['spp_entitlement'])
            self.assertIn('cycle_membership', keys['spp_entitlement'])
            # Sending and reconciling change the state of every payment
            # of a batch: in place, without new index entries.
            self.assertTrue(hot_updatable('spp_payment', 'state'))

    @with_transaction()
    def test_export_csv_and_pain001(self):
        "An approved batch exports as CSV and as a pain.001 document"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(3)
        batch, = Batch.create_for_cycle(cycle)
        with self.assertRaisesRegex(PaymentError, 'not approved'):
            export_csv(batch)
        with self.assertRaisesRegex(PaymentError, 'not approved'):
            export_pain001(batch, "Ministry", "ACC-1")
        Batch.approve([batch])
        rows = list(csv.DictReader(io.StringIO(
                    export_csv(Batch(batch.id)).decode('utf-8'))))
        self.assertEqual([(r['payee'], r['amount'], r['currency'])
                for r in rows], [
                ("H0 Head", '100.00', 'TSD'),
                ("H1 Head", '125.50', 'TSD'),
                ("H2 Head", '151.00', 'TSD')])
        self.assertEqual({r['reference'] for r in rows},
            {p.reference for p in payments(cycle)})

        document = etree.fromstring(
            export_pain001(Batch(batch.id), "Ministry", "ACC-1"))
        self.assertEqual(document.tag, pain('Document'))
        initiation = document.find(pain('CstmrCdtTrfInitn'))
        header = initiation.find(pain('GrpHdr'))
        for tag in ['MsgId', 'CreDtTm', 'NbOfTxs', 'CtrlSum', 'InitgPty']:
            self.assertIsNotNone(header.find(pain(tag)), tag)
        self.assertEqual(header.findtext(pain('NbOfTxs')), '3')
        self.assertEqual(header.findtext(pain('CtrlSum')), '376.50')
        info = initiation.find(pain('PmtInf'))
        for tag in ['PmtInfId', 'PmtMtd', 'ReqdExctnDt', 'Dbtr', 'DbtrAcct',
                'DbtrAgt', 'CdtTrfTxInf']:
            self.assertIsNotNone(info.find(pain(tag)), tag)
        self.assertEqual(info.findtext(pain('PmtMtd')), 'TRF')
        transactions = info.findall(pain('CdtTrfTxInf'))
        self.assertEqual(len(transactions), 3)
        amounts = [t.find(pain('Amt')).find(pain('InstdAmt'))
            for t in transactions]
        self.assertEqual([a.get('Ccy') for a in amounts], ['TSD'] * 3)
        self.assertEqual(sum(Decimal(a.text) for a in amounts),
            Decimal('376.50'))
        self.assertEqual(
            [t.find(pain('PmtId')).findtext(pain('EndToEndId'))
                for t in transactions],
            [r['reference'] for r in rows])

    @with_transaction()
    def test_export_csv_quoting_and_rounding(self):
        "CSV values are quoted where needed and amounts rounded half-even"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        cycle = approved_entitlements(3)
        batch, = Batch.create_for_cycle(cycle)
        Batch.approve([batch])
        first, second, third = payments(cycle)
        # Amounts with a half at the third place (payments are read-only
        # in the client; the file must round whatever the table holds).
        table = Payment.__table__()
        cursor = Transaction().connection.cursor()
        for payment, amount in [(first, '100.125'), (second, '100.135'),
                (third, '7')]:
            cursor.execute(*table.update(
                    [table.payee_name, table.amount, table.payee_phone,
                        table.payee_account],
                    ['Dlamini, "Thandi"' if payment == first
                        else payment.payee_name, Decimal(amount),
                        '+26878422' if payment == third else None,
                        'ACC 1, main' if payment == second else ''],
                    where=table.id == payment.id))
        batch = Batch(batch.id)
        expected = ('reference,payee,phone,account,amount,currency\n'
            f'{first.reference},"Dlamini, ""Thandi""",,,100.12,TSD\n'
            f'{second.reference},{second.payee_name},,"ACC 1, main",'
            '100.14,TSD\n'
            f'{third.reference},{third.payee_name},+26878422,,7.00,TSD\n'
            ).encode('utf-8')
        self.assertEqual(export_csv(batch), expected)
        currency = cycle.program.currency
        self.assertEqual(write_csv(batch, currency), expected)
        if backend.name == 'postgresql':
            self.assertEqual(copy_csv(batch, 2, currency.code), expected)

    @with_transaction()
    def test_reconciliation(self):
        """Reconciliation applies good lines, reports unknown references,
        amount mismatches and repeated lines, and is idempotent; a failed
        payment is re-issued in a new batch, never duplicated"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Entitlement = pool.get('spp.entitlement')
        cycle = approved_entitlements(5)
        batch, = Batch.create_for_cycle(cycle)
        Batch.approve([batch])
        Batch.send([batch])
        p0, p1, p2, p3, p4 = payments(cycle)
        self.assertEqual({p.state for p in payments(cycle)}, {'sent'})
        data = HEADER + (
            f'{p0.reference},paid,100.00,2026-01-05,PRV-0\n'
            f'{p1.reference},failed,,2026-01-05,PRV-1\n'
            f'{p2.reference},paid,150.00,2026-01-05,PRV-2\n'
            f'{p3.reference},paid,176.50,2026-01-05,PRV-3\n'
            f'{p3.reference},paid,176.50,2026-01-05,PRV-3\n'
            'PAY-999999-1,paid,10.00,2026-01-05,PRV-X\n'
            f'{p4.reference},paid,-3,2026-01-05,PRV-4\n'
            f'{p4.reference[:-1]}9,done,1,2026-01-05,PRV-4\n'
            f'{p4.reference},paid,176.50,05/01/2026,PRV-4\n')
        report = import_reconciliation(data.encode())
        self.assertEqual((report.paid, report.failed, report.unchanged),
            (1, 1, 0))
        reasons = {line: reason for line, _, reason in report.errors}
        self.assertEqual(sorted(reasons), [4, 5, 6, 7, 8, 9, 10])
        self.assertRegex(reasons[4], 'differs from the payment amount')
        self.assertRegex(reasons[5], 'repeated 2 times')
        self.assertRegex(reasons[6], 'repeated 2 times')
        self.assertRegex(reasons[7], 'unknown reference')
        self.assertRegex(reasons[8], 'negative')
        self.assertRegex(reasons[9], 'not paid or failed')
        self.assertRegex(reasons[10], 'YYYY-MM-DD')
        self.assertIn('1 paid, 1 failed', report.as_text())
        states = [p.state for p in payments(cycle)]
        self.assertEqual(states, ['paid', 'failed', 'sent', 'sent', 'sent'])
        self.assertEqual(payments(cycle)[0].paid_amount, Decimal('100.00'))
        self.assertEqual(p0.entitlement.state, 'distributed')
        self.assertEqual(Entitlement(p1.entitlement.id).state, 'approved')

        again = import_reconciliation(data.encode())
        self.assertEqual((again.paid, again.failed, again.unchanged),
            (0, 0, 2))
        self.assertEqual([p.state for p in payments(cycle)], states)
        conflict = import_reconciliation(
            (HEADER + f'{p0.reference},failed,,2026-01-06,X\n').encode())
        self.assertRegex(conflict.errors[0][2], 'already paid')

        # The failed payment is re-issued once, in a new batch.
        reissued, = Batch.create_for_cycle(cycle)
        self.assertEqual(reissued.number, 2)
        retry, = payments(cycle, batch=reissued.id)
        self.assertEqual(retry.entitlement, p1.entitlement)
        self.assertEqual(retry.attempt, 2)
        self.assertNotEqual(retry.reference, p1.reference)
        self.assertEqual(Batch.create_for_cycle(cycle), [])
        with self.assertRaisesRegex(PaymentError, 'still has 3 payments'):
            Batch.close([Batch(batch.id)])
        Cycle = pool.get('spp.cycle')
        with self.assertRaisesRegex(PaymentError,
                '4 payments wait for an outcome'):
            Cycle.distribute([cycle])

    @with_transaction()
    def test_reconciliation_every_class_of_line(self):
        """One file with a line of each class: applied (paid, failed),
        already applied, unknown, amount mismatch, repeated, conflict,
        other batch, draft batch; a check run changes nothing"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(5)
        first, second, third = Batch.create_for_cycle(cycle, size=2)
        Batch.approve([first, second])
        Batch.send([first, second])
        p0, p1, p2, p3, p4 = payments(cycle)
        import_reconciliation((HEADER
                + f'{p2.reference},failed,,2026-01-04,PRV-2\n').encode())
        self.assertEqual(payments(cycle)[2].state, 'failed')
        data = (HEADER
            # 125.5 is the amount 125.50 written otherwise: it matches.
            + f'{p1.reference},paid,125.5,2026-01-05,PRV-1\n'
            + f'{p0.reference},failed,,2026-01-05,PRV-0\n'
            + f'{p2.reference},failed,,2026-01-04,PRV-2\n'
            + 'PAY-0-1,paid,1.00,2026-01-05,PRV-X\n'
            + f'{p3.reference},paid,176.49,2026-01-05,PRV-3\n'
            + f'{p4.reference},paid,176.50,2026-01-05,PRV-4\n'
            + f'{p4.reference},failed,,2026-01-05,PRV-4\n').encode()
        expected_errors = [
            (5, 'PAY-0-1', 'unknown reference'),
            # SQLite says 176.5: it keeps numbers as floats.
            (6, p3.reference, 'paid amount 176.49 differs from the payment '
                'amount 176.5'),
            (7, p4.reference, 'reference repeated 2 times in the file'),
            (8, p4.reference, 'reference repeated 2 times in the file'),
            ]

        def errors(report):
            return [(n, r, reason.removesuffix('0') if n == 6 else reason)
                for n, r, reason in report.errors]
        check = import_reconciliation(data, dry_run=True)
        self.assertEqual((check.paid, check.failed, check.unchanged),
            (1, 1, 1))
        self.assertEqual(errors(check), expected_errors)
        self.assertEqual([p.state for p in payments(cycle)],
            ['sent', 'sent', 'failed', 'sent', 'issued'])
        report = import_reconciliation(data)
        self.assertEqual((report.paid, report.failed, report.unchanged),
            (1, 1, 1))
        self.assertEqual(errors(report), expected_errors)
        self.assertEqual([p.state for p in payments(cycle)],
            ['failed', 'paid', 'failed', 'sent', 'issued'])
        self.assertEqual(payments(cycle)[1].paid_amount, Decimal('125.5'))
        self.assertIsNone(payments(cycle)[0].slot)

        again = (HEADER
            + f'{p1.reference},paid,125.50,2026-01-05,PRV-1\n'
            + f'{p0.reference},failed,,2026-01-05,PRV-0\n'
            + f'{p1.reference[:-1]}x,paid,1,2026-01-05,PRV-X\n'
            + f'{p0.reference},paid,100.00,2026-01-05,PRV-0\n'
            + f'{p3.reference},paid,176.50,2026-01-05,PRV-3\n'
            + f'{p4.reference},paid,176.50,2026-01-05,PRV-4\n').encode()
        report = import_reconciliation(again, batches=[first])
        self.assertEqual((report.paid, report.failed, report.unchanged),
            (0, 0, 1))
        self.assertEqual(report.errors, [
                (3, p0.reference, 'reference repeated 2 times in the file'),
                (4, f'{p1.reference[:-1]}x', 'unknown reference'),
                (5, p0.reference, 'reference repeated 2 times in the file'),
                (6, p3.reference, 'the payment belongs to another batch'),
                (7, p4.reference, 'the payment belongs to another batch'),
                ])
        report = import_reconciliation((HEADER
                + f'{p1.reference},failed,,2026-01-06,PRV-1\n'
                + f'{p4.reference},paid,176.50,2026-01-05,PRV-4\n').encode())
        self.assertEqual(report.errors, [
                (2, p1.reference, 'the payment is already paid'),
                (3, p4.reference, 'the batch of the payment is not approved'),
                ])
        self.assertEqual([p.state for p in payments(cycle)],
            ['failed', 'paid', 'failed', 'sent', 'issued'])
        self.assertEqual(third.state, 'draft')

    @with_transaction()
    def test_reconciliation_bad_files(self):
        "Wrong columns or encoding: the whole file is refused"
        approved_entitlements(1)
        with self.assertRaisesRegex(ReconciliationError,
                'must have the columns reference,status.*found ref,state'):
            import_reconciliation(b'ref,state\nA,paid\n')
        with self.assertRaisesRegex(ReconciliationError, 'not UTF-8'):
            import_reconciliation(
                (HEADER + 'PAY-1-1,paid,1,2026-01-01,Caf\xe9\n').encode(
                    'latin-1'))
        with self.assertRaisesRegex(ReconciliationError,
                r'found \(an empty file\)'):
            import_reconciliation(b'')

    @with_transaction()
    def test_payment_officer_only(self):
        "Only a Payment Officer approves and sends batches"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(1)
        batch, = Batch.create_for_cycle(cycle)
        validator = create_user('validator',
            'spp_entitlement.group_finance_validator')
        transaction = Transaction()
        with transaction.set_user(validator.id), transaction.set_context(
                _check_access=True):
            with self.assertRaises(AccessButtonError):
                Batch.approve([Batch(batch.id)])

    @with_transaction()
    def test_cancel_paid_entitlement_refused(self):
        "An entitlement with a live payment cannot be cancelled"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Entitlement = pool.get('spp.entitlement')
        cycle = approved_entitlements(1)
        Batch.create_for_cycle(cycle)
        with self.assertRaisesRegex(PaymentError, 'cannot be cancelled'):
            Entitlement.cancel(Entitlement.search([]))

    @with_transaction()
    def test_gateway_success_and_duplicate(self):
        "Full cycle through the gateway; a re-send is answered duplicate"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(4)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('success') as server:
            gateway = HTTPGateway(server.url, 'Bearer secret',
                timeout=(1, 2), retries=2, backoff=0.01)
            report = gateway.send_batch(Batch(batch.id))
            self.assertEqual((report.paid, report.errors), (4, []))
            self.assertEqual({p.state for p in payments(cycle)}, {'paid'})
            self.assertEqual(Batch(batch.id).state, 'sent')
            self.assertEqual(len(server.paid), 4)
            # The callback arrives (twice): nothing changes.
            callback = {'results': [{'reference': p.reference,
                        'status': 'paid', 'amount': str(p.amount)}
                    for p in payments(cycle)]}
            for _ in range(2):
                self.assertEqual(gateway.handle_callback(callback).unchanged,
                    4)
            Batch.close([Batch(batch.id)])
            Cycle = Pool().get('spp.cycle')
            Cycle.distribute([cycle])
            self.assertEqual(Cycle(cycle.id).state, 'distributed')
            self.assertEqual(Batch(batch.id).paid_amount,
                Decimal('100.00') + Decimal('125.50') + Decimal('151.00')
                + Decimal('176.50'))
            self.assertEqual(
                {e.state for e in Pool().get('spp.entitlement').search([])},
                {'distributed'})
            balance = Pool().get('spp.program.fund').balance(
                cycle.program)
            self.assertEqual(balance[1], balance[2])
        self.assertEqual(Batch.create_for_cycle(cycle), [])

    @with_transaction()
    def test_gateway_partial_failure(self):
        "Failed payments are recorded and re-issued once"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(4)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('partial') as server:
            gateway = HTTPGateway(server.url, 'Bearer secret',
                timeout=(1, 2), retries=0)
            report = gateway.send_batch(Batch(batch.id))
        self.assertEqual((report.paid, report.failed), (2, 2))
        states = [p.state for p in payments(cycle)]
        self.assertEqual(sorted(states), ['failed', 'failed', 'paid', 'paid'])
        retry, = Batch.create_for_cycle(cycle)
        self.assertEqual(len(payments(cycle, batch=retry.id)), 2)

    @with_transaction()
    def test_gateway_timeout_then_retry(self):
        """A gateway that times out: retried with the same key, then an
        error; the payments stay issued and a later send pays them once"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('success', slow=3, delay=0.6) as server:
            gateway = HTTPGateway(server.url, 'Bearer secret',
                timeout=(1, 0.3), retries=2, backoff=0.01)
            with self.assertRaisesRegex(GatewayError, 'after 3 attempts'):
                gateway.send_batch(Batch(batch.id))
            self.assertEqual({p.state for p in payments(cycle)}, {'issued'})
            keys = {key for _, key, _ in server.requests}
            self.assertEqual(len(server.requests), 3)
            self.assertEqual(len(keys), 1)
            report = gateway.send_batch(Batch(batch.id))
            self.assertEqual(report.paid, 2)
            self.assertEqual({key for _, key, _ in server.requests}, keys)
        self.assertEqual({p.state for p in payments(cycle)}, {'paid'})

    @with_transaction()
    def test_gateway_duplicate_answer(self):
        "An answer given twice (or a repeated send) pays once"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('duplicate') as server:
            gateway = HTTPGateway(server.url, 'Bearer secret')
            report = gateway.send_batch(Batch(batch.id))
            self.assertEqual((report.paid, report.errors), (2, []))
            # Sending again: nothing issued is left, nothing is sent.
            report = gateway.send_batch(Batch(batch.id))
            self.assertEqual(report.paid, 0)
        self.assertEqual({p.state for p in payments(cycle)}, {'paid'})
        self.assertEqual(len(server.paid), 2)

    @with_transaction()
    def test_gateway_server_errors_retried(self):
        """HTTP 5xx answers are retried with the same idempotency key; the
        payments are paid once"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('success', errors=2) as server:
            gateway = HTTPGateway(server.url, 'Bearer secret', retries=2,
                backoff=0.01)
            report = gateway.send_batch(Batch(batch.id))
        self.assertEqual(report.paid, 2)
        self.assertEqual(len(server.requests), 3)
        self.assertEqual(len({key for _, key, _ in server.requests}), 1)
        self.assertEqual({p.state for p in payments(cycle)}, {'paid'})

    @with_transaction()
    def test_reconciliation_bad_values(self):
        "Non-numeric amounts and unknown statuses are refused per line"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle)
        Batch.approve([batch])
        p0, p1 = payments(cycle)
        report = import_reconciliation((HEADER
                + f'{p0.reference},paid,abc,2026-01-05,X\n'
                + f'{p1.reference},paid,125.50,2026-01-05\n').encode())
        self.assertEqual([(n, reason) for n, _, reason in report.errors], [
                (2, 'amount "abc" is not a number'),
                (3, '4 fields instead of 5')])
        self.assertEqual({p.state for p in payments(cycle)}, {'issued'})

    @with_transaction()
    def test_gateway_refuses_bad_auth(self):
        "A wrong token is a clear error, not a retry"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(1)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        with FakeGateway('success') as server:
            gateway = HTTPGateway(server.url, 'Bearer wrong')
            with self.assertRaisesRegex(GatewayError, 'HTTP 401'):
                gateway.send_batch(Batch(batch.id))
            self.assertEqual(len(server.requests), 1)

    @with_transaction()
    def test_create_batches_wizard(self):
        "The wizard issues a cycle's payments into batches and opens them"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(3)
        answer = run_wizard('spp.payment.batch.create', 'spp.cycle',
            [cycle], {}, 'start')
        self.assertEqual(answer['view']['defaults']['cycle'], cycle.id)
        answer = run_wizard('spp.payment.batch.create', 'spp.cycle',
            [cycle], {'start': {'cycle': cycle.id, 'provider': 'file',
                    'size': 2}}, 'issue')
        (action, _), = answer['actions']
        batches = Batch.search([('cycle', '=', cycle.id)])
        self.assertEqual(len(batches), 2)
        self.assertIn(str(sorted(b.id for b in batches)[0]),
            action['pyson_domain'])
        self.assertEqual(sum(b.total_count for b in batches), 3)
        with self.assertRaisesRegex(PaymentError, 'no batch was created'):
            run_wizard('spp.payment.batch.create', 'spp.cycle', [cycle],
                {'start': {'cycle': cycle.id, 'provider': 'file',
                        'size': 2}}, 'issue')

    @with_transaction()
    def test_export_wizard(self):
        """The export wizard gives the batch's payment file to download,
        CSV or pain.001; an unapproved batch is refused"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(3)
        batch, = Batch.create_for_cycle(cycle)
        with self.assertRaisesRegex(PaymentError, 'not approved'):
            run_wizard('spp.payment.batch.export', 'spp.payment.batch',
                [batch], {}, 'start')
        Batch.approve([batch])
        answer = run_wizard('spp.payment.batch.export', 'spp.payment.batch',
            [batch], {}, 'start')
        self.assertEqual(answer['view']['defaults']['format'], 'csv')
        answer = run_wizard('spp.payment.batch.export', 'spp.payment.batch',
            [batch], {'start': {'format': 'csv'}}, 'result')
        result = answer['view']['defaults']
        self.assertRegex(result['filename'], r'^payments-CASH-1-1\.csv$')
        self.assertEqual((result['count'], result['amount']),
            (3, Decimal('376.50')))
        rows = list(csv.DictReader(io.StringIO(
                    bytes(result['file']).decode('utf-8'))))
        self.assertEqual([(r['payee'], r['amount']) for r in rows],
            [("H0 Head", '100.00'), ("H1 Head", '125.50'),
                ("H2 Head", '151.00')])

        answer = run_wizard('spp.payment.batch.export', 'spp.payment.batch',
            [batch], {'start': {'format': 'pain001', 'debtor_name': "Fund",
                    'debtor_account': 'ACC-9'}}, 'result')
        result = answer['view']['defaults']
        self.assertTrue(result['filename'].endswith('.xml'))
        document = etree.fromstring(bytes(result['file']))
        header = document.find(pain('CstmrCdtTrfInitn')).find(pain('GrpHdr'))
        self.assertEqual(header.findtext(pain('CtrlSum')), '376.50')

    @with_transaction()
    def test_wizards_payment_officer_only(self):
        "Only Payment Officers run the payment wizards and their buttons"
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        cycle = approved_entitlements(1)
        batch, = Batch.create_for_cycle(cycle)
        validator = create_user('validator2',
            'spp_entitlement.group_finance_validator')
        officer = create_user('officer2', 'spp_payment.group_payment_officer')
        transaction = Transaction()
        for name in ['spp.payment.batch.export',
                'spp.payment.reconciliation.import']:
            Wizard = pool.get(name, type='wizard')
            with transaction.set_context(active_model='spp.payment.batch',
                    active_id=batch.id, active_ids=[batch.id]):
                with transaction.set_user(validator.id), \
                        transaction.set_context(_check_access=True):
                    with self.assertRaises(AccessError):
                        Wizard.check_access()
                with transaction.set_user(officer.id), \
                        transaction.set_context(_check_access=True):
                    Wizard.check_access()
        with transaction.set_user(validator.id), transaction.set_context(
                _check_access=True):
            for button in ['export_file', 'import_reconciliation']:
                with self.assertRaises(AccessButtonError):
                    getattr(Batch, button)([Batch(batch.id)])

    @with_transaction()
    def test_import_wizard(self):
        """The import wizard checks the file first (nothing changes),
        reports refused lines, then applies the good ones; launched from a
        batch it refuses another batch's payments"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(3)
        first, second = Batch.create_for_cycle(cycle, size=2)
        Batch.approve([first, second])
        Batch.send([first, second])
        p0, p1, p2 = payments(cycle)
        data = (HEADER
            + f'{p0.reference},paid,100.00,2026-01-05,PRV-0\n'
            + f'{p1.reference},paid,125.00,2026-01-05,PRV-1\n'
            + f'{p2.reference},paid,151.00,2026-01-05,PRV-2\n'
            + 'PAY-999999-1,paid,10.00,2026-01-05,PRV-X\n'
            + f'{p0.reference},paid,100.00,2026-01-05,PRV-0\n').encode()
        start = {'start': {'file': data, 'filename': 'bank.csv'}}
        answer = run_wizard('spp.payment.reconciliation.import',
            'spp.payment.batch', [first], start, 'check')
        preview = answer['view']['defaults']
        self.assertEqual((preview['paid'], preview['refused']), (0, 5))
        self.assertRegex(preview['errors'], 'line 3: .*differs')
        self.assertRegex(preview['errors'], 'line 4: .*another batch')
        self.assertRegex(preview['errors'], 'line 5: .*unknown reference')
        self.assertRegex(preview['errors'], 'line 6: .*repeated 2 times')
        self.assertIn('0 paid', preview['summary'])

        good = (HEADER
            + f'{p0.reference},paid,100.00,2026-01-05,PRV-0\n'
            + f'{p1.reference},failed,,2026-01-05,PRV-1\n'
            + 'PAY-999999-1,paid,10.00,2026-01-05,PRV-X\n').encode()
        start = {'start': {'file': good, 'filename': 'bank.csv'}}
        answer = run_wizard('spp.payment.reconciliation.import',
            'spp.payment.batch', [first], start, 'check')
        preview = answer['view']['defaults']
        self.assertEqual((preview['paid'], preview['failed'],
                preview['refused']), (1, 1, 1))
        self.assertEqual({p.state for p in payments(cycle)}, {'sent'})
        answer = run_wizard('spp.payment.reconciliation.import',
            'spp.payment.batch', [first], start, 'import_')
        result = answer['view']['defaults']
        self.assertEqual((result['paid'], result['failed'],
                result['refused']), (1, 1, 1))
        self.assertEqual([p.state for p in payments(cycle)],
            ['paid', 'failed', 'sent'])
        # From the menu (no batch), again: nothing changes twice.
        answer = run_wizard('spp.payment.reconciliation.import',
            'ir.ui.menu', [], start, 'import_',
            action='wizard_import_reconciliation_menu')
        self.assertEqual(answer['view']['defaults']['unchanged'], 2)
        self.assertEqual([p.state for p in payments(cycle)],
            ['paid', 'failed', 'sent'])

        for data, message in [
                (b'reference;status\nX;paid\n', 'must have the columns'),
                ((HEADER + f'{p2.reference},paid,151.00,2026-01-05,'
                        'Re\xe7u\n').encode('cp1252'), 'not UTF-8')]:
            with self.assertRaisesRegex(ReconciliationError, message):
                run_wizard('spp.payment.reconciliation.import',
                    'spp.payment.batch', [second],
                    {'start': {'file': data}}, 'check')
        self.assertEqual(payments(cycle)[2].state, 'sent')

    @with_transaction()
    def test_reconcile_draft_batch_refused(self):
        "A payment of a batch never approved cannot be reconciled"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(1)
        Batch.create_for_cycle(cycle)
        p0, = payments(cycle)
        report = import_reconciliation((HEADER
                + f'{p0.reference},paid,100.00,2026-01-05,X\n').encode())
        self.assertRegex(report.errors[0][2], 'not approved')
        self.assertEqual(payments(cycle)[0].state, 'issued')

    @with_transaction()
    def test_send_button_through_configured_gateway(self):
        """The Send button of a gateway batch calls the configured
        gateway; without a configuration it is a clear error; Update
        Status settles accepted payments"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        self.addCleanup(gateway_config)
        gateway_config()
        with self.assertRaisesRegex(GatewayError, 'No payment gateway'):
            Batch.send([Batch(batch.id)])
        with FakeGateway('accept') as server:
            gateway_config(server.url, 'Bearer secret')
            Batch.send([Batch(batch.id)])
            self.assertEqual(Batch(batch.id).state, 'sent')
            self.assertEqual({p.state for p in payments(cycle)}, {'sent'})
            self.assertEqual(server.paid, {})
            Batch.update_status([Batch(batch.id)])
            self.assertEqual({p.state for p in payments(cycle)}, {'paid'})
            Batch.update_status([Batch(batch.id)])
            self.assertEqual([path for path, _, _ in server.requests],
                ['/payments', '/status'])
        self.assertEqual(Batch(batch.id).paid_count, 2)

    @with_transaction()
    def test_send_button_gateway_timeout_changes_nothing(self):
        "A gateway that times out: the Send button fails, nothing changes"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(1)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        Batch.approve([batch])
        self.addCleanup(gateway_config)
        with FakeGateway('success', slow=1, delay=1.5) as server:
            gateway_config(server.url, 'Bearer secret', timeout='0.5')
            with self.assertRaisesRegex(GatewayError, 'did not answer'):
                Batch.send([Batch(batch.id)])
        self.assertEqual(Batch(batch.id).state, 'approved')
        self.assertEqual({p.state for p in payments(cycle)}, {'issued'})

    @with_transaction()
    def test_payee_is_who_collects(self):
        """The payee is the household's head, or its payment recipient,
        with their name, mobile number and account (bank account first)"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Membership = pool.get('spp.group.membership')
        Role = pool.get('spp.group.membership.role')
        Contact = pool.get('party.contact_mechanism')
        groups = [household(f"H{i}", 1) for i in range(2)]
        head0, head1 = head(groups[0]), head(groups[1])
        Contact.create([{'party': head0.id, 'type': 'phone',
                    'value': '+63 2 8555 0000'}])
        payee_data(head0, 0)
        payee_data(head0, 1, phone=False, account=None)
        pool.get('party.identifier').create([{'party': head0.id,
                    'type': 'bank_account', 'code': 'BANK0001'}])
        payee_data(head1, 2)
        child, = Membership.search([('group', '=', groups[1].id),
                ('roles.code', '=', 'child')])
        recipient, = Role.search([('code', '=', 'recipient')])
        Membership.write([child], {'roles': [('add', [recipient.id])]})
        payee_data(child.individual, 3)
        program = cash_program(items=standard_items())
        cycle = submitted_cycle(program, Decimal(100000))
        pool.get('spp.cycle').approve_entitlements([cycle])
        batch, = Batch.create_for_cycle(cycle)
        first, second = payments(cycle)
        self.assertEqual((first.registrant, first.payee, first.payee_name),
            (groups[0], head0, "H0 Head"))
        mobile, = Contact.search([('party', '=', head0.id),
                ('type', '=', 'mobile')])
        # The mobile number, not the landline; the bank account, not the
        # wallet.
        self.assertEqual((first.payee_phone, first.payee_account),
            (mobile.value, 'BANK0001'))
        self.assertEqual((second.payee, second.payee_account),
            (child.individual, '639175550003'))
        self.assertEqual({p.state for p in payments(cycle)}, {'issued'})
        # Plain text in the search box finds the beneficiary and payee.
        Payment = pool.get('spp.payment')
        self.assertEqual(Payment.search([('rec_name', 'ilike', '%H0%')]),
            [first])
        self.assertEqual(Payment.search(
                [('rec_name', 'ilike', '%H1 Child%')]), [second])
        self.assertEqual(Payment.search(
                [('rec_name', '=', second.reference)]), [second])
        # Amounts show with the currency's digits.
        self.assertEqual(first.currency.digits, 2)
        for Model, names in [(Payment, ['amount', 'paid_amount']),
                (Batch, ['total_amount', 'paid_amount', 'failed_amount'])]:
            for name, definition in Model.fields_get(names).items():
                # The field giving the digits: the currency's.
                self.assertEqual(definition['digits'], '"currency"', name)

    @with_transaction()
    def test_blocked_payments_never_exported(self):
        """Payments whose payee has no account (or no phone, for the
        gateway) are blocked with the reason; the batch cannot be exported
        or sent, nothing changes; completed and re-checked, they are paid
        and the pain.001 validates, with no reference as an account"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Membership = pool.get('spp.group.membership')
        cycle = approved_entitlements(3, unpayable={1, 2})
        heads = {p.registrant.name: head(p.registrant)
            for p in pool.get('spp.entitlement').search([])}
        payee_data(heads["H2"], 2, account=None)
        batch, = Batch.create_for_cycle(cycle)
        p0, p1, p2 = payments(cycle)
        self.assertEqual([(p.state, p.blocked_reason) for p in (p0, p1, p2)],
            [('issued', None), ('blocked', 'no_account'),
                ('blocked', 'no_account')])
        self.assertEqual(Batch(batch.id).blocked_count, 2)
        Batch.approve([batch])
        for export in [lambda b: export_csv(b),
                lambda b: export_pain001(b, "Ministry", "ACC-1"),
                lambda b: Batch.send([b]),
                lambda b: run_wizard('spp.payment.batch.export',
                    'spp.payment.batch', [b], {}, 'start')]:
            with self.assertRaisesRegex(PaymentError,
                    r'has 2 blocked payments \(No account or wallet number: '
                    r'2\).*Re-check'):
                export(Batch(batch.id))
        self.assertEqual(Batch(batch.id).state, 'approved')
        self.assertEqual([p.state for p in payments(cycle)],
            ['issued', 'blocked', 'blocked'])
        self.assertIsNone(Batch(batch.id).sent_at)
        # A reconciliation line of a blocked payment changes nothing.
        report = import_reconciliation((HEADER
                + f'{p1.reference},paid,125.50,2026-01-05,X\n').encode())
        self.assertRegex(report.errors[0][2], 'blocked')

        # Re-check reads the data again: only completed payees unblock.
        payee_data(heads["H1"], 1)
        Batch.recheck([Batch(batch.id)])
        self.assertEqual([p.state for p in payments(cycle)],
            ['issued', 'issued', 'blocked'])
        Membership.write(Membership.search([
                    ('group', '=', p2.registrant.id),
                    ('roles.code', '=', 'head')]), {'roles': [
                    ('remove', [r.id for r in Membership.search([
                                    ('group', '=', p2.registrant.id),
                                    ('roles.code', '=', 'head')])[0].roles])
                    ]})
        pool.get('party.identifier').create([{'party': p2.registrant.id,
                    'type': 'bank_account', 'code': 'GROUP0002'}])
        Batch.recheck([Batch(batch.id)])
        p2 = payments(cycle)[2]
        # A household without a head is paid to its own account.
        self.assertEqual((p2.state, p2.payee, p2.payee_account),
            ('issued', p2.registrant, 'GROUP0002'))
        data = export_pain001(Batch(batch.id), "Ministry", "ACC-1")
        pain001_schema().assertValid(etree.fromstring(data))
        document = etree.fromstring(data)
        accounts = [e.text for e in document.iter(pain('CdtrAcct'))
            for e in e.iter(pain('Id')) if e.text and e.text.strip()]
        self.assertEqual(accounts, ['639175550000', '639175550001',
                'GROUP0002'])
        self.assertFalse({p.reference for p in payments(cycle)}
            & set(accounts))

    @with_transaction()
    def test_gateway_needs_phone(self):
        "A gateway batch blocks the payments whose payee has no phone"
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(2, unpayable={1})
        Entitlement = Pool().get('spp.entitlement')
        group = Entitlement.search([('registrant.name', '=', 'H1')])[0]
        payee_data(head(group.registrant), 1, phone=False)
        batch, = Batch.create_for_cycle(cycle, provider='http')
        self.assertEqual([(p.state, p.blocked_reason)
                for p in payments(cycle)],
            [('issued', None), ('blocked', 'no_phone')])
        Batch.approve([batch])
        with FakeGateway('success') as server:
            gateway = HTTPGateway(server.url, 'Bearer secret')
            with self.assertRaisesRegex(PaymentError,
                    r'1 blocked payments \(No phone number: 1\)'):
                gateway.send_batch(Batch(batch.id))
            self.assertEqual(server.requests, [])
        self.assertEqual(Batch(batch.id).state, 'approved')


del ModuleTestCase
