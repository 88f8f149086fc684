"""The set-based SQL toolkit (spp_registry/bulk) on the test backend.

The per-statement foreign key checks of insert_select need PostgreSQL:
tests/test_bulk_insert_postgresql.py and tests/test_payment_postgresql.py
run them against the program, cycle, entitlement and payment tables."""
from decimal import Decimal

from sql import Table

from trytond.model import Index
from trytond.modules.spp_registry.bulk import (
    analyze_table, batch_size, insert_select, invalidate_cache, number,
    registrant_ranges, typed, without_index_on)
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction


class BulkTestCase(ActivatedModuleTestCase):
    "Test the set-based SQL toolkit"

    module = 'spp_registry'

    @with_transaction()
    def test_invalidate_cache(self):
        "Values changed in SQL are read again once the cache is forgotten"
        Party = Pool().get('party.party')
        party, = Party.create([{'name': "Before"}])
        table = Party.__table__()
        cursor = Transaction().connection.cursor()
        for model in [Party, 'party.party']:
            self.assertEqual(Party(party.id).name, "Before")
            cursor.execute(*table.update([table.name], ["After"],
                    where=table.id == party.id))
            self.assertEqual(Party(party.id).name, "Before")  # cached
            invalidate_cache(model)
            self.assertEqual(Party(party.id).name, "After")
            cursor.execute(*table.update([table.name], ["Before"],
                    where=table.id == party.id))
            invalidate_cache(model)

    @with_transaction()
    def test_registrant_ranges(self):
        "The batches cover every party id, batch_size() ids each"
        Party = Pool().get('party.party')
        self.assertEqual(registrant_ranges(), [])
        parties = Party.create([{'name': f"P{i}"} for i in range(7)])
        ids = sorted(p.id for p in parties)
        self.assertEqual(batch_size(), 500000)
        with Transaction().set_context(spp_programs_batch_size=3):
            self.assertEqual(batch_size(), 3)
            ranges = registrant_ranges()
        self.assertEqual(ranges[0][0], ids[0])
        self.assertTrue(all(high - low == 3 for low, high in ranges))
        self.assertTrue(all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])))
        self.assertEqual(len(ranges), 3)
        self.assertGreater(ranges[-1][1], ids[-1])
        with Transaction().set_context(spp_programs_batch_size=0):
            self.assertEqual(batch_size(), 1)

    @with_transaction()
    def test_insert_select_typed(self):
        "An INSERT ... SELECT of typed literals inserts and counts its rows"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        parties = Party.create([{'name': f"Typed {i}"} for i in range(3)])
        party = Party.__table__()
        identifier = Identifier.__table__()
        count = insert_select(Identifier, identifier.insert(
                [identifier.party, identifier.type, identifier.code,
                    identifier.code_compact],
                party.select(party.id, typed(Identifier, 'type', None),
                    typed(Identifier, 'code', 'X'),
                    typed(Identifier, 'code_compact', 'X'),
                    where=party.id.in_([p.id for p in parties]))))
        self.assertEqual(count, 3)
        analyze_table(Identifier)  # the statistics, where there are any
        cursor = Transaction().connection.cursor()
        cursor.execute(*identifier.select(identifier.party,
                where=identifier.code == 'X', order_by=[identifier.party]))
        self.assertEqual([party for party, in cursor],
            sorted(p.id for p in parties))

    @with_transaction()
    def test_number(self):
        "A decimal literal comes back as the same number"
        cursor = Transaction().connection.cursor()
        Party = Pool().get('party.party')
        Party.create([{'name': "Row"}])
        cursor.execute(*Party.__table__().select(number('12.3400'),
                limit=1))
        value, = cursor.fetchone()
        self.assertEqual(Decimal(str(value)), Decimal('12.34'))

    def test_without_index_on(self):
        "Single-column indexes on the columns go; the others stay"
        table = Table('t')
        state = Index(table, (table.state, Index.Equality()))
        partial = Index(table, (table.state, Index.Equality()),
            where=table.state == 'draft')
        pair = Index(table, (table.state, Index.Equality()),
            (table.program, Index.Equality()))
        other = Index(table, (table.program, Index.Equality()))
        self.assertEqual(
            without_index_on({state, partial, pair, other}, 'state'),
            {partial, pair, other})
