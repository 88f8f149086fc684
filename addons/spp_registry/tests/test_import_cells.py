"""Cells the registry import cannot store (NUL characters, cells over
csv's limit) are row errors, and the error report neutralises formulas."""
import csv
import io

from trytond.modules.spp_registry.registry_import import (
    error_report, import_registrants)
from trytond.modules.spp_registry.spreadsheet import MAX_CELL
from trytond.modules.spp_registry.registry_import_read import read_table
from trytond.modules.spp_registry.tests.test_import import (
    good_rows, to_csv)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction


def report(result):
    return list(csv.DictReader(io.StringIO(error_report(result.errors))))


class RegistryImportCellsTestCase(ActivatedModuleTestCase):
    "Test the cells of the registry import"

    module = 'spp_registry'

    def registrants(self):
        Party = Pool().get('party.party')
        return Party.search([('registrant_type', '!=', None)])

    def reasons(self, result, row, column):
        return [r['reason'] for r in report(result)
            if r['row'] == str(row) and r['column'] == column]

    @with_transaction()
    def test_nul_is_a_row_error(self):
        "A NUL character is an error of its row and column; nothing written"
        create_areas()
        rows = good_rows()
        rows[1]['given_name'] = "R\x00ui"
        rows[5]['id_national_id'] = rows[5]['id_national_id'] + '\x00'

        result = import_registrants(to_csv(rows), 'people.csv')

        self.assertEqual(result.group_ids, [])
        self.assertEqual(self.registrants(), [])
        self.assertEqual(self.reasons(result, 3, 'given_name'),
            ["The value contains a NUL character (\\x00), which a field "
                "may not hold."])
        self.assertIn("NUL character",
            self.reasons(result, 7, 'id_national_id')[0])
        # No message carries the NUL on (to the report, the client).
        self.assertFalse([e for e in result.errors
                if '\x00' in ''.join(map(str, e))])

    @with_transaction()
    def test_nul_skips_its_household(self):
        "With skip_invalid, the household of a NUL row is skipped whole"
        create_areas()
        rows = good_rows()
        rows[4]['household_name'] = "Dias\x00"

        result = import_registrants(
            to_csv(rows), 'people.csv', skip_invalid=True)

        self.assertEqual((result.households, result.individuals), (1, 4))
        self.assertTrue(self.reasons(result, 6, 'household_name'))
        self.assertIn("household H2 is skipped",
            self.reasons(result, 7, '')[0])
        self.assertEqual(len(self.registrants()), 5)
        Party = Pool().get('party.party')
        self.assertFalse(Party.search([('name', 'like', '%Dias%')]))

    @with_transaction()
    def test_nul_in_header(self):
        "A NUL character in a column name is an error of the header"
        create_areas()
        data = to_csv(good_rows()).replace(b'gender', b'gen\x00der', 1)

        result = import_registrants(data, 'people.csv')

        self.assertEqual(self.registrants(), [])
        self.assertTrue([r for r in self.reasons(result, 1, 'gender')
                if "NUL character" in r], report(result))

    @with_transaction()
    def test_cell_over_csv_limit(self):
        """A cell over 131,072 characters is a row error; the rows after it
        are read as usual"""
        create_areas()
        rows = good_rows()
        # Quoted over two lines: the rows after it must still be found.
        rows[4]['household_name'] = 'x' * MAX_CELL + '\ny'

        result = import_registrants(
            to_csv(rows), 'people.csv', skip_invalid=True)

        self.assertIn(f"{MAX_CELL + 2} characters, more than the "
            f"{MAX_CELL}", self.reasons(result, 6, 'household_name')[0])
        self.assertEqual((result.households, result.individuals), (1, 4))
        self.assertIn("household H2 is skipped",
            self.reasons(result, 7, '')[0])
        self.assertEqual(len(self.registrants()), 5)

    @with_transaction()
    def test_cell_at_csv_limit(self):
        "A cell of exactly 131,072 characters is read"
        rows = good_rows()
        rows[4]['household_name'] = 'x' * MAX_CELL

        _, read = read_table(to_csv(rows), 'people.csv')

        self.assertEqual(read[4][1]['household_name'], 'x' * MAX_CELL)

    @with_transaction()
    def test_report_neutralises_formulas(self):
        "Cells of the error report that a spreadsheet would run are quoted"
        create_areas()
        rows = good_rows()
        formula = '=HYPERLINK("http://x.test","a")'
        rows[0]['household_ref'] = rows[1]['household_ref'] = formula
        rows[1]['gender'] = '@SUM(1+1)'
        rows[3]['household_ref'] = '-2+3'

        text = error_report(
            import_registrants(to_csv(rows), 'people.csv').errors)

        lines = list(csv.DictReader(io.StringIO(text)))
        self.assertIn("'" + formula, [r['household_ref'] for r in lines])
        self.assertIn("'-2+3", [r['household_ref'] for r in lines])
        cells = [c for r in lines for c in r.values()]
        self.assertFalse([c for c in cells if c[:1] in '=+-@\t\r'], cells)
