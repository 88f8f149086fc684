"""A test's writes are rolled back, also when its transaction is the one
at which trytond re-reads its cache table (every [cache] clean_timeout
seconds): on the in-memory SQLite database that re-read once switched the
only connection to autocommit, and the test's writes stayed for the next
tests (see conftest.py)."""
import datetime as dt

from trytond.cache import Cache
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .tools import ActivatedModuleTestCase


class RollbackTestCase(ActivatedModuleTestCase):
    "Rollback of a test transaction"
    module = 'spp_registry'

    def test_rolled_back_when_cache_due_for_clean(self):
        "Writes of a transaction started when the cache was due are undone"
        # As if the last re-read were long ago: the next start re-reads.
        Cache._clean_last = dt.datetime.now() - dt.timedelta(days=30)
        with Transaction().start(DB_NAME, 1) as transaction:
            Area = Pool().get('spp.area')
            Area.create([{'name': "Rolled back", 'code': 'RB'}])
            transaction.rollback()
        with Transaction().start(DB_NAME, 1):
            Area = Pool().get('spp.area')
            self.assertEqual(Area.search([('code', '=', 'RB')]), [])
