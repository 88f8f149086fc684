"""Each figure of the reports against a count made here with the ORM on
a small population; the reader's areas; filters and empty periods;
targets; snapshots; Open Records; the Program Report's PDF and XLSX;
the SQL views."""
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pypdf

from trytond.model.exceptions import AccessError
from trytond.modules.spp_entitlement.fund import COMMITTED, PAID
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import MODULES, as_user, rows, setup_population


class FiguresTestCase(ActivatedModuleTestCase):
    "Reporting figures"
    module = MODULES

    @with_transaction()
    def test_registry_by_area(self):
        "Households, individuals, sexes, phones and exact birth dates by "
        "district, as the registry counts them"
        pool = Pool()
        Party = pool.get('party.party')
        s = setup_population()
        female = get_ref('spp_registry', 'gender_female')
        by_area = {r['area']: r for r in rows('spp.report.registry.area')}
        quality = {r['area']: r
            for r in rows('spp.report.registry.quality')}
        self.assertEqual(set(quality), set(by_area))
        self.assertEqual(set(by_area),
            {s['areas']['TL-N-A'].id, s['areas']['TL-N-B'].id})
        for area in [s['areas']['TL-N-A'], s['areas']['TL-N-B']]:
            row, checks = by_area[area.id], quality[area.id]
            people = [('registrant_type', '=', 'individual'),
                ('area', '=', area.id)]
            self.assertEqual(row['households'], Party.search_count([
                        ('registrant_type', '=', 'group'),
                        ('area', '=', area.id)]))
            self.assertEqual(row['individuals'], Party.search_count(people))
            self.assertEqual(row['female'], Party.search_count(
                    people + [('gender', '=', female)]))
            self.assertEqual(checks['individuals'], row['individuals'])
            self.assertEqual(checks['with_phone'], Party.search_count(
                    people + [('contact_mechanisms.type', '=', 'mobile')]))
            self.assertEqual(checks['exact_birth_date'], Party.search_count(
                    people + [('birth_date', '!=', None),
                        ('birth_date_approximate', '!=', True)]))
        a = by_area[s['areas']['TL-N-A'].id]
        a_checks = quality[s['areas']['TL-N-A'].id]
        # A0: a head; A1: a (female) head and a child; heads have phones.
        self.assertEqual((a['households'], a['individuals'], a['female'],
                a_checks['with_phone']), (2, 3, 1, 2))
        self.assertAlmostEqual(a_checks['phone_share'], 200 / 3, places=1)

    @with_transaction()
    def test_age_bands_and_months(self):
        "Individuals by age band and sex; registrations per month"
        pool = Pool()
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        setup_population()
        bands = {(r['age_band'], r['gender']): r['individuals']
            for r in rows('spp.report.registry.age')}
        # Heads are 35; the children 2, 3 and 4 years old.
        self.assertEqual(sum(v for (b, _), v in bands.items()
                if b == '18-59'), 3)
        self.assertEqual(sum(v for (b, _), v in bands.items()
                if b == '0-4'), 3)
        self.assertEqual(sum(bands.values()), Party.search_count(
                [('registrant_type', '=', 'individual')]))
        month, = rows('spp.report.registry.month')
        self.assertEqual(month['month'], Date.today().replace(day=1))
        self.assertEqual((month['households'], month['individuals']), (3, 6))

    @with_transaction()
    def test_period_without_data(self):
        "A period with no data gives empty reports, not an error"
        setup_population()
        future = {'from_date': dt.date(2100, 1, 1),
            'to_date': dt.date(2100, 12, 31)}
        for model in ['spp.report.registry.area',
                'spp.report.registry.quality', 'spp.report.registry.age',
                'spp.report.registry.month', 'spp.report.program.exit',
                'spp.report.cycle.area', 'spp.report.payment.status',
                'spp.report.payment.cycle', 'spp.report.grievance',
                'spp.report.change_request', 'spp.report.trend.registry']:
            with self.subTest(model=model):
                self.assertEqual(rows(model, future), [])

    @with_transaction()
    def test_coverage_money_and_payments(self):
        "Coverage, money by area and payments by status against the "
        "memberships, entitlements and payments themselves"
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        Entitlement = pool.get('spp.entitlement')
        Payment = pool.get('spp.payment')
        s = setup_population()
        program, cycle = s['program'], s['cycle']
        for row in rows('spp.report.program.coverage'):
            domain = [('program', '=', row['program']),
                ('area', '=', row['area'])]
            self.assertEqual(row['enrolled'], Membership.search_count(
                    domain + [('state', '=', 'enrolled')]))
            self.assertEqual(row['eligible'], Membership.search_count(
                    domain + [('state', 'in', ['draft', 'enrolled',
                                'paused'])]))
            self.assertEqual(row['coverage'], 100.0)
        money = rows('spp.report.cycle.area', {'cycle': cycle.id})
        self.assertEqual(len(money), 2)
        for row in money:
            entitlements = Entitlement.search([('cycle', '=', cycle.id),
                    ('cycle_membership.area', '=', row['area'])])
            self.assertEqual(row['approved_amount'], sum(
                    e.amount for e in entitlements if e.state in COMMITTED))
            self.assertEqual(row['paid_amount'], sum((
                    e.amount for e in entitlements if e.state in PAID),
                    Decimal(0)))
            self.assertEqual(row['beneficiaries'], len(entitlements))
        # Base 100 + 25.50 per child: A: 100 + 125.50; B: 151.
        self.assertEqual(sorted(r['approved_amount'] for r in money),
            [Decimal('151.00'), Decimal('225.50')])
        statuses = rows('spp.report.payment.status')
        self.assertEqual(sum(r['payments'] for r in statuses),
            Payment.search_count([('cycle', '=', cycle.id)]))
        for row in statuses:
            self.assertEqual(row['payments'], Payment.search_count([
                        ('cycle', '=', row['cycle']),
                        ('state', '=', row['state']),
                        ('entitlement.cycle_membership.area', '=',
                            row['area'])]))
        performance, = rows('spp.report.payment.cycle')
        self.assertEqual(performance['payments'], 3)
        self.assertEqual(performance['paid'], 0)
        self.assertIsNone(performance['days_to_pay'])
        fund, = rows('spp.report.fund', {'program': program.id})
        self.assertEqual(fund['budget'], Decimal(100000))
        self.assertEqual(fund['available'],
            Decimal(100000) - fund['committed'])

    @with_transaction()
    def test_targets(self):
        "Plan and actual: no target leaves the plan empty; a standing "
        "target plans every cycle; a cycle's own target wins"
        pool = Pool()
        Target = pool.get('spp.program.target')
        s = setup_population()
        program, cycle = s['program'], s['cycle']
        plan, = rows('spp.report.cycle.plan', {'program': program.id})
        self.assertIsNone(plan['planned_beneficiaries'])
        self.assertIsNone(plan['planned_budget'])
        self.assertIsNone(plan['budget_share'])
        self.assertEqual(plan['beneficiaries'], 3)
        self.assertEqual(plan['approved_amount'], Decimal('376.50'))
        Target.create([{'program': program.id, 'beneficiaries': 6,
                    'budget': Decimal(1000)}])
        plan, = rows('spp.report.cycle.plan', {'program': program.id})
        self.assertEqual((plan['planned_beneficiaries'],
                plan['planned_budget']), (6, Decimal(1000)))
        self.assertEqual(plan['beneficiaries_share'], 50.0)
        Target.create([{'program': program.id, 'cycle': cycle.id,
                    'beneficiaries': 3}])
        plan, = rows('spp.report.cycle.plan', {'program': program.id})
        self.assertEqual(plan['planned_beneficiaries'], 3)
        # The cycle's target has no budget: the standing one's applies.
        self.assertEqual(plan['planned_budget'], Decimal(1000))

    @with_transaction()
    def test_target_bad_input(self):
        "Two standing targets of a program, or a cycle of another "
        "program, are refused"
        from trytond.exceptions import UserError
        pool = Pool()
        Target = pool.get('spp.program.target')
        s = setup_population()
        Target.create([{'program': s['program'].id, 'beneficiaries': 5}])
        with self.assertRaises(UserError) as cm:
            Target.create([{'program': s['program'].id,
                        'beneficiaries': 6}])
        self.assertIn("one standing target", cm.exception.message)
        with self.assertRaises(UserError):
            Target.create([{'program': s['program'].id,
                        'beneficiaries': -1}])

    @with_transaction()
    def test_officer_sees_own_areas_only(self):
        "A Reporting Officer of district A counts district A only; a "
        "filter on district B gives nothing, no totals"
        s = setup_population()
        a, b = s['areas']['TL-N-A'], s['areas']['TL-N-B']
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            for model, field in [
                    ('spp.report.registry.area', 'individuals'),
                    ('spp.report.program.coverage', 'enrolled'),
                    ('spp.report.cycle.area', 'approved_amount'),
                    ('spp.report.payment.status', 'payments')]:
                with self.subTest(model=model):
                    own = rows(model)
                    self.assertEqual({r['area'] for r in own}, {a.id})
                    self.assertEqual(rows(model, {'area': b.id}), [])
            plan, = rows('spp.report.cycle.plan')
            self.assertEqual(plan['beneficiaries'], 2)
            self.assertEqual(plan['approved_amount'], Decimal('225.50'))
            fund, = rows('spp.report.fund')
            self.assertIsNone(fund['budget'])  # national figures only
            self.assertEqual(fund['committed'], Decimal('225.50'))
        with as_user(s['manager'])[0], as_user(s['manager'])[1]:
            self.assertEqual(len(rows('spp.report.registry.area')), 2)
            self.assertEqual(len(rows('spp.report.registry.area',
                        {'area': b.id})), 1)

    @with_transaction()
    def test_without_reporting_group(self):
        "A user without a reporting group reads no report, snapshot nor "
        "target"
        s = setup_population()
        with as_user(s['nobody'])[0], as_user(s['nobody'])[1]:
            for model in ['spp.report.registry.area',
                    'spp.report.cycle.area', 'spp.report.snapshot',
                    'spp.report.trend.registry', 'spp.program.target']:
                with self.subTest(model=model):
                    with self.assertRaises(AccessError):
                        Pool().get(model).search([])

    @with_transaction()
    def test_snapshot_twice(self):
        "A snapshot taken twice in a month counts once; past months stay"
        pool = Pool()
        Snapshot = pool.get('spp.report.snapshot')
        Date = pool.get('ir.date')
        s = setup_population()
        Snapshot.take()
        first = Snapshot.search_count([])
        Snapshot.take()
        self.assertEqual(Snapshot.search_count([]), first)
        month = Date.today().replace(day=1)
        trend, = rows('spp.report.trend.registry')
        self.assertEqual((trend['month'], trend['households'],
                trend['individuals']), (month, 3, 6))
        program_trend, = rows('spp.report.trend.program')
        self.assertEqual((program_trend['program'],
                program_trend['enrolled']), (s['program'].id, 3))
        payment_trend, = rows('spp.report.trend.payment')
        self.assertEqual(payment_trend['approved_amount'],
            Decimal('376.50'))
        # Last month's figures are kept when this month's are replaced.
        last_month = month - dt.timedelta(days=1)
        Snapshot.take(last_month)
        Snapshot.take()
        by_month = {r['month']: r for r in rows('spp.report.trend.registry')}
        self.assertEqual(set(by_month), {last_month.replace(day=1), month})
        self.assertEqual(by_month[month]['households'], 3)
        # The officer of district A follows district A only.
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            trends = rows('spp.report.trend.registry')
            self.assertEqual([t['households'] for t in trends], [2, 2])
            self.assertEqual({x.area.id for x in Snapshot.search([])},
                {s['areas']['TL-N-A'].id})

    @with_transaction()
    def test_open_records(self):
        "Open Records opens the memberships behind a coverage row, with "
        "the report's area filter"
        pool = Pool()
        Wizard = pool.get('spp.report.open', type='wizard')
        Coverage = pool.get('spp.report.program.coverage')
        Membership = pool.get('spp.program.membership')
        s = setup_population()
        a = s['areas']['TL-N-A']
        row, = [r for r in Coverage.search([]) if r.area.id == a.id]
        with Transaction().set_context(active_model=Coverage.__name__,
                active_id=row.id, active_ids=[row.id], area=a.id):
            session_id, _, _ = Wizard.create()
            result = Wizard.execute(session_id, {}, 'start')
        action, = result['actions']
        action, _ = action
        self.assertEqual(action['res_model'], 'spp.program.membership')
        from trytond.pyson import PYSONDecoder
        domain = PYSONDecoder().decode(action['pyson_domain'])
        self.assertEqual(Membership.search_count(domain), 2)

    @with_transaction()
    def test_program_report(self):
        "The Program Report as PDF and XLSX: its money totals are the "
        "entitlements' own"
        pool = Pool()
        s = setup_population()
        data = {'program': s['program'].id, 'cycle': s['cycle'].id}
        PDF = pool.get('spp.report.program_report', type='report')
        XLSX = pool.get('spp.report.program_report.xlsx', type='report')
        oext, content, _, name = PDF.execute([], data)
        self.assertEqual(oext, 'pdf')
        text = ''.join(page.extract_text()
            for page in pypdf.PdfReader(io.BytesIO(content)).pages)
        self.assertIn(s['program'].rec_name, text)
        self.assertIn("Money by Area", text)
        self.assertIn("376.50", text)
        oext, content, _, name = XLSX.execute([], data)
        self.assertEqual(oext, 'xlsx')
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        lines = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
        start = lines.index(next(l for l in lines if l[0] == "Money by Area"))
        header = lines[start + 1]
        total = next(l for l in lines[start:] if l[0] == "Total")
        self.assertEqual(total[header.index("Approved")], 376.5)
        self.assertEqual(total[header.index("Beneficiaries")], 3)
        coverage = lines.index(next(
                l for l in lines if l[0] == "Coverage by Area"))
        total = next(l for l in lines[coverage:] if l[0] == "Total")
        self.assertEqual(total[lines[coverage + 1].index("Enrolled")], 3)

    @with_transaction()
    def test_program_report_officer(self):
        "An officer's Program Report counts their areas only"
        s = setup_population()
        from trytond.modules.spp_reporting.program_report import figures
        with as_user(s['officer_a'])[0], as_user(s['officer_a'])[1]:
            sections = {x['title']: x for x in figures(s['program'].id)}
        money = sections["Money by Area"]
        self.assertEqual(len(money['rows']), 1)
        approved = money['columns'].index("Approved")
        self.assertEqual(money['totals'][approved], Decimal('225.50'))

    @with_transaction()
    def test_sql_views(self):
        "The SQL views for BI tools hold the same totals and no personal "
        "column"
        s = setup_population()
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT SUM(households), SUM(individuals) '
            'FROM spp_report_registry_area')
        self.assertEqual(tuple(cursor.fetchone()), (3, 6))
        cursor.execute('SELECT SUM(amount) FROM spp_report_cycle_area '
            "WHERE entitlement_state = 'approved'")
        self.assertEqual(Decimal(str(cursor.fetchone()[0])),
            Decimal('376.50'))
        cursor.execute('SELECT SUM(beneficiaries) FROM spp_report_program_area '
            'WHERE program_id = %s' % s['program'].id)
        self.assertEqual(cursor.fetchone()[0], 3)
        for view in ['spp_report_area', 'spp_report_registry_area',
                'spp_report_individual', 'spp_report_indicator_month',
                'spp_report_program', 'spp_report_program_area',
                'spp_report_cycle_area', 'spp_report_payment',
                'spp_report_grievance']:
            cursor.execute('SELECT * FROM "%s" WHERE 1 = 0' % view)
            columns = {c[0] for c in cursor.description}
            with self.subTest(view=view):
                self.assertFalse(columns & {'name', 'family_name',
                        'given_name', 'code', 'payee_name', 'payee_phone',
                        'payee_account', 'birth_date', 'registrant'})
