"""Bulk inserts with foreign keys checked per statement, on a real
PostgreSQL server (addons/spp_registry/bulk/references.py): no lock written
into the referenced rows, a missing reference refused, and a registrant
deleted while its import is uncommitted (or just before it) never leaves
a membership without its registrant.

Run with TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/;
skipped on SQLite."""
import threading
import time

import pytest

from .server import is_postgresql, pool_database, unique_name
from .test_programs_postgresql import new_program

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (foreign keys, row locks)")


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    with pool_database(tmp_path_factory.mktemp('spp-bulk'), 'bulk',
            ['spp_programs'], populate) as database:
        yield database


def populate():
    "Six households with a child."
    from trytond.modules.spp_registry.tests.tools import (
        create_household, years_ago)
    for i in range(6):
        create_household(f"Household {i}", [
                {'family_name': f"Head {i}", 'birth_date': years_ago(30),
                    'roles': ['head']},
                {'family_name': f"Child {i}", 'birth_date': years_ago(3),
                    'roles': ['child']}])


def connect(database):
    "A psycopg connection of its own, repeatable read as trytond's."
    import psycopg
    connection = psycopg.connect(database.conninfo)
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return connection


def lone_registrant(name):
    "An individual nothing else refers to: deleting it is allowed."
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    party, = Party.create([{'family_name': name,
                'registrant_type': 'individual'}])
    return party.id


def program_and_registrant(database, code, name):
    "A new program and a lone registrant, committed: (program, party) ids."
    from trytond.transaction import Transaction
    with Transaction().start(database.name, 0) as transaction:
        ids = (new_program(code, import_eligible=False),
            lone_registrant(name))
        transaction.commit()
    return ids


def insert_member(program_id, party_id):
    "Add the registrant to the program by a bulk INSERT ... SELECT."
    from trytond.modules.spp_registry.bulk import insert_select, typed
    from trytond.pool import Pool
    pool = Pool()
    Membership = pool.get('spp.program.membership')
    membership = Membership.__table__()
    party = pool.get('party.party').__table__()
    return insert_select(Membership, membership.insert(
            [membership.program, membership.registrant, membership.state,
                membership.forced, membership.not_duplicate],
            party.select(typed(Membership, 'program', program_id), party.id,
                typed(Membership, 'state', 'draft'),
                typed(Membership, 'forced', False),
                typed(Membership, 'not_duplicate', False),
                where=party.id == party_id)))


def locked_registrants(program_id):
    """How many registrants of the program this transaction has locked
    (their xmax is its id): the mark a per-row foreign key check leaves."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT count(*) FROM party_party p '
        'JOIN spp_program_membership m ON m.registrant = p.id '
        'WHERE m.program = %s AND p.xmax = pg_current_xact_id()::xid',
        (program_id,))
    return cursor.fetchone()[0]


def test_import_locks_no_registrant(database, monkeypatch):
    "Import eligible checks its keys per statement, the fallback per row"
    from trytond.modules.spp_registry.bulk import references
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Program = Pool(database.name).get('spp.program')
    with Transaction().start(database.name, 0) as transaction:
        program_id = new_program('FAST', import_eligible=False)
        transaction.commit()
    with Transaction().start(database.name, 0) as transaction:
        Program.import_eligible([Program(program_id)])
        assert len(Program(program_id).memberships) == 6
        assert locked_registrants(program_id) == 0
        transaction.rollback()

    # Without the right to set session_replication_role: PostgreSQL's
    # own per-row checks, which lock every registrant.
    monkeypatch.setattr(references, 'may_skip_row_checks', lambda c: False)
    with Transaction().start(database.name, 0) as transaction:
        Program.import_eligible([Program(program_id)])
        assert len(Program(program_id).memberships) == 6
        assert locked_registrants(program_id) == 6
        transaction.rollback()


def test_role_without_privilege(database):
    "A role without SET on session_replication_role keeps the row checks"
    from trytond.modules.spp_registry.bulk import may_skip_row_checks
    from trytond.transaction import Transaction
    role = unique_name('plain')
    with Transaction().start(database.name, 0) as transaction:
        cursor = transaction.connection.cursor()
        assert may_skip_row_checks(cursor)  # the tests' superuser
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        assert not may_skip_row_checks(cursor)
        cursor.execute('RESET ROLE')
        cursor.execute(f'GRANT SET ON PARAMETER session_replication_role '
            f'TO "{role}"')
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        assert may_skip_row_checks(cursor)
        transaction.rollback()  # the role and its grant with it


def test_missing_reference_refused(database):
    "The statement check refuses a registrant or program that is not there"
    from trytond import backend
    from trytond.modules.spp_registry.bulk import insert_select
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Membership = Pool(database.name).get('spp.program.membership')
    with Transaction().start(database.name, 0) as transaction:
        program_id = new_program('MISS', import_eligible=False)
        transaction.commit()
    for program, registrant, key in [
            (program_id, 10 ** 9, 'spp_program_membership_registrant_fkey'),
            (10 ** 9, None, 'spp_program_membership_program_fkey'),
            ]:
        with Transaction().start(database.name, 0) as transaction:
            if registrant is None:
                registrant = lone_registrant("Real")
            membership = Membership.__table__()
            query = membership.insert(
                [membership.program, membership.registrant,
                    membership.state, membership.forced,
                    membership.not_duplicate],
                [[program, registrant, 'draft', False, False]])
            with pytest.raises(backend.DatabaseIntegrityError) as caught:
                insert_select(Membership, query)
            assert caught.value.diag.constraint_name == key
            # Raised by the statement check, not by a row check.
            assert 'spp_reference_check' in caught.value.diag.context
            transaction.rollback()


def wait_for_lock(connection, pid, timeout=10):
    "Wait until the backend pid waits for a lock."
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = connection.execute('SELECT wait_event_type '
            'FROM pg_stat_activity WHERE pid = %s', (pid,)).fetchone()
        if row and row[0] == 'Lock':
            return True
        time.sleep(0.05)
    return False


def test_delete_waits_for_uncommitted_import(database):
    "A registrant deleted while its import is uncommitted stays"
    import psycopg
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Membership = Pool(database.name).get('spp.program.membership')
    program_id, party_id = program_and_registrant(
        database, 'WAIT', "Deleted during import")

    deleter, watcher = connect(database), connect(database)
    watcher.autocommit = True
    outcome = []

    def delete():
        try:
            deleter.execute('SELECT 1')  # its snapshot: before the import
            deleter.execute(
                'DELETE FROM party_party WHERE id = %s', (party_id,))
            deleter.commit()
            outcome.append('deleted')
        except psycopg.Error as error:
            deleter.rollback()
            outcome.append(error.sqlstate)

    try:
        with Transaction().start(database.name, 0) as transaction:
            assert insert_member(program_id, party_id) == 1
            thread = threading.Thread(target=delete)
            thread.start()
            assert wait_for_lock(watcher, deleter.info.backend_pid)
            transaction.commit()
        thread.join(timeout=30)
        # The foreign key (23503) or a serialization failure (40001)
        # refuses the delete once the import is committed.
        assert outcome and outcome[0] in {'23503', '40001'}
        with Transaction().start(database.name, 0):
            member, = Membership.search([('program', '=', program_id)])
            assert member.registrant.id == party_id
    finally:
        deleter.close()
        watcher.close()


def test_import_after_concurrent_delete_retries(database):
    "A registrant deleted since the import's snapshot is never referenced"
    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Membership = Pool(database.name).get('spp.program.membership')
    program_id, party_id = program_and_registrant(
        database, 'GONE', "Deleted before import")

    deleter = connect(database)
    try:
        with Transaction().start(database.name, 0) as transaction:
            # The import's snapshot still holds the registrant ...
            assert Pool().get('party.party')(party_id).name
            deleter.execute(
                'DELETE FROM party_party WHERE id = %s', (party_id,))
            deleter.commit()
            # ... which is gone: the import fails to serialize.
            with pytest.raises(backend.DatabaseOperationalError):
                insert_member(program_id, party_id)
            transaction.rollback()
        # Its retry (what trytond's dispatcher and worker do) finds none.
        with Transaction().start(database.name, 0) as transaction:
            assert insert_member(program_id, party_id) == 0
            transaction.commit()
        with Transaction().start(database.name, 0):
            assert not Membership.search([('program', '=', program_id)])
    finally:
        deleter.close()
