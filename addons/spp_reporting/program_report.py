"""The Program Report to hand out: for a program (and one of its cycles,
or all), coverage by area against the plan, the money (planned, approved,
paid, fees), the payments and, with the grievance addon, the complaints
by area. As PDF (Tryton's HTML report, converted by WeasyPrint) and as
XLSX (openpyxl). Its figures are those of the dashboards, read through
the same reports, so the reader's area and record rules apply."""
import datetime as dt
import io
from decimal import Decimal

import openpyxl
from openpyxl.styles import Font

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.report import Report
from trytond.transaction import Transaction
from trytond.wizard import Button, StateReport, StateView, Wizard

# Each section: (title, report model, [(field, column title)]).
SECTIONS = [
    ("Coverage by Area", 'spp.report.program.coverage', [
            ('area', "Area"), ('eligible', "Eligible"),
            ('enrolled', "Enrolled"), ('paused', "Paused"),
            ('exited', "Exited"), ('coverage', "Coverage (%)")]),
    ("Plan and Actual", 'spp.report.cycle.plan', [
            ('cycle', "Cycle"),
            ('planned_beneficiaries', "Planned Beneficiaries"),
            ('beneficiaries', "Beneficiaries"),
            ('planned_budget', "Planned Budget"),
            ('approved_amount', "Approved Amount"),
            ('paid_amount', "Paid Amount")]),
    ("Money by Area", 'spp.report.cycle.area', [
            ('cycle', "Cycle"), ('area', "Area"),
            ('beneficiaries', "Beneficiaries"),
            ('planned_amount', "Planned"), ('approved_amount', "Approved"),
            ('paid_amount', "Paid"), ('fees', "Fees")]),
    ("Payments", 'spp.report.payment.cycle', [
            ('cycle', "Cycle"), ('payments', "Payments"), ('paid', "Paid"),
            ('failed', "Failed"), ('paid_amount', "Paid Amount"),
            ('failed_amount', "Failed Amount"),
            ('reconciliation_rate', "Reconciled (%)"),
            ('days_to_pay', "Days to Pay")]),
    ("Complaints by Area", 'spp.report.grievance', [
            ('category', "Category"), ('area', "Area"),
            ('received', "Received"), ('open_count', "Open"),
            ('breached', "Breached"), ('resolved', "Resolved"),
            ('in_time_share', "Resolved in Time (%)")]),
    ]
# Columns summed in a section's total line.
TOTALS = {'eligible', 'enrolled', 'paused', 'exited', 'beneficiaries',
    'planned_beneficiaries', 'planned_budget', 'approved_amount',
    'paid_amount', 'planned_amount', 'fees', 'payments', 'paid', 'failed',
    'failed_amount', 'received', 'open_count', 'breached', 'resolved'}


def figures(program_id, cycle_id=None):
    """The sections of the report: a list of dicts (title, columns, rows
    of displayed values, totals) for the installed addons."""
    pool = Pool()
    sections = []
    with Transaction().set_context(program=program_id, cycle=cycle_id,
            area=None, from_date=None, to_date=None):
        for title, model, columns in SECTIONS:
            try:
                Model = pool.get(model)
            except KeyError:
                continue  # its addon is not installed
            records = Model.search([])
            rows, totals = [], {}
            for record in records:
                row = []
                for name, _ in columns:
                    value = getattr(record, name)
                    if name in TOTALS and value is not None:
                        totals[name] = totals.get(name, 0) + value
                    row.append(value.rec_name if hasattr(value, 'rec_name')
                        else value)
                rows.append(row)
            sections.append({
                    'title': title,
                    'columns': [c for _, c in columns],
                    'rows': rows,
                    'totals': [totals.get(name) if i else "Total"
                        for i, (name, _) in enumerate(columns)],
                    })
    return sections


class ProgramReportStart(ModelView):
    "Program Report"
    __string__ = "Program Report"
    __name__ = 'spp.report.program_report.start'
    program = fields.Many2One('spp.program', "Program", required=True)
    cycle = fields.Many2One('spp.cycle', "Cycle",
        domain=[('program', '=', Eval('program', -1))],
        help="Leave empty for every cycle of the program.")

    @classmethod
    def default_program(cls):
        context = Transaction().context
        if context.get('active_model') == 'spp.program':
            return context.get('active_id')

    @fields.depends('program', 'cycle')
    def on_change_program(self):
        if self.cycle and self.cycle.program != self.program:
            self.cycle = None


class ProgramReportWizard(Wizard):
    "Program Report"
    __string__ = "Program Report"
    __name__ = 'spp.report.program_report'
    start = StateView('spp.report.program_report.start',
        'spp_reporting.program_report_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Spreadsheet (XLSX)", 'xlsx', 'tryton-print'),
            Button("PDF", 'pdf', 'tryton-print', default=True),
            ])
    pdf = StateReport('spp.report.program_report')
    xlsx = StateReport('spp.report.program_report.xlsx')

    def _data(self):
        return {'program': self.start.program.id,
            'cycle': self.start.cycle.id if self.start.cycle else None}

    def do_pdf(self, action):
        return action, self._data()

    def do_xlsx(self, action):
        return action, self._data()


class _ProgramReport:
    @classmethod
    def _header(cls, data):
        pool = Pool()
        Program = pool.get('spp.program')
        Cycle = pool.get('spp.cycle')
        program = Program(data['program'])
        cycle = Cycle(data['cycle']) if data.get('cycle') else None
        return program, cycle


class ProgramReport(_ProgramReport, Report):
    __name__ = 'spp.report.program_report'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        program, cycle = cls._header(data)
        context['program'] = program
        context['cycle'] = cycle
        context['sections'] = figures(program.id, cycle and cycle.id)
        context['printed_on'] = dt.datetime.now()
        context['cell'] = cls.cell
        context['is_number'] = lambda v: isinstance(v, (int, float, Decimal))
        return context

    @classmethod
    def cell(cls, value):
        "A figure as the report shows it."
        if value is None:
            return ''
        if isinstance(value, (float, Decimal)):
            return cls.format_number(value, None, digits=2)
        return str(value)


class ProgramReportXlsx(_ProgramReport, Report):
    __name__ = 'spp.report.program_report.xlsx'

    @classmethod
    def _execute(cls, records, header, data, action):
        program, cycle = cls._header(data)
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = "Program Report"
        bold = Font(bold=True)
        sheet.append(["Program Report"])
        sheet['A1'].font = Font(bold=True, size=14)
        sheet.append(["Program", program.rec_name])
        sheet.append(["Cycle", cycle.rec_name if cycle else "All cycles"])
        for section in figures(program.id, cycle and cycle.id):
            sheet.append([])
            sheet.append([section['title']])
            sheet.cell(sheet.max_row, 1).font = bold
            for line in [section['columns'], *section['rows'],
                    section['totals']]:
                sheet.append(line)
            for line in [sheet.max_row - len(section['rows']) - 1,
                    sheet.max_row]:
                for cell in sheet[line]:
                    cell.font = bold
        content = io.BytesIO()
        workbook.save(content)
        return 'xlsx', content.getvalue()
