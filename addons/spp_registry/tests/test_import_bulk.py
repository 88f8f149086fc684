"The import's bulk path stores exactly what the ORM stores for the same file."
from trytond.modules.spp_registry import registry_import as ri
from trytond.modules.spp_registry.registry_import_bulk import (
    write_households)
from trytond.modules.spp_registry.tests.test_import import (
    good_rows, person, to_csv)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, get_ref)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, with_transaction
from trytond.tools.email_ import normalize_email
from trytond.transaction import Transaction, check_access

HEADER = ['household_ref', 'household_name', 'role', 'family_name',
    'given_name', 'additional_name', 'birth_date', 'birth_date_approximate',
    'gender', 'disability', 'phone', 'email', 'area_code', 'id_national_id',
    'id_passport']
# Table -> column holding the party id a row hangs from.
TABLES = {
    'party_party': 'id',
    'party_party__history': 'id',
    'party_party_lang': 'party',
    'party_identifier': 'party',
    'party_identifier__history': 'party',
    'party_contact_mechanism': 'party',
    'spp_group_membership': 'individual',
    'spp_group_membership__history': 'individual',
    }
# Row ids are never compared (the parties' by rank); timestamps and party
# codes (drawn from a sequence) only on whether they are set.
VOLATILE = {'id', '__id', 'membership'}
SET_OR_NOT = {'create_date', 'write_date', 'code', 'code_alnum',
    'code_digit'}
PARTY_REFERENCES = {'party', 'group', 'individual'}


def rows_file():
    """Three households exercising every column: additional names,
    approximate dates, disability, phones typed nationally and
    internationally, e-mails with capitals, several roles, two ID types,
    members without an area, names with backslashes (escaped in COPY)."""
    rows = good_rows()
    rows[0].update(additional_name="Maria", email='Ana.Santos@Example.COM',
        birth_date_approximate='yes')
    rows[1].update(role='spouse;parent', phone='+351912000111')
    rows[2].update(email='lia@example.com')
    rows.append(person('H3', 'head', "O'Neil\\Back", "Back\\Slash", 61,
            'male', 7, household_name="Household\\3", area_code='TL-N-B',
            disability='1', id_passport='X7654321'))
    rows.append(person('H3', 'child', "O'Neil", "Zoë", 1, 'female'))
    return to_csv(rows, HEADER)


def tab_rows():
    "A given name with a tab, which the ORM's validation refuses."
    rows = good_rows()
    rows[2]['given_name'] = "Tab\tby"
    return to_csv(rows, HEADER)


def registrant_ids():
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT id FROM party_party '
        'WHERE registrant_type IS NOT NULL ORDER BY id')
    return [r for r, in cursor]


def table_counts():
    "Rows of every table of the database."
    from trytond import backend
    cursor = Transaction().connection.cursor()
    if backend.name == 'sqlite':
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema()")
    counts = {}
    for table in sorted(r for r, in cursor.fetchall()):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def snapshot(party_ids):
    """{table: sorted rows} of what hangs from the parties, with party ids
    replaced by their rank (creation order)."""
    cursor = Transaction().connection.cursor()
    rank = {p: i for i, p in enumerate(sorted(party_ids))}
    ids = ','.join(map(str, rank)) or '0'
    result = {}
    for table, column in TABLES.items():
        cursor.execute(f'SELECT * FROM "{table}" WHERE "{column}" IN ({ids})')
        names = [d[0] for d in cursor.description]
        result[table] = sorted(
            (normalise(dict(zip(names, row)), rank, table)
                for row in cursor), key=repr)
    cursor.execute('SELECT m.individual, r.role, r.create_uid, '
        'r.write_uid, r.create_date IS NULL, r.write_date IS NULL '
        'FROM "spp_group_membership-role" r '
        'JOIN spp_group_membership m ON m.id = r.membership '
        f'WHERE m.individual IN ({ids})')
    result['spp_group_membership-role'] = sorted(
        (rank[i], *rest) for i, *rest in cursor)
    return result


def normalise(values, rank, table):
    row = {}
    for name, value in values.items():
        if name in SET_OR_NOT and not (
                name == 'code' and table.startswith('party_identifier')):
            row[name] = value is not None
        elif name == 'id' and table.startswith('party_party') and (
                table != 'party_party_lang'):
            row[name] = rank[value]
        elif name in VOLATILE:
            continue
        elif name in PARTY_REFERENCES:
            row[name] = rank.get(value, value)
        elif hasattr(value, 'isoformat'):
            row[name] = value.isoformat()
        elif isinstance(value, int) and name in {
                'active', 'disability', 'birth_date_approximate',
                'female_head', 'multiple_groups', 'code_digit'}:
            row[name] = bool(value) if name != 'code_digit' else value
        else:
            row[name] = value
    return tuple(sorted(row.items()))


def delta(before, after):
    return {t: after[t] - before.get(t, 0) for t in after
        if after[t] != before.get(t, 0)}


class RegistryImportBulkTestCase(ActivatedModuleTestCase):
    "Test the bulk path of the registry import"

    module = 'spp_registry'

    def plan(self):
        header, rows = ri.read_table(rows_file(), 'people.csv')
        plan = ri.validate(header, rows)
        self.assertEqual(plan.errors, [])
        return list(plan.households.values()), plan.reference

    @with_transaction()
    def test_bulk_rows_match_orm_rows(self):
        "Households written in bulk are field by field those of the ORM"
        Party = Pool().get('party.party')
        cursor = Transaction().connection.cursor()
        create_areas()
        households, reference = self.plan()
        before = table_counts()

        cursor.execute('SAVEPOINT spp_import_bulk')
        group_ids, writer = write_households(households, reference)
        bulk = snapshot(registrant_ids())
        bulk_counts = delta(before, table_counts())
        # Through COPY on PostgreSQL, not an ORM create in disguise.
        self.assertEqual(writer.counts['party_party'], 11)
        self.assertEqual(writer.counts['party_party__history'], 22)
        cursor.execute('ROLLBACK TO SAVEPOINT spp_import_bulk')
        Party._invalidate_cache()

        orm_group_ids = ri.create_households_orm(households, reference)
        orm = snapshot(registrant_ids())
        orm_counts = delta(before, table_counts())

        self.assertEqual(len(group_ids), len(orm_group_ids))
        self.assertEqual(bulk_counts, orm_counts)
        self.assertEqual(bulk.keys(), orm.keys())
        for table in orm:
            self.assertTrue(orm[table], table)
            self.assertEqual(len(bulk[table]), len(orm[table]), table)
            for bulk_row, orm_row in zip(bulk[table], orm[table]):
                self.assertEqual(bulk_row, orm_row, table)

    @with_transaction()
    def test_bulk_records_read_back(self):
        "Records written in bulk read back through the ORM, indicators set"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        areas = create_areas()
        result = ri.import_registrants(rows_file(), 'people.csv')
        self.assertEqual(result.errors, [])
        santos, dias, oneil = Party.browse(result.group_ids)
        self.assertEqual(
            (santos.member_count, santos.child_count, santos.female_head,
                santos.area),
            (4, 2, True, areas['TL-N-A']))
        self.assertEqual((oneil.name, oneil.member_count,
                oneil.disabled_member_count, oneil.elderly_count),
            ("Household\\3", 2, 1, 1))
        head = oneil.memberships[0].individual
        self.assertEqual((head.family_name, head.given_name),
            ("O'Neil\\Back", "Back\\Slash"))
        ana, = Party.search([('given_name', '=', "Ana")])
        self.assertEqual(sorted(c.value for c in ana.contact_mechanisms),
            ['+351 912 345 678', normalize_email('Ana.Santos@Example.COM')])
        self.assertEqual(ana.name, "Santos, Ana Maria")
        self.assertTrue(ana.code)
        # The database still refuses a number held twice.
        with self.assertRaises(Exception):
            Identifier.create([{'party': ana.id, 'type': 'national_id',
                        'code': ana.identifiers[0].code}])

    @with_transaction()
    def test_forbidden_chars(self):
        "Characters the ORM refuses are refused by the import too"
        create_areas()
        result = ri.import_registrants(tab_rows(), 'people.csv')
        self.assertEqual(result.group_ids, [])
        self.assertEqual([(e.row, e.column) for e in result.errors],
            [(4, 'given_name')])

    @with_transaction()
    def test_bad_row_writes_nothing(self):
        "A bad row in a large file: no table changes at all"
        create_areas()
        rows = [person(f'H{n // 3}', 'head' if n % 3 == 0 else 'child',
                f"Family{n // 3}", f"Person{n}", 30 if n % 3 == 0 else 5,
                'female', 100 + n, area_code='TL-N-A') for n in range(300)]
        rows[250]['id_national_id'] = rows[10]['id_national_id']
        before = table_counts()

        result = ri.import_registrants(to_csv(rows, HEADER), 'big.csv')

        self.assertEqual(result.group_ids, [])
        self.assertEqual([(e.row, e.column) for e in result.errors],
            [(252, 'id_national_id')])
        self.assertEqual(table_counts(), before)

    @with_transaction()
    def test_registrar_rules_apply(self):
        "Bulk writes obey access rights and the registrars' area rule"
        pool = Pool()
        User = pool.get('res.user')
        areas = create_areas()
        viewer, = User.create([{
                    'name': "Viewer A", 'login': 'viewer_a',
                    'groups': [('add', [get_ref(
                                'spp_registry', 'group_registry_viewer')])],
                    'spp_areas': [('add', [areas['TL-N-A'].id])],
                    }])
        households, reference = self.plan()
        before = table_counts()
        with Transaction().set_user(viewer.id), check_access():
            with self.assertRaises(AccessError):
                write_households(households[:1], reference)
        self.assertEqual(table_counts(), before)

        # A registrar of district A may create, but only in district A:
        # the record rule refuses the household of district B.
        registrar, = User.create([{
                    'name': "Registrar A", 'login': 'registrar_a',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [areas['TL-N-A'].id])],
                    }])
        dias = households[1]
        self.assertEqual(dias.area, areas['TL-N-B'].id)
        with Transaction().set_user(registrar.id), check_access():
            write_households(households[:1], reference)
            self.assertEqual(
                delta(before, table_counts())['party_party'], 5)
            # Refused after its INSERTs, as the ORM's create refuses: the
            # caller's transaction rolls back.
            with self.assertRaises(AccessError):
                write_households([dias], reference)


del TestCase
