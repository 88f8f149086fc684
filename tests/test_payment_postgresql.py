"""Entitlement approval on a real PostgreSQL server: two approvals at once
never over-commit the program's funds.

Run with TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/;
skipped on SQLite."""
import threading
import time
from decimal import Decimal

import pytest

from .server import is_postgresql, pool_database

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (row locks)")


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    with pool_database(tmp_path_factory.mktemp('spp-payment'), 'pay',
            ['spp_payment']) as database:
        yield database


def two_cycles(code):
    """A program whose two approved cycles each need 176.50 (one household
    with 3 children: 100 + 3 x 25.50) with 250.00 posted: either cycle
    fits, both do not."""
    from trytond.modules.spp_entitlement.tests.tools import (
        approved_cycle, cash_program, household, post_fund, standard_items)
    from trytond.pool import Pool
    pool = Pool()
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    household(f"{code} household", 3)
    program = cash_program(code=code, items=standard_items(),
        rule=f'name = "{code} household"')
    cycles = [approved_cycle(program), approved_cycle(program)]
    post_fund(program, Decimal('250.00'))
    for cycle in cycles:
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
    return program.id, [c.id for c in cycles]


def approve_with_retries(name, cycle_id, started, outcome):
    """Approve a cycle's entitlements as trytond's dispatcher does: a
    serialization failure retries the whole transaction."""
    from trytond import backend
    from trytond.exceptions import UserError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Cycle = Pool(name).get('spp.cycle')
    for attempt in range(5):
        try:
            with Transaction().start(name, 0) as transaction:
                started.set()
                Cycle.approve_entitlements([Cycle(cycle_id)])
                transaction.commit()
            outcome.append(('approved', attempt))
            return
        except backend.DatabaseOperationalError:
            outcome.append(('retry', attempt))
        except UserError as error:
            outcome.append(('refused', error.message))
            return


def test_concurrent_approvals_never_overcommit(database):
    "Two cycles approved at once: the second waits, then is refused"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    with Transaction().start(name, 0) as transaction:
        program_id, (first_id, second_id) = two_cycles('CONC')
        transaction.commit()
    pool = Pool(name)
    Cycle = pool.get('spp.cycle')
    Fund = pool.get('spp.program.fund')
    Program = pool.get('spp.program')
    outcome = []
    started = threading.Event()
    with Transaction().start(name, 0) as first:
        # The first approval holds the fund rows until it commits.
        Cycle.approve_entitlements([Cycle(first_id)])
        thread = threading.Thread(target=approve_with_retries,
            args=(name, second_id, started, outcome))
        thread.start()
        started.wait(10)
        time.sleep(1)  # the second approval is now waiting for the lock
        assert outcome == []
        first.commit()
    thread.join(30)
    assert outcome[0] == ('retry', 0)
    assert outcome[-1][0] == 'refused'
    assert '176.50 TSD to approve, 73.50 TSD available' in outcome[-1][1]
    with Transaction().start(name, 0):
        posted, committed, _ = Fund.balance(Program(program_id))
        assert (posted, committed) == (Decimal('250.00'), Decimal('176.50'))


def test_same_cycle_twice_at_once(database):
    "The same cycle approved twice at once is approved once"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    with Transaction().start(name, 0) as transaction:
        program_id, (cycle_id, _) = two_cycles('SAME')
        transaction.commit()
    pool = Pool(name)
    Cycle = pool.get('spp.cycle')
    Fund = pool.get('spp.program.fund')
    Program = pool.get('spp.program')
    outcome = []
    started = threading.Event()
    with Transaction().start(name, 0) as first:
        Cycle.approve_entitlements([Cycle(cycle_id)])
        thread = threading.Thread(target=approve_with_retries,
            args=(name, cycle_id, started, outcome))
        thread.start()
        started.wait(10)
        time.sleep(1)
        first.commit()
    thread.join(30)
    # The retry finds nothing pending: it approves nothing more.
    assert outcome[-1][0] == 'approved'
    with Transaction().start(name, 0):
        _, committed, _ = Fund.balance(Program(program_id))
        assert committed == Decimal('176.50')


def issue_payments(name, cycle_id, started, outcome):
    "Issue a cycle's payments in a transaction of its own."
    from trytond import backend
    from trytond.exceptions import UserError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    Batch = pool.get('spp.payment.batch')
    Cycle = pool.get('spp.cycle')
    try:
        with Transaction().start(name, 0) as transaction:
            started.set()
            batches = Batch.create_for_cycle(Cycle(cycle_id), size=1)
            transaction.commit()
        outcome.append(('created', len(batches)))
    except (backend.DatabaseOperationalError,
            backend.DatabaseIntegrityError, UserError) as error:
        outcome.append(('refused', str(error)))


def test_concurrent_batch_creation_never_duplicates(database):
    """The payments of one cycle issued twice at once: each approved
    entitlement gets exactly one live payment"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    with Transaction().start(name, 0) as transaction:
        _, (cycle_id, _) = two_cycles('ISSUE')
        Cycle = Pool().get('spp.cycle')
        Cycle.approve_entitlements([Cycle(cycle_id)])
        transaction.commit()
    pool = Pool(name)
    Batch = pool.get('spp.payment.batch')
    Cycle = pool.get('spp.cycle')
    Payment = pool.get('spp.payment')
    outcome = []
    started = threading.Event()
    with Transaction().start(name, 0) as first:
        created = Batch.create_for_cycle(Cycle(cycle_id), size=1)
        assert len(created) == 1
        thread = threading.Thread(target=issue_payments,
            args=(name, cycle_id, started, outcome))
        thread.start()
        started.wait(10)
        time.sleep(1)  # the second one now waits for the cycle's lock
        assert outcome == []
        first.commit()
    thread.join(30)
    assert len(outcome) == 1
    assert outcome[0] == ('created', 0) or outcome[0][0] == 'refused'
    with Transaction().start(name, 0):
        payments = Payment.search([('cycle', '=', cycle_id)])
        assert len(payments) == 1
        assert len(Batch.search([('cycle', '=', cycle_id)])) == 1


def test_bulk_tables_checked_per_statement(database):
    """Every table a population-wide INSERT writes has the statement check,
    and every table it references the guard (spp_registry/bulk)"""
    from trytond.transaction import Transaction
    bulk_tables = ['spp_program_membership', 'spp_cycle_membership',
        'spp_entitlement', 'spp_entitlement_voucher_line', 'spp_payment']
    with Transaction().start(database.name, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgname = 'spp_reference_check' AND tgenabled = 'A'")
        assert {table for table, in cursor} == set(bulk_tables)
        cursor.execute("SELECT DISTINCT c.confrelid::regclass::text, "
            "EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = "
            "c.confrelid AND t.tgname = 'spp_reference_guard'), "
            "EXISTS (SELECT 1 FROM spp_reference_guard g "
            "WHERE g.table_name = c.confrelid::regclass::text) "
            "FROM pg_constraint c WHERE c.contype = 'f' "
            "AND c.conrelid::regclass::text = ANY(%s)", (bulk_tables,))
        referenced = {table: (trigger, row)
            for table, trigger, row in cursor}
        assert {'party_party', 'spp_program', 'spp_cycle',
            'spp_cycle_membership', 'spp_entitlement',
            'spp_payment_batch'} <= set(referenced)
        assert all(trigger and row for trigger, row in referenced.values())
