"""spp_reporting with the registry alone: its dashboard, trend, snapshot
and SQL views work, and the reports of absent addons are absent."""
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, create_household, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import rows


class AloneTestCase(ActivatedModuleTestCase):
    "Reporting on a registry alone"
    module = 'spp_reporting'

    @with_transaction()
    def test_registry_only(self):
        "Registry reports, snapshot and trend; no program report"
        pool = Pool()
        Snapshot = pool.get('spp.report.snapshot')
        areas = create_areas()
        create_household("Solo", [{'family_name': "Solo",
                    'birth_date': years_ago(70), 'roles': ['head']}],
            area=areas['TL-N-A'])
        row, = rows('spp.report.registry.area')
        self.assertEqual((row['households'], row['individuals']), (1, 1))
        quality, = rows('spp.report.registry.quality')
        self.assertIsNone(quality['with_verified_id'])  # no ID verification
        self.assertEqual(quality['exact_birth_date'], 1)
        ages = rows('spp.report.registry.age')
        self.assertEqual([(r['age_band'], r['individuals']) for r in ages],
            [('60+', 1)])
        month, count = Snapshot.take()
        self.assertEqual(count, 2)  # households and individuals of A
        trend, = rows('spp.report.trend.registry')
        self.assertEqual((trend['households'], trend['individuals']), (1, 1))
        for name in ['spp.report.program.coverage', 'spp.report.cycle.area',
                'spp.program.target']:
            with self.assertRaises(KeyError):
                pool.get(name)
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT SUM(individuals) FROM spp_report_individual')
        self.assertEqual(cursor.fetchone()[0], 1)
