"""The audit log on PostgreSQL: the application's own connection cannot
UPDATE, DELETE or TRUNCATE entries (a trigger refuses), and two transactions
committing at once keep one unbroken chain.

Run with TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/;
skipped on SQLite."""
import threading

import pytest

from .server import is_postgresql, pool_database

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (triggers, advisory locks)")


def add_person(name):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.create([{'registrant_type': 'individual', 'name': name}])


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    with pool_database(tmp_path_factory.mktemp('spp-audit'), 'audit',
            ['spp_audit'], populate=lambda: add_person("Trigger, Test")
            ) as database:
        yield database


@pytest.mark.parametrize('statement', [
        "UPDATE spp_audit_log SET action = 'access'",
        "DELETE FROM spp_audit_log",
        "TRUNCATE spp_audit_log",
        ])
def test_trigger_refuses_rewrites(database, statement):
    import psycopg
    from trytond.transaction import Transaction
    with Transaction().start(database.name, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute('SELECT count(*) FROM spp_audit_log')
        assert cursor.fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                match='append-only'):
            cursor.execute(statement)
        transaction.rollback()


def test_concurrent_commits_keep_one_chain(database):
    """Transactions committing together chain one after the other: writes
    in their own transaction, the reads of read-only transactions in a
    short one of their own"""
    from trytond.modules.spp_audit import chain
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    errors = []

    def write(index):
        for n in range(5):
            with Transaction().start(database.name, 0) as transaction:
                add_person(f"Concurrent {index}-{n}")
                transaction.commit()

    def read(index):
        for n in range(5):
            with Transaction().start(database.name, 0,
                    readonly=True) as transaction:
                Log = Pool(database.name).get('spp.audit.log')
                Party = Pool(database.name).get('party.party')
                parties = Party.search([], limit=3)
                Log.record_access('party.party', [p.id for p in parties],
                    query=[f'reader {index}-{n}'])
                transaction.commit()

    def work(index):
        try:
            (read if index % 2 else write)(index)
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with Transaction().start(database.name, 0, readonly=True) as transaction:
        Log = Pool(database.name).get('spp.audit.log')
        count = chain.verify(Log.rows(transaction.connection.cursor()))
        reads = Log.search([('action', '=', 'access'),
                ('query', 'like', '%reader %')], count=True)
    assert count >= 31
    assert reads == 15
