"""Wizards of the Payment Officer: issue a cycle's payments into batches,
download a batch's payment file, upload a reconciliation file."""
import re

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, PYSONEncoder
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .exceptions import PaymentError
from .export import export_csv, export_pain001
from .payment import default_batch_size
from .reconcile import import_reconciliation

FORMATS = [
    ('csv', "CSV"),
    ('pain001', "ISO 20022 pain.001 (XML)"),
    ]


class CreateBatchesStart(ModelView):
    "Create Payment Batches"
    __string__ = "Create Payment Batches"
    __name__ = 'spp.payment.batch.create.start'
    cycle = fields.Many2One('spp.cycle', "Cycle", required=True,
        domain=[('state', 'in', ['approved', 'distributed'])])
    provider = fields.Selection('get_providers', "Provider", required=True)
    size = fields.Integer("Batch Size", required=True,
        domain=[('size', '>=', 1)],
        help="The maximum number of payments in a batch.")

    @classmethod
    def get_providers(cls):
        return Pool().get('spp.payment.batch').get_providers()

    @classmethod
    def default_provider(cls):
        return 'file'

    @classmethod
    def default_size(cls):
        return default_batch_size()


class CreateBatches(Wizard):
    """Issue a payment for every approved cash entitlement of a cycle that
    has none, in new draft batches, and open them."""
    __name__ = 'spp.payment.batch.create'
    start = StateView('spp.payment.batch.create.start',
        'spp_payment.batch_create_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'issue', 'tryton-ok', default=True),
            ])
    issue = StateAction('spp_payment.act_batch_form')

    def default_start(self, fields):
        if self.model and self.model.__name__ == 'spp.cycle' and self.record:
            return {'cycle': self.record.id}
        return {}

    def do_issue(self, action):
        Batch = Pool().get('spp.payment.batch')
        cycle = self.start.cycle
        batches = Batch.create_for_cycle(cycle, provider=self.start.provider,
            size=self.start.size)
        if not batches:
            raise PaymentError(gettext('spp_payment.msg_cycle_nothing_to_pay',
                    cycle=cycle.rec_name))
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [b.id for b in batches])])
        action['name'] += f' - {cycle.rec_name}'
        return action, {}


class ExportStart(ModelView):
    "Export Payment File"
    __string__ = "Export Payment File"
    __name__ = 'spp.payment.batch.export.start'
    format = fields.Selection(FORMATS, "Format", required=True)
    debtor_name = fields.Char("Debtor Name",
        states={
            'invisible': Eval('format') != 'pain001',
            'required': Eval('format') == 'pain001',
            },
        help="The paying organisation, as the bank knows it.")
    debtor_account = fields.Char("Debtor Account",
        states={
            'invisible': Eval('format') != 'pain001',
            'required': Eval('format') == 'pain001',
            },
        help="The account the payments are drawn from.")

    @classmethod
    def default_format(cls):
        return 'csv'

    @classmethod
    def default_debtor_account(cls):
        return config.get('spp_payment', 'debtor_account')


class ExportResult(ModelView):
    "Export Payment File"
    __string__ = "Export Payment File"
    __name__ = 'spp.payment.batch.export.result'
    file = fields.Binary("File", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Payments", readonly=True)
    amount = fields.Numeric("Total", digits='currency', readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)


class ExportPaymentFile(Wizard):
    """Build the payment file of an approved (or sent) batch, to download:
    CSV or ISO 20022 pain.001 XML."""
    __name__ = 'spp.payment.batch.export'
    start = StateView('spp.payment.batch.export.start',
        'spp_payment.batch_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('spp.payment.batch.export.result',
        'spp_payment.batch_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        values = {}
        if self.record:
            self.record.check_exportable()
            values['debtor_name'] = self.record.cycle.program.name
        return values

    def default_result(self, fields):
        batch = self.record
        # The program code as typed may hold spaces or slashes.
        slug = re.sub(r'[^A-Za-z0-9_-]+', '-',
            batch.cycle.program.code or str(batch.cycle.program.id))
        name = f'payments-{slug}-{batch.cycle.sequence}-{batch.number}'
        if self.start.format == 'pain001':
            data = export_pain001(batch, self.start.debtor_name,
                self.start.debtor_account)
            filename = f'{name}.xml'
        else:
            data = export_csv(batch)
            filename = f'{name}.csv'
        return {
            'file': data,
            'filename': filename,
            'count': batch.issued_count + batch.sent_count,
            'currency': batch.currency.id,
            'amount': (batch.total_amount - batch.paid_amount
                - batch.failed_amount),
            }


class ImportReconciliationStart(ModelView):
    "Import Reconciliation File"
    __string__ = "Import Reconciliation File"
    __name__ = 'spp.payment.reconciliation.import.start'
    file = fields.Binary("File", filename='filename', required=True,
        help="CSV in UTF-8 with the columns reference, status, "
        "paid_amount, date, provider_reference.")
    filename = fields.Char("File Name")


class ImportReconciliationResult(ModelView):
    "Import Reconciliation File"
    __string__ = "Import Reconciliation File"
    __name__ = 'spp.payment.reconciliation.import.result'
    summary = fields.Char("Summary", readonly=True)
    paid = fields.Integer("Paid", readonly=True)
    failed = fields.Integer("Failed", readonly=True)
    unchanged = fields.Integer("Unchanged", readonly=True,
        help="Lines already applied by an earlier import.")
    refused = fields.Integer("Refused", readonly=True)
    errors = fields.Text("Refused Lines", readonly=True)


class ImportReconciliation(Wizard):
    """Check a provider's reconciliation file (nothing changes), show what
    it would do, then apply it. Launched from batches, it only accepts
    lines of their payments."""
    __name__ = 'spp.payment.reconciliation.import'
    start = StateView('spp.payment.reconciliation.import.start',
        'spp_payment.reconciliation_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'check', 'tryton-forward', default=True),
            ])
    check = StateTransition()
    preview = StateView('spp.payment.reconciliation.import.result',
        'spp_payment.reconciliation_import_result_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('spp.payment.reconciliation.import.result',
        'spp_payment.reconciliation_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    @property
    def batches(self):
        if self.model and self.model.__name__ == 'spp.payment.batch':
            return list(self.records)
        return None

    def _run(self, state, dry_run):
        report = import_reconciliation(self.start.file,
            batches=self.batches, dry_run=dry_run)
        state.summary = report.as_text().splitlines()[0]
        state.paid = report.paid
        state.failed = report.failed
        state.unchanged = report.unchanged
        state.refused = len(report.errors)
        state.errors = '\n'.join(report.as_text().splitlines()[1:])

    def transition_check(self):
        self._run(self.preview, dry_run=True)
        return 'preview'

    def transition_import_(self):
        self._run(self.result, dry_run=False)
        return 'result'

    def _values(self, state):
        return {name: getattr(state, name, None) for name in [
                'summary', 'paid', 'failed', 'unchanged', 'refused',
                'errors']}

    def default_preview(self, fields):
        return self._values(self.preview)

    def default_result(self, fields):
        return self._values(self.result)

