"""Cells of payment files: formulas neutralised in the payment CSV (both
of its writers), and reconciliation lines the tables cannot hold (a NUL
character, a cell over csv's limit) refused as lines."""
import csv
import io
from decimal import Decimal

from trytond import backend
from trytond.modules.spp_payment.export import (
    copy_csv, export_csv, write_csv)
from trytond.modules.spp_payment.reconcile import import_reconciliation
from trytond.modules.spp_payment.tests.test_module import (
    HEADER, approved_entitlements, payments)
from trytond.modules.spp_registry.spreadsheet import (
    MAX_CELL, neutralise)
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


class PaymentFileCellsTestCase(ActivatedModuleTestCase):
    "Test the cells of payment files"

    module = 'spp_payment'

    @with_transaction()
    def test_export_neutralises_formulas(self):
        """Payee names, phones and accounts a spreadsheet would run as a
        formula are quoted; plain numbers and amounts stay numbers"""
        pool = Pool()
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        cycle = approved_entitlements(3)
        batch, = Batch.create_for_cycle(cycle)
        Batch.approve([batch])
        first, second, third = payments(cycle)
        # Names as an integrator could register them (the registry's
        # forbidden characters aside).
        table = Payment.__table__()
        cursor = Transaction().connection.cursor()
        for payment, name, phone, account in [
                (first, '=HYPERLINK("x.test")', '+26878422', '-12.50'),
                (second, '@SUM(A1:A9)', '+cmd|"/c calc"!A0', '\tACC'),
                (third, '-2+3', '-1 (555) 201-0123', '')]:
            cursor.execute(*table.update(
                    [table.payee_name, table.payee_phone,
                        table.payee_account],
                    [name, phone, account], where=table.id == payment.id))
        batch = Batch(batch.id)

        expected = ('reference,payee,phone,account,amount,currency\n'
            f'{first.reference},"\'=HYPERLINK(""x.test"")",+26878422,'
            '-12.50,100.00,TSD\n'
            f'{second.reference},\'@SUM(A1:A9),"\'+cmd|""/c calc""!A0",'
            '\'\tACC,125.50,TSD\n'
            f'{third.reference},\'-2+3,-1 (555) 201-0123,,151.00,TSD\n'
            ).encode('utf-8')
        self.assertEqual(export_csv(batch), expected)
        currency = cycle.program.currency
        self.assertEqual(write_csv(batch, currency), expected)
        if backend.name == 'postgresql':
            self.assertEqual(copy_csv(batch, 2, currency.code), expected)
        amounts = [r['amount'] for r in csv.DictReader(
                io.StringIO(expected.decode()))]
        self.assertEqual(amounts, ['100.00', '125.50', '151.00'])
        # Text fields refuse a carriage return; a cell starting with one
        # would be quoted all the same.
        self.assertEqual(neutralise('\rACC'), "'\rACC")

    @with_transaction()
    def test_reconciliation_refuses_nul_and_long_cells(self):
        """A line with a NUL character or a cell over 131,072 characters is
        refused, naming the column; the other lines are applied"""
        Batch = Pool().get('spp.payment.batch')
        cycle = approved_entitlements(3)
        batch, = Batch.create_for_cycle(cycle)
        Batch.approve([batch])
        Batch.send([batch])
        p0, p1, p2 = payments(cycle)
        long_reference = 'R' * (MAX_CELL + 1)
        data = HEADER + (
            f'{p0.reference},paid,100.00,2026-01-05,PRV\x00-0\n'
            f'{p1.reference}\x00,paid,125.50,2026-01-05,PRV-1\n'
            f'{p2.reference},paid,151.00,2026-01-05,"{long_reference}"\n'
            f'{long_reference},paid,1,2026-01-05,PRV-3\n'
            f'{p2.reference},paid,151.00,2026-01-05,PRV-2\n')

        report = import_reconciliation(data.encode())

        self.assertEqual((report.paid, report.failed), (1, 0))
        reasons = {line: (reference, reason)
            for line, reference, reason in report.errors}
        self.assertEqual(sorted(reasons), [2, 3, 4, 5])
        self.assertEqual(reasons[2], (p0.reference,
                'the provider_reference holds a NUL character (\\x00), '
                'which no field may hold'))
        self.assertEqual(reasons[3][0], p1.reference)
        self.assertIn('the reference holds a NUL', reasons[3][1])
        self.assertEqual(reasons[4][1],
            f'the provider_reference has {MAX_CELL + 1} characters, more '
            f'than the {MAX_CELL} a cell may hold')
        self.assertIn('the reference has', reasons[5][1])
        self.assertLess(len(reasons[5][0]), 100)
        self.assertNotIn('\x00', report.as_text())
        self.assertEqual([p.state for p in payments(cycle)],
            ['sent', 'sent', 'paid'])
        self.assertEqual(payments(cycle)[2].paid_amount, Decimal('151.00'))
