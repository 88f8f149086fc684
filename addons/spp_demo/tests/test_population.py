"The bulk writer stores exactly what the ORM stores for the same households."
import statistics

import phonenumbers
from stdnum import luhn

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from trytond.modules.spp_demo.generate import prepare
from trytond.modules.spp_demo.orm import create_households
from trytond.modules.spp_demo.population import (
    PopulationGenerator, plan_areas)
from trytond.modules.spp_demo.tests.tools import snapshot, table_counts
from trytond.modules.spp_demo.writer import PopulationWriter

SAMPLE = 25


def registrant_ids():
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT id FROM party_party '
        'WHERE registrant_type IS NOT NULL')
    return [r[0] for r in cursor]


def delta(before, after):
    return {t: after[t] - before.get(t, 0) for t in after
        if after[t] != before.get(t, 0)}


class PopulationTestCase(TestCase):
    "Synthetic population"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['spp_demo'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_bulk_rows_match_orm_rows(self):
        "Households written in bulk are field by field those of the ORM"
        cursor = Transaction().connection.cursor()
        generator, refs = prepare(seed=11)
        households = list(generator.households(SAMPLE))
        before = table_counts()

        cursor.execute('SAVEPOINT spp_demo_bulk')
        writer = PopulationWriter(refs, generator)
        writer.write(households)
        bulk = snapshot(registrant_ids())
        bulk_counts = delta(before, table_counts())
        cursor.execute('ROLLBACK TO SAVEPOINT spp_demo_bulk')
        Pool().get('party.party')._invalidate_cache()

        # The documents were numbered by the writer; the ORM reuses them.
        create_households(households, refs)
        orm = snapshot(registrant_ids())
        orm_counts = delta(before, table_counts())

        self.assertEqual(bulk_counts, orm_counts)
        self.assertEqual(bulk.keys(), orm.keys())
        for table in orm:
            self.assertEqual(len(bulk[table]), len(orm[table]), table)
            for bulk_row, orm_row in zip(bulk[table], orm[table]):
                self.assertEqual(bulk_row, orm_row, table)

    @with_transaction()
    def test_recompute_changes_no_indicator(self):
        "Stored indicators are those recompute_indicators computes"
        Party = Pool().get('party.party')
        generator, refs = prepare(seed=5)
        PopulationWriter(refs, generator).write(generator.households(60))
        stored = snapshot(registrant_ids())['party_party']
        Party.recompute_indicators()
        self.assertEqual(snapshot(registrant_ids())['party_party'], stored)

    @with_transaction()
    def test_documents_and_phones_valid(self):
        "National IDs pass Luhn and are unique; phones are valid mobiles"
        generator, refs = prepare(seed=3)
        PopulationWriter(refs, generator).write(generator.households(80))
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT type, code FROM party_identifier')
        documents = cursor.fetchall()
        self.assertEqual(len({c for _, c in documents}), len(documents))
        national = [c for t, c in documents if t == 'national_id']
        self.assertTrue(national)
        for code in national:
            self.assertRegex(code, r'^\d{10}$')
            self.assertTrue(luhn.is_valid(code), code)
        cursor.execute('SELECT value, value_compact FROM '
            'party_contact_mechanism')
        phones = cursor.fetchall()
        self.assertTrue(phones)
        for value, compact in phones:
            number = phonenumbers.parse(value)
            self.assertTrue(phonenumbers.is_valid_number(number), value)
            self.assertEqual(phonenumbers.region_code_for_number(number),
                'PH')
            self.assertEqual(phonenumbers.number_type(number),
                phonenumbers.PhoneNumberType.MOBILE)
            self.assertEqual(phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.E164), compact)

    @with_transaction()
    def test_demo_loads_once(self):
        "The demo data loads once; a second call adds nothing"
        from trytond.modules.spp_demo.demo import NAMED, load_demo
        Party = Pool().get('party.party')
        self.assertTrue(load_demo(households=40, seed=7))
        counts = table_counts()
        groups = Party.search([('registrant_type', '=', 'group')])
        self.assertEqual(len(groups), 40 + len(NAMED))
        dela_cruz, = Party.search([('name', '=', NAMED[0][0])])
        self.assertEqual(dela_cruz.member_count, 5)
        self.assertEqual(dela_cruz.child_count, 3)
        self.assertEqual(dela_cruz.disabled_member_count, 1)
        # The connected registries, and two notified life events waiting
        # for a caseworker.
        events = Pool().get('spp.dci.life.event').search([])
        self.assertEqual(sorted((e.event_type, e.state) for e in events),
            [('death', 'review'), ('live_birth', 'review')])
        self.assertEqual(len(Pool().get('spp.dci.registry').search([])), 3)
        self.assertFalse(load_demo(households=40, seed=7))
        self.assertEqual(table_counts(), counts)

    @with_transaction()
    def test_bulk_mode_restores_indexes(self):
        "Bulk mode leaves the same indexes and constraints, validated"
        from trytond import backend
        from trytond.modules.spp_demo.generate import (
            TABLES, generate_population)
        if backend.name != 'postgresql':
            self.skipTest("bulk mode is for PostgreSQL")
        cursor = Transaction().connection.cursor()

        def schema():
            cursor.execute('SELECT indexdef FROM pg_indexes '
                'WHERE tablename = ANY(%s) ORDER BY 1', (TABLES,))
            indexes = cursor.fetchall()
            cursor.execute('SELECT conname, pg_get_constraintdef(oid), '
                'convalidated FROM pg_constraint '
                'WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1',
                ([f'"{t}"' if '-' in t else t for t in TABLES],))
            return indexes, cursor.fetchall()
        before = schema()
        figures = generate_population(30, seed=2, bulk=True)
        self.assertTrue(figures['bulk'])
        self.assertEqual(schema(), before)
        self.assertGreater(figures['indexes_rebuilt'], 10)

    def test_deterministic(self):
        "A seed gives the same households, whatever the batches"
        plan = plan_areas(9, regions=3)
        one = PopulationGenerator(9, plan)
        two = PopulationGenerator(9, plan)
        whole = list(one.households(40))
        parts = list(two.households(25)) + list(two.households(15, start=25))
        self.assertEqual(whole, parts)
        other = list(PopulationGenerator(10, plan).households(40))
        self.assertNotEqual(whole, other)

    def test_distributions(self):
        "Sizes, female heads, disability and areas look like a population"
        plan = plan_areas(1)
        generator = PopulationGenerator(1, plan)
        households = list(generator.households(4000))
        sizes = [len(h.members) for h in households]
        self.assertEqual((min(sizes), max(sizes)), (1, 12))
        self.assertTrue(4.2 <= statistics.mean(sizes) <= 4.9)
        female_heads = sum(h.head.gender == 'female' for h in households)
        self.assertTrue(0.26 <= female_heads / len(households) <= 0.34)
        people = [p for h in households for p in h.members]
        disabled = sum(p.disability for p in people) / len(people)
        self.assertTrue(0.10 <= disabled <= 0.15, disabled)
        ages = [generator.today.year - p.birth_date.year for p in people]
        young = sum(a < 15 for a in ages) / len(ages)
        old = sum(a >= 65 for a in ages) / len(ages)
        self.assertTrue(young > 0.25 and old < 0.10, (young, old))
        kinds = {a.kind for a in plan}
        self.assertEqual(kinds, {'country', 'region', 'district', 'locality'})
        per_area = sorted(
            [sum(h.area == a.code for h in households)
                for a in plan if a.kind == 'locality'], reverse=True)
        # Uneven: the busiest tenth of localities holds far more than a tenth.
        top = per_area[:len(per_area) // 10]
        self.assertGreater(sum(top), 0.3 * len(households))


del TestCase
