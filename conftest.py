"""Project-wide pytest setup.

Collects every addon's ``tests/scenario_*.rst`` as a doctest scenario run
with trytond's own setup and checker (the way ``load_doc_tests`` runs them
under unittest), so one ``pytest`` command runs module tests, scenarios and
the project's ``tests/``.
"""
import doctest
import os
import unittest

import pytest

# Audit entries sealed before each call returns, in this process and the
# servers it starts: tests read positions at once, and no sealer thread
# holds a connection to a database a test drops (test_audit_postgresql.py
# tests the background sealing).
os.environ.setdefault('TRYTOND_SPP_AUDIT__SEAL_DELAY', '0')

# An in-memory SQLite database is one connection. trytond re-reads its
# cache table at the first transaction started [cache] clean_timeout
# seconds (300) after the last time, through a connection it asks in
# autocommit mode: that one, switched to autocommit for the rest of the
# transaction. The test that started then had its writes committed, not
# rolled back, and the next tests of its class found them ("UNIQUE
# constraint failed", once in a while). This process is the only user of
# its in-memory database: there is nothing to re-read.
if os.environ.get('DB_NAME', ':memory:') == ':memory:':
    import trytond.config as _config
    _config.set('cache', 'clean_timeout', str(10 ** 9))

# One database per xdist worker when tests run against PostgreSQL.
_worker = os.environ.get('PYTEST_XDIST_WORKER')
if _worker and os.environ.get('DB_NAME', ':memory:') != ':memory:':
    os.environ['DB_NAME'] = f"{os.environ['DB_NAME']}_{_worker}"


def pytest_collect_file(parent, file_path):
    if (file_path.suffix == '.rst'
            and file_path.name.startswith('scenario_')
            and file_path.parent.name == 'tests'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.name)


class ScenarioFailure(Exception):
    pass


def scenario_setup(test):
    """trytond's doctest setup, on PostgreSQL after dropping the worker's
    database if an earlier test left it: a scenario restores its cached
    database by creating DB_NAME without dropping it first, and trytond's
    own drop_db only sees the databases of its cached, filtered list."""
    from trytond import backend
    from trytond.tests.test_tryton import DB_NAME, doctest_setup, drop_db
    from trytond.transaction import Transaction
    if backend.name == 'postgresql':
        backend.Database.clear_cache()
        drop_db()
        with Transaction().start(
                None, 0, close=True, autocommit=True) as transaction:
            transaction.connection.cursor().execute(
                f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    doctest_setup(test)


class ScenarioItem(pytest.Item):
    def runtest(self):
        from trytond.backend import name as backend_name
        from trytond.tests.test_tryton import (
            STRIP_DECIMAL, doctest_checker, doctest_teardown)
        optionflags = (
            doctest.REPORT_ONLY_FIRST_FAILURE
            | doctest.ELLIPSIS
            | doctest.IGNORE_EXCEPTION_DETAIL)
        if backend_name == 'sqlite':
            optionflags |= STRIP_DECIMAL
        suite = doctest.DocFileSuite(
            str(self.path), module_relative=False,
            setUp=scenario_setup, tearDown=doctest_teardown,
            encoding='utf-8', checker=doctest_checker,
            optionflags=optionflags)
        result = unittest.TestResult()
        suite.run(result)
        problems = result.failures + result.errors
        if problems:
            raise ScenarioFailure('\n'.join(text for _, text in problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.name}"
