"Import of households and individuals from CSV and XLSX files."
import csv
import datetime as dt
import io

from stdnum import luhn

from trytond.modules.spp_registry.registry_import import (
    error_report, import_registrants)
from trytond.modules.spp_registry.registry_import_cli import (
    EXIT_OK, EXIT_PARTIAL, EXIT_REJECTED, run_import)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, with_transaction
from trytond.tools import file_open
from trytond.transaction import Transaction, check_access

HEADER = ['household_ref', 'household_name', 'role', 'family_name',
    'given_name', 'birth_date', 'gender', 'disability', 'phone', 'area_code',
    'id_national_id', 'id_passport']


def national_id(number):
    base = str(100000000 + number)
    return base + luhn.calc_check_digit(base)


def person(ref, role, family, given, age, gender, number=None, **extra):
    "A row of the test files, as a dict."
    return {
        'household_ref': ref, 'role': role, 'family_name': family,
        'given_name': given, 'birth_date': years_ago(age).isoformat(),
        'gender': gender,
        'id_national_id': national_id(number) if number else '',
        **extra}


def good_rows():
    "Two households: Santos (4, two children, female head), Dias (2)."
    return [
        person('H1', 'head', "Santos", "Ana", 35, 'female', 1,
            household_name="Santos family", area_code='TL-N-A',
            phone='+351 912 345 678'),
        person('H1', 'spouse', "Santos", "Rui", 40, 'male', 2),
        person('H1', 'child', "Santos", "Lia", 3, 'female', 3),
        person('H1', 'child', "Santos", "Teo", 10, 'male', 4,
            disability='yes', id_passport='P1234567'),
        person('H2', 'head', "Dias", "Rosa", 70, 'female', 5,
            area_code='TL-N-B'),
        person('H2', 'other', "Dias", "Carlos", 33, 'male', 6),
        ]


def to_csv(rows, header=HEADER):
    output = io.StringIO()
    writer = csv.DictWriter(output, header, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    return output.getvalue().encode('utf-8')


def report_rows(result):
    return list(csv.DictReader(io.StringIO(error_report(result.errors))))


class RegistryImportTestCase(ActivatedModuleTestCase):
    "Test the registry import"

    module = 'spp_registry'

    def registrants(self):
        Party = Pool().get('party.party')
        return Party.search([('registrant_type', '!=', None)])

    def assertNothingWritten(self, result):
        self.assertEqual(result.group_ids, [])
        self.assertEqual(self.registrants(), [])

    def assertReports(self, result, row, column, text=None):
        "The report has a line for `row` and `column` (and `text`)."
        lines = [r for r in report_rows(result)
            if r['row'] == str(row) and r['column'] == column]
        self.assertTrue(lines, f"no error at row {row}, column {column}: "
            f"{report_rows(result)}")
        if text:
            self.assertIn(text, lines[0]['reason'])

    @with_transaction()
    def test_good_file(self):
        "A good file imports households, members, roles, IDs, indicators"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        areas = create_areas()

        result = import_registrants(to_csv(good_rows()), 'people.csv')

        self.assertEqual(result.errors, [])
        self.assertEqual((result.households, result.individuals), (2, 6))
        santos, dias = Party.browse(result.group_ids)
        self.assertEqual(
            (santos.registrant_type, santos.name, santos.area,
                santos.group_kind.code),
            ('group', "Santos family", areas['TL-N-A'], 'household'))
        self.assertEqual((dias.name, dias.area), ("Dias", areas['TL-N-B']))
        self.assertEqual(
            (santos.member_count, santos.child_count, santos.elderly_count,
                santos.disabled_member_count, santos.female_head),
            (4, 2, 0, 1, True))
        self.assertEqual(
            (dias.member_count, dias.elderly_count, dias.female_head),
            (2, 1, True))

        roles = {(m.individual.given_name, m.role_names)
            for m in Membership.search([('group', '=', santos.id)])}
        self.assertEqual(roles, {("Ana", "Head"), ("Rui", "Spouse"),
                ("Lia", "Child"), ("Teo", "Child")})
        ana, = Party.search([('given_name', '=', "Ana")])
        self.assertEqual(
            (ana.name, ana.area, ana.gender.code, ana.birth_date),
            ("Santos, Ana", areas['TL-N-A'], 'female', years_ago(35)))
        self.assertEqual([(i.type, i.code) for i in ana.identifiers],
            [('national_id', national_id(1))])
        self.assertEqual([(c.type, c.value) for c in ana.contact_mechanisms],
            [('phone', '+351 912 345 678')])
        # Members without an area code live in their household's area.
        rui, = Party.search([('given_name', '=', "Rui")])
        self.assertEqual(rui.area, areas['TL-N-A'])
        teo, = Party.search([('given_name', '=', "Teo")])
        self.assertTrue(teo.disability)
        self.assertEqual(sorted((i.type, i.code) for i in teo.identifiers),
            [('national_id', national_id(4)), ('passport', 'P1234567')])

    @with_transaction()
    def test_sample_file(self):
        "The sample file shipped with the wizard imports"
        with file_open('spp_registry/data/registry_import_sample.csv',
                mode='rb') as sample:
            result = import_registrants(sample.read(), 'sample.csv')
        self.assertEqual(result.errors, [])
        self.assertEqual((result.households, result.individuals), (3, 8))

    @with_transaction()
    def test_one_bad_row_writes_nothing(self):
        "One bad row: nothing is written, the report names row and column"
        create_areas()
        rows = good_rows()
        rows[4]['birth_date'] = '1955-02-30'

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertNothingWritten(result)
        self.assertEqual(len(result.errors), 1)
        # The header is row 1: the fifth person is on row 6.
        self.assertReports(result, 6, 'birth_date', '1955-02-30')
        self.assertEqual(report_rows(result)[0]['household_ref'], 'H2')
        self.assertIn("Nothing was imported", result.summary)

    @with_transaction()
    def test_row_errors(self):
        "Required values, codes, dates and flags are checked on every row"
        create_areas()
        rows = good_rows()
        rows[1].update(gender='unknown', role='cousin')
        rows[2].update(family_name='', given_name='', disability='maybe')
        rows[3].update(birth_date=(
                dt.date.today() + dt.timedelta(days=1)).isoformat())
        rows[5].update(household_ref='', phone='12', gender='')

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertNothingWritten(result)
        self.assertReports(result, 3, 'gender', 'unknown')
        self.assertReports(result, 3, 'role', 'cousin')
        self.assertReports(result, 4, 'given_name')
        self.assertReports(result, 4, 'disability', 'maybe')
        self.assertReports(result, 5, 'birth_date', 'future')
        self.assertReports(result, 7, 'household_ref')
        self.assertReports(result, 7, 'phone')
        self.assertReports(result, 7, 'gender')

    @with_transaction()
    def test_skip_invalid(self):
        "Skip invalid rows: valid households are imported, others reported"
        Party = Pool().get('party.party')
        create_areas()
        rows = good_rows()
        rows[1]['id_national_id'] = '1234567890'  # wrong check digit

        result = import_registrants(
            to_csv(rows), 'people.csv', skip_invalid=True)

        self.assertEqual((result.households, result.individuals), (1, 2))
        self.assertEqual(result.skipped, 1)
        dias, = Party.browse(result.group_ids)
        self.assertEqual((dias.name, dias.member_count), ("Dias", 2))
        self.assertEqual(len(self.registrants()), 3)
        self.assertReports(result, 3, 'id_national_id', 'check digit')
        # The valid rows of the skipped household are reported as skipped.
        for row in [2, 4, 5]:
            self.assertReports(result, row, '', 'household H1 is skipped')
        self.assertIn(
            "Skipped households, with invalid rows: 1", result.summary)

    @with_transaction()
    def test_duplicate_id_in_file(self):
        "An ID number twice in the file is refused on its second row"
        create_areas()
        rows = good_rows()
        rows[5]['id_national_id'] = national_id(1)

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertNothingWritten(result)
        self.assertReports(result, 7, 'id_national_id', 'also on row 2')

    @with_transaction()
    def test_duplicate_id_in_database(self):
        "An ID number already registered is refused"
        Party = Pool().get('party.party')
        create_areas()
        Party.create([{'registrant_type': 'individual', 'name': "Earlier",
                    'identifiers': [('create', [{
                                    'type': 'national_id',
                                    'code': national_id(3)}])]}])
        result = import_registrants(to_csv(good_rows()), 'people.csv')

        self.assertEqual(result.group_ids, [])
        self.assertEqual(len(self.registrants()), 1)
        self.assertReports(result, 4, 'id_national_id', 'already registered')

    @with_transaction()
    def test_duplicate_id_written_otherwise(self):
        "An ID number written with other separators is the same number"
        pool = Pool()
        Party = pool.get('party.party')
        pool.get('spp.id.type').create([{'name': "Chilean RUT",
                    'code': 'cl_rut', 'validator': 'cl.rut'}])
        create_areas()
        Party.create([{'registrant_type': 'individual', 'name': "Earlier",
                    'identifiers': [('create', [{
                                    'type': 'cl_rut',
                                    'code': '760864285'}])]}])
        rows = good_rows()
        rows[0]['id_cl_rut'] = '76.086.428-5'
        rows[1]['id_cl_rut'] = '12 345 678-5'
        rows[2]['id_cl_rut'] = '12.345.678-5'

        result = import_registrants(
            to_csv(rows, HEADER + ['id_cl_rut']), 'people.csv')

        self.assertEqual(result.group_ids, [])
        self.assertReports(result, 2, 'id_cl_rut', 'already registered')
        self.assertReports(result, 4, 'id_cl_rut', 'also on row 3')

    @with_transaction()
    def test_unknown_area(self):
        "An unknown area code is refused"
        create_areas()
        rows = good_rows()
        rows[4]['area_code'] = 'NOWHERE'

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertNothingWritten(result)
        self.assertReports(result, 6, 'area_code', 'NOWHERE')

    @with_transaction()
    def test_heads(self):
        "A household has exactly one head"
        create_areas()
        rows = good_rows()
        rows[1]['role'] = 'head'  # a second head in H1
        rows[4]['role'] = 'spouse'  # no head in H2

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertNothingWritten(result)
        self.assertReports(result, 3, 'role', 'already given on row 2')
        self.assertReports(result, 6, 'role', 'Household H2 has no head')

    @with_transaction()
    def test_header(self):
        "Missing, unknown and ID type columns are checked first"
        header = [c for c in HEADER if c != 'gender'] + [
            'id_tax_number', 'notes']
        result = import_registrants(to_csv([], header) + b'H1\n', 'x.csv')

        self.assertNothingWritten(result)
        self.assertReports(result, 1, 'gender', 'missing')
        self.assertReports(result, 1, 'id_tax_number', 'tax_number')
        self.assertReports(result, 1, 'notes', 'Unknown column')

    @with_transaction()
    def test_unreadable_file(self):
        "An empty or broken file gets a report, not a crash"
        for data, name in [(b'', 'a.csv'), (b'\xff\xfe\x00', 'b.csv'),
                (b'PK\x03\x04broken', 'c.xlsx')]:
            result = import_registrants(data, name)
            self.assertEqual(len(result.errors), 1)
            self.assertEqual(result.errors[0].row, '')
        self.assertNothingWritten(result)

    @with_transaction()
    def test_semicolons_and_several_roles(self):
        "Semicolon-separated CSV and several roles in one cell are read"
        Membership = Pool().get('spp.group.membership')
        create_areas()
        rows = good_rows()[:2]
        rows[1]['role'] = 'spouse|parent'
        data = to_csv(rows).decode().replace(',', ';').encode('utf-8-sig')

        result = import_registrants(data, 'people.csv')

        self.assertEqual(result.errors, [])
        rui, = Membership.search([('individual.given_name', '=', "Rui")])
        self.assertEqual({r.code for r in rui.roles}, {'spouse', 'parent'})

    @with_transaction()
    def test_xlsx(self):
        "XLSX files import, with date cells and numeric ID cells"
        import openpyxl
        Party = Pool().get('party.party')
        create_areas()
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(HEADER)
        for row in good_rows():
            values = [row.get(c, '') for c in HEADER]
            values[HEADER.index('birth_date')] = dt.datetime.fromisoformat(
                row['birth_date'])
            values[HEADER.index('id_national_id')] = int(
                row['id_national_id'])
            sheet.append(values)
        sheet.append([None] * len(HEADER))  # trailing blank row
        data = io.BytesIO()
        workbook.save(data)

        result = import_registrants(data.getvalue(), 'people.xlsx')

        self.assertEqual(result.errors, [])
        self.assertEqual((result.households, result.individuals), (2, 6))
        teo, = Party.search([('given_name', '=', "Teo")])
        self.assertEqual(teo.birth_date, years_ago(10))
        self.assertIn(national_id(4), [i.code for i in teo.identifiers])

    @with_transaction()
    def test_registrar_areas(self):
        "A registrar imports into their areas only"
        pool = Pool()
        User = pool.get('res.user')
        areas = create_areas()
        registrar, = User.create([{
                    'name': "Registrar A", 'login': 'registrar_a',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [areas['TL-N-A'].id])],
                    }])
        with Transaction().set_user(registrar.id), check_access():
            result = import_registrants(to_csv(good_rows()), 'people.csv')
            self.assertEqual(result.group_ids, [])
            self.assertReports(result, 6, 'area_code', 'TL-N-B')

            result = import_registrants(
                to_csv(good_rows()), 'people.csv', skip_invalid=True)
            self.assertEqual(result.households, 1)
        self.assertEqual(
            {p.area for p in self.registrants()}, {areas['TL-N-A']})

    @with_transaction()
    def test_command_line(self):
        "The command line's exit status and report follow the result"
        create_areas()
        rows = good_rows()
        out = io.StringIO()
        for skip_invalid, status in [(False, EXIT_REJECTED),
                (True, EXIT_PARTIAL)]:
            rows[0]['gender'] = 'x'
            report = io.StringIO()
            self.assertEqual(run_import(to_csv(rows), 'p.csv', skip_invalid,
                    report, out=out), status)
            self.assertIn('2,gender,H1,', report.getvalue())
        rows[0]['gender'] = 'female'
        rows = [r for r in rows if r['household_ref'] == 'H1']
        self.assertEqual(
            run_import(to_csv(rows), 'p.csv', False, report, out=out),
            EXIT_OK)
        self.assertIn(
            "Imported households: 1 (individuals: 4)", out.getvalue())

    @with_transaction()
    def test_batches(self):
        "Records are created in batches smaller than the file"
        Party = Pool().get('party.party')
        create_areas()
        result = import_registrants(
            to_csv(good_rows()), 'people.csv', batch_size=2)
        self.assertEqual(result.errors, [])
        santos, dias = Party.browse(result.group_ids)
        self.assertEqual((santos.member_count, dias.member_count), (4, 2))


del TestCase
