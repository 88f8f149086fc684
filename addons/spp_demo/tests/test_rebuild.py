"The index rebuild on several connections (PostgreSQL): same schema, re-run."
from unittest.mock import patch

from trytond import backend
from trytond.tests.test_tryton import (
    TestCase, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from trytond.modules.spp_demo import rebuild
from trytond.modules.spp_demo.generate import TABLES, generate_population


def schema():
    "Index and constraint definitions of the generated tables, and validity."
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT indexdef FROM pg_indexes '
        'WHERE tablename = ANY(%s) ORDER BY 1', (TABLES,))
    indexes = cursor.fetchall()
    cursor.execute('SELECT conname, pg_get_constraintdef(oid), convalidated '
        'FROM pg_constraint WHERE conrelid = ANY(SELECT oid FROM pg_class '
        'WHERE relname = ANY(%s)) ORDER BY 1', (TABLES,))
    return indexes, cursor.fetchall()


def invalid_indexes():
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT count(*) FROM pg_index x JOIN pg_class c '
        'ON c.oid = x.indrelid WHERE c.relname = ANY(%s) '
        'AND NOT (x.indisvalid AND x.indisready AND x.indislive)', (TABLES,))
    return cursor.fetchone()[0]


def households():
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT count(*) FROM party_party "
        "WHERE registrant_type = 'group'")
    return cursor.fetchone()[0]


def plan_left():
    return rebuild.pending(Transaction().connection.cursor())


class RebuildTestCase(TestCase):
    "Parallel index rebuild"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if backend.name != 'postgresql':
            return
        # These tests commit (the rebuild needs the rows committed): a
        # database of their own, dropped afterwards.
        drop_db()
        activate_module(['spp_demo'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if backend.name == 'postgresql':
            drop_db()

    def setUp(self):
        super().setUp()
        if backend.name != 'postgresql':
            self.skipTest("the rebuild is for PostgreSQL")

    @with_transaction()
    def test_parallel_rebuild_restores_schema(self):
        "Rebuilt on 2 connections: the same indexes and constraints, valid"
        before, count = schema(), households()
        figures = generate_population(30, seed=3, bulk=True, jobs=2)
        self.assertEqual(figures['rebuild_jobs'], 2)
        self.assertEqual(schema(), before)
        self.assertEqual(invalid_indexes(), 0)
        self.assertFalse(plan_left())
        self.assertEqual(households(), count + 30)
        self.assertGreater(figures['indexes_rebuilt'], 10)
        self.assertGreater(figures['constraints_revalidated'], 5)

    @with_transaction()
    def test_failed_load_leaves_database_as_it_was(self):
        "A load that fails before its commit rolls back, indexes included"
        transaction = Transaction()
        before, count = schema(), households()
        with patch('trytond.modules.spp_demo.generate.PopulationWriter.'
                'write', side_effect=RuntimeError("stopped")):
            with self.assertRaises(RuntimeError):
                generate_population(30, seed=4, bulk=True, jobs=2)
        transaction.rollback()
        self.assertEqual(schema(), before)
        self.assertEqual(households(), count)
        self.assertFalse(plan_left())

    @with_transaction()
    def test_failed_rebuild_finished_by_next_run(self):
        "A rebuild stopped midway is finished by the next generation"
        before, count = schema(), households()
        execute = rebuild._execute
        calls = []

        def failing(cursor, step, *args):
            calls.append(step)
            if len(calls) == 6:
                raise RuntimeError("stopped")
            return execute(cursor, step, *args)
        with patch.object(rebuild, '_execute', failing):
            with self.assertRaises(RuntimeError):
                generate_population(30, seed=5, bulk=True, jobs=2)
        # The rows are committed, the plan too; some indexes are missing.
        self.assertEqual(households(), count + 30)
        self.assertTrue(plan_left())
        self.assertNotEqual(schema(), before)
        figures = generate_population(0, jobs=2)
        self.assertIn('finished_earlier_rebuild', figures)
        self.assertEqual(schema(), before)
        self.assertEqual(invalid_indexes(), 0)
        self.assertFalse(plan_left())
        self.assertEqual(households(), count + 30)


del TestCase
