"""Programs on a real PostgreSQL server: two concurrent runs of a
population-wide action, and a worker killed in the middle of enrolment.

Run with TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/;
skipped on SQLite."""
import signal
import subprocess
import sys
import textwrap

import pytest

from .server import is_postgresql, pool_database

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (row locks, a worker)")

CHILD = textwrap.dedent('''
    import sys, time
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    database, task_id = sys.argv[1], int(sys.argv[2])
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    with Transaction().start(database, 0) as transaction:
        Queue = pool.get('ir.queue')
        Queue(task_id).run()
        print('READY', flush=True)
        time.sleep(600)  # killed here, before the commit
        transaction.commit()
    ''')


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    with pool_database(tmp_path_factory.mktemp('spp-programs'), 'prog',
            ['spp_programs'], populate) as database:
        yield database


def populate():
    "Twelve households, eight with a child."
    from trytond.modules.spp_registry.tests.tools import (
        create_areas, create_household, years_ago)
    areas = create_areas()
    for i in range(12):
        members = [{'family_name': f"Head {i}", 'birth_date': years_ago(30),
                'roles': ['head']}]
        if i % 3:
            members.append({'family_name': f"Child {i}",
                    'birth_date': years_ago(3), 'roles': ['child']})
        create_household(f"Household {i}", members, area=areas['TL-N-A'])


def new_program(code, import_eligible=True):
    """An active program for households with a child, its eligible
    registrants imported unless `import_eligible` is false."""
    from trytond.pool import Pool
    pool = Pool()
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    currency = Currency.search([('code', '=', 'TSD')]) or Currency.create(
        [{'name': "Test Dollar", 'code': 'TSD', 'symbol': '$'}])
    program, = Program.create([{'name': code, 'code': code,
                'target_type': 'group', 'currency': currency[0].id,
                'eligibility_rule': 'child_count >= 1'}])
    Program.activate([program])
    if import_eligible:
        Program.import_eligible([program])
    return program.id


def member_states(program_id):
    from trytond.pool import Pool
    Membership = Pool().get('spp.program.membership')
    return sorted((m.registrant.name, m.state) for m in Membership.search(
            [('program', '=', program_id)]))


def test_concurrent_enrol_refused(database):
    "A second Enrol while the first runs is refused; the first completes"
    from trytond.modules.spp_programs.exceptions import ProgramError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    with Transaction().start(name, 0) as transaction:
        program_id = new_program('CONC')
        transaction.commit()
    Program = Pool(name).get('spp.program')
    with Transaction().start(name, 0) as first:
        Program.enrol([Program(program_id)])  # holds the program row lock
        with Transaction().new_transaction() as second:
            with pytest.raises(ProgramError, match="Another population-wide"):
                Program.enrol([Program(program_id)])
            second.rollback()
        first.commit()
    with Transaction().start(name, 0):
        states = member_states(program_id)
        program = Program(program_id)
        assert {s for _, s in states} == {'enrolled'}
        assert len(states) == 8
        assert program.running_action is None
        assert program.last_action == 'enrol'


def test_killed_worker_rerun(database):
    "A worker killed mid-enrolment leaves nothing; the re-run completes"
    from trytond.modules.spp_programs.exceptions import ProgramError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    pool = Pool(name)
    Program = pool.get('spp.program')
    Queue = pool.get('ir.queue')
    with Transaction().start(name, 0) as transaction:
        program_id = new_program('KILL')
        with Transaction().set_context(spp_programs_queue_threshold=0):
            Program.enrol([Program(program_id)])
        task, = Queue.search([('finished_at', '=', None)],
            order=[('id', 'DESC')], limit=1)
        task_id = task.id
        transaction.commit()
    with Transaction().start(name, 0) as transaction:
        assert Program(program_id).running_action == 'enrol'
        with pytest.raises(ProgramError, match="already running"):
            Program.enrol([Program(program_id)])

    child = subprocess.Popen(
        [sys.executable, '-c', CHILD, name, str(task_id)],
        env=database.env(), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'READY'
        # The run's progress is committed between batches: visible while
        # the task's own transaction is still open.
        with Transaction().start(name, 0):
            run = last_run(program_id)
            assert (run.action, run.state) == ('enrol', 'running')
            assert run.processed == 8
            assert run.batches_done == run.batches
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)

    with Transaction().start(name, 0):
        # Nothing of the killed run is left; the program is still marked.
        assert {s for _, s in member_states(program_id)} == {'draft'}
        assert Program(program_id).running_action == 'enrol'
    with Transaction().start(name, 0) as transaction:
        Queue(task_id).run()
        transaction.commit()
    with Transaction().start(name, 0):
        run = last_run(program_id)
        assert (run.state, run.processed, run.progress) == ('done', 8, 1)
    with Transaction().start(name, 0) as transaction:
        Queue(task_id).run()  # a second re-run changes nothing
        transaction.commit()
    with Transaction().start(name, 0):
        states = member_states(program_id)
        assert len(states) == 8
        assert {s for _, s in states} == {'enrolled'}
        assert Program(program_id).running_action is None
        run = last_run(program_id)
        assert (run.state, run.processed, run.progress) == ('done', 0, 1)


def test_failed_run_shows_error(database, monkeypatch):
    "A queued run that fails is marked failed with its error; nothing stays"
    from trytond.exceptions import UserError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    pool = Pool(name)
    Program = pool.get('spp.program')
    Membership = pool.get('spp.program.membership')
    Queue = pool.get('ir.queue')
    with Transaction().start(name, 0) as transaction:
        program_id = new_program('FAIL')
        with Transaction().set_context(spp_programs_queue_threshold=0):
            Program.enrol([Program(program_id)])
        task, = Queue.search([('finished_at', '=', None)],
            order=[('id', 'DESC')], limit=1)
        task_id = task.id
        transaction.commit()

    enrol = Membership.enrol.__func__

    def failing_enrol(cls, program, progress=None):
        enrol(cls, program, progress=progress)
        raise UserError("The registry went away.")
    monkeypatch.setattr(Membership, 'enrol', classmethod(failing_enrol))
    with Transaction().start(name, 0):
        with pytest.raises(UserError, match="registry went away"):
            Queue(task_id).run()
    monkeypatch.undo()

    with Transaction().start(name, 0) as transaction:
        run = last_run(program_id)
        assert (run.action, run.state) == ('enrol', 'failed')
        assert run.error == "The registry went away."
        assert run.ended_at
        # Rolled back, and the program is free for another start.
        assert {s for _, s in member_states(program_id)} == {'draft'}
        assert Program(program_id).running_action is None
        Program.enrol([Program(program_id)])
        transaction.commit()
    with Transaction().start(name, 0):
        assert {s for _, s in member_states(program_id)} == {'enrolled'}
        assert last_run(program_id).state == 'done'


def last_run(program_id):
    from trytond.pool import Pool
    Run = Pool().get('spp.program.run')
    run, = Run.search([('program', '=', program_id)],
        order=[('id', 'DESC')], limit=1)
    return run
