"Wizard importing households and individuals from a CSV or XLSX file."
from trytond.model import ModelView, fields
from trytond.pyson import Eval
from trytond.tools import file_open
from trytond.transaction import check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .registry_import import error_report, import_registrants

SAMPLE = 'spp_registry/data/registry_import_sample.csv'


class ImportRegistrantsStart(ModelView):
    "Import Registrants"
    __string__ = "Import Registrants"
    __name__ = 'spp.registry.import.start'
    file = fields.Binary(
        "File", filename='file_name', required=True,
        help="CSV or XLSX file with one row per individual.")
    file_name = fields.Char("File Name")
    skip_invalid = fields.Boolean(
        "Skip Invalid Households",
        help="Import the households whose rows are all valid and report "
        "the others. Otherwise any invalid row stops the whole import.")
    sample = fields.Binary(
        "Sample File", filename='sample_name', readonly=True,
        help="A small file showing the columns.")
    sample_name = fields.Char("Sample Name", readonly=True)

    @classmethod
    def default_skip_invalid(cls):
        return False

    @classmethod
    def default_sample(cls):
        with file_open(SAMPLE, mode='rb') as sample:
            return sample.read()

    @classmethod
    def default_sample_name(cls):
        return 'registry_import_sample.csv'


class ImportRegistrantsResult(ModelView):
    "Import Registrants"
    __string__ = "Import Registrants"
    __name__ = 'spp.registry.import.result'
    summary = fields.Text("Summary", readonly=True)
    report = fields.Binary(
        "Error Report", filename='report_name', readonly=True,
        states={'invisible': ~Eval('report')})
    report_name = fields.Char("Report Name", readonly=True)


class ImportRegistrants(Wizard):
    "Import Registrants"
    __string__ = "Import Registrants"
    __name__ = 'spp.registry.import'
    start = StateView('spp.registry.import.start',
        'spp_registry.registry_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView('spp.registry.import.result',
        'spp_registry.registry_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        # Wizards run without access checks: the user's access rights and
        # record rules (their areas) apply to what the file creates.
        with check_access():
            result = import_registrants(self.start.file,
                self.start.file_name, skip_invalid=self.start.skip_invalid)
        self.result.summary = result.summary
        if result.errors:
            self.result.report = error_report(result.errors).encode(
                'utf-8-sig')  # the BOM tells spreadsheets it is UTF-8
            stem = (self.start.file_name or 'registrants').rsplit('.', 1)[0]
            self.result.report_name = f'{stem}-errors.csv'
        else:
            self.result.report = self.result.report_name = None
        # The session keeps the state values: no need to keep the file.
        self.start.file = None
        return 'result'

    def value_result(self, fields):
        return {
            'summary': self.result.summary,
            'report': self.result.report,
            'report_name': self.result.report_name,
            }
