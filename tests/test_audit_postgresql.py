"""The audit log on PostgreSQL: the application's own connection cannot
UPDATE (but to seal), DELETE or TRUNCATE entries (a trigger refuses), and
transactions committing at once keep one unbroken chain.

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
        # Sealed entries cannot be unsealed to be sealed again.
        "UPDATE spp_audit_log SET position = NULL, hash = NULL",
        "UPDATE spp_audit_log SET hash = md5(hash)",
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
        Log.seal_committed()
        count = chain.verify(Log.rows(transaction.connection.cursor()))
        reads = Log.search([('action', '=', 'access'),
                ('query', 'like', '%reader %')], count=True)
    assert count >= 31
    assert reads == 15


def insert_unsealed(cursor):
    "An access entry as a transaction inserts it; its id."
    cursor.execute("INSERT INTO spp_audit_log (timestamp, action, "
        "model, create_uid, create_date) VALUES (now(), 'access', "
        "'party.party', 0, now()) RETURNING id")
    return cursor.fetchone()[0]


def test_sealing_cannot_change_an_entry(database):
    "An unsealed entry gets its position and hash, and nothing else"
    import psycopg
    from trytond.transaction import Transaction
    with Transaction().start(database.name, 0) as transaction:
        cursor = transaction.connection.cursor()
        entry = insert_unsealed(cursor)
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                match='append-only'):
            cursor.execute("UPDATE spp_audit_log SET position = -1, "
                "hash = 'x', action = 'write' WHERE id = %s", (entry,))
        transaction.rollback()
    with Transaction().start(database.name, 0) as transaction:
        cursor = transaction.connection.cursor()
        entry = insert_unsealed(cursor)
        cursor.execute("UPDATE spp_audit_log SET position = -1, "
            "hash = 'x' WHERE id = %s", (entry,))
        cursor.execute("SELECT position FROM spp_audit_log WHERE id = %s",
            (entry,))
        assert cursor.fetchone() == (-1,)
        transaction.rollback()


def test_background_sealing(database):
    """A committed entry is sealed by the process's sealer shortly after,
    without anyone asking"""
    import time

    from trytond import config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    delay = config.get('spp_audit', 'seal_delay')
    config.set('spp_audit', 'seal_delay', '0.1')  # as in production
    try:
        with Transaction().start(database.name, 0) as transaction:
            add_person("Sealed, Later")
            transaction.commit()
    finally:
        config.set('spp_audit', 'seal_delay', delay)
    deadline = time.monotonic() + 10
    while True:
        with Transaction().start(database.name, 0, readonly=True):
            Log = Pool(database.name).get('spp.audit.log')
            unsealed = Log.search([('position', '=', None)], count=True)
            entry, = Log.search([('action', '=', 'create'),
                    ('model', '=', 'party.party')], order=[('id', 'DESC')],
                limit=1)
            position, hash_ = entry.position, entry.hash
        if not unsealed and position:
            break
        assert time.monotonic() < deadline, "not sealed within 10 s"
        time.sleep(0.05)
    assert len(hash_) == 64
