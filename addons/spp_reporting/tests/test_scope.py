"""The reports' scope beyond the figures: roll-up to an area level,
exports and spreadsheets as a Reporting Officer, sensitive grievances,
change requests, and what the audit trail records."""
import io

import openpyxl

from trytond.model.exceptions import AccessError
from trytond.modules.spp_grievance.tests.tools import file_grievance
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    MANAGER, MODULES, area_user, as_user, rows, setup_population)


class ScopeTestCase(ActivatedModuleTestCase):
    "Reporting scope"
    module = MODULES

    @with_transaction()
    def test_roll_up_to_area_level(self):
        "At the Region level, the districts' figures add up in their "
        "region; an officer's regional row counts their district only"
        pool = Pool()
        Area = pool.get('spp.area')
        s = setup_population()
        region = s['areas']['TL-N']
        Area.write([region], {
                'kind': get_ref('spp_registry', 'area_kind_region')})
        row, = rows('spp.report.registry.area')
        self.assertEqual((row['area'], row['households'],
                row['individuals']), (region.id, 3, 6))
        coverage, = rows('spp.report.program.coverage')
        self.assertEqual((coverage['area'], coverage['enrolled']),
            (region.id, 3))
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            row, = rows('spp.report.registry.area')
            self.assertEqual((row['area'], row['households']),
                (region.id, 2))

    @with_transaction()
    def test_export_as_officer(self):
        "An export of a report is its rows: an officer exports their "
        "areas' figures only"
        pool = Pool()
        Report = pool.get('spp.report.registry.area')
        s = setup_population()
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            records = Report.search([])
            self.assertEqual(Report.export_data(records,
                    ['area/rec_name', 'households']),
                [["District A", 2]])
            self.assertEqual(Report.search_count([]), 1)
            self.assertEqual(Report.search_count(
                    [('area', '=', s['areas']['TL-N-B'].id)]), 0)

    @with_transaction()
    def test_sensitive_grievances(self):
        "Sensitive tickets count only for the Grievance Sensitive Cases "
        "group; trends leave them out"
        pool = Pool()
        Category = pool.get('spp.grievance.category')
        Snapshot = pool.get('spp.report.snapshot')
        s = setup_population()
        payment, misconduct = Category.create([
                {'name': "Payment", 'code': 'payment'},
                {'name': "Misconduct", 'code': 'misconduct',
                    'sensitive': True}])
        area = s['areas']['TL-N-A']
        file_grievance(payment, area)
        file_grievance(payment, area)
        file_grievance(misconduct, area)
        manager = s['manager']
        sensitive = area_user('sensitive', [MANAGER,
                'spp_grievance.group_manager',
                'spp_grievance.group_sensitive'])
        with as_user(manager)[0], as_user(manager)[1]:
            self.assertEqual({r['category']: r['received']
                    for r in rows('spp.report.grievance')},
                {payment.id: 2})
        with as_user(sensitive)[0], as_user(sensitive)[1]:
            self.assertEqual({r['category']: r['received']
                    for r in rows('spp.report.grievance')},
                {payment.id: 2, misconduct.id: 1})
        Snapshot.take()
        trend, = rows('spp.report.trend.grievance')
        self.assertEqual((trend['received'], trend['open_count']), (2, 2))

    @with_transaction()
    def test_change_requests(self):
        "Change requests by kind and state"
        pool = Pool()
        Request = pool.get('spp.change_request')
        Kind = pool.get('spp.change_request.kind')
        s = setup_population()
        kind = [k for k in Kind.search([]) if k.target == 'group'][0]
        group = s['households'][0]
        Request.create([{'kind': kind.id, 'registrant': group.id,
                    'reason': "Moved"} for _ in range(2)])
        row, = rows('spp.report.change_request')
        self.assertEqual((row['kind'], row['requests'], row['pending']),
            (kind.id, 2, Request.search_count([('state', '=', 'draft')])))

    @with_transaction()
    def test_rows_spreadsheet(self):
        "Print › Spreadsheet writes the selected rows with the list's "
        "columns; an officer's rows are their areas'"
        pool = Pool()
        Report = pool.get('spp.report.registry.area')
        Xlsx = pool.get('spp.report.rows.xlsx', type='report')
        s = setup_population()
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            ids = [r.id for r in Report.search([])]
            oext, content, _, _ = Xlsx.execute(ids, {
                    'model': Report.__name__, 'id': ids[0], 'ids': ids})
        self.assertEqual(oext, 'xlsx')
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        lines = list(sheet.iter_rows(values_only=True))
        self.assertEqual(lines[0][:3], ("Area", "Households", "Individuals"))
        self.assertEqual(lines[1:], [("District A", 2, 3, 1, 0)])
        with as_user(s['nobody'])[0], as_user(s['nobody'])[1]:
            with self.assertRaises(AccessError):
                Xlsx.execute(ids, {'model': Report.__name__, 'ids': ids})

    @with_transaction()
    def test_audited(self):
        "A snapshot run is one audit entry with its rows; a target change "
        "is recorded"
        pool = Pool()
        Snapshot = pool.get('spp.report.snapshot')
        Target = pool.get('spp.program.target')
        Log = pool.get('spp.audit.log')
        s = setup_population()
        month, count = Snapshot.take()
        self.assertEqual(count, Snapshot.search_count([]))
        target, = Target.create([{'program': s['program'].id,
                    'beneficiaries': 3}])
        Log.flush()
        entry, = Log.search([('model', '=', 'spp.report.snapshot'),
                ('action', '=', 'taken')])
        self.assertEqual(entry.count, count)
        self.assertTrue(Log.search([('model', '=', 'spp.program.target'),
                    ('record_id', '=', target.id)]))

    @with_transaction()
    def test_wizards_and_reports_need_a_reporting_group(self):
        "Without a reporting group: no Program Report (PDF or XLSX), no "
        "Open Records"
        pool = Pool()
        Coverage = pool.get('spp.report.program.coverage')
        Wizard = pool.get('spp.report.open', type='wizard')
        s = setup_population()
        row, = Coverage.search([], limit=1)
        data = {'program': s['program'].id, 'cycle': s['cycle'].id}
        with as_user(s['nobody'])[0], as_user(s['nobody'])[1]:
            # As the client calls them: with the report action's id.
            for name, action in [
                    ('spp.report.program_report', 'report_program'),
                    ('spp.report.program_report.xlsx',
                        'report_program_xlsx')]:
                with self.subTest(report=name):
                    with self.assertRaises(AccessError):
                        pool.get(name, type='report').execute([], {**data,
                                'action_id': get_ref('spp_reporting',
                                    action)})
            with Transaction().set_context(active_model=Coverage.__name__,
                    active_id=row.id, active_ids=[row.id]):
                with self.assertRaises(AccessError):
                    Wizard.create()
