"""Queue tasks of a killed trytond-worker run again (spp_registry/queue.py).

A real trytond-worker runs a queued `import_and_enrol`; the test holds it
in the middle of the run (a table lock the action waits for), kills the
worker's process group with SIGKILL, and checks what a crash leaves: the
run *running*, the program locked, a new start refused. After
`tools/sppdb.py requeue` and a new worker the run ends done, the program
is free, and the members are those of a clean run. Unit tests of the
recovery query come first: a dead task is requeued; a live one (its row
locked), a recent one, a failed one and one trytond rescheduled are not.

PostgreSQL only (row locks, trytond-worker); skipped on SQLite.
"""
import datetime as dt
import os
import signal
import subprocess
import time

import pytest

from .server import BIN, ROOT, is_postgresql, pool_database

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (row locks, a worker)")

WORKER_CONFIG = ROOT / 'deploy' / 'trytond-postgresql.conf'
HOUSEHOLDS = 30


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    with pool_database(tmp_path_factory.mktemp('spp-queue'), 'queue',
            ['spp_programs'], populate) as database:
        yield database


def populate():
    "Households of one to four members, two thirds with a child."
    from trytond.modules.spp_registry.tests.tools import (
        create_areas, create_household, years_ago)
    areas = create_areas()
    for i in range(HOUSEHOLDS):
        members = [{'family_name': f"Head {i}", 'birth_date': years_ago(35),
                'roles': ['head']}]
        if i % 3:
            members.append({'family_name': f"Child {i}",
                    'birth_date': years_ago(2 + i % 10), 'roles': ['child']})
        if i % 4 == 0:
            members.append({'family_name': f"Elder {i}",
                    'birth_date': years_ago(70), 'roles': ['other']})
        create_household(f"Household {i}", members, area=areas['TL-N-A'])


@pytest.fixture(autouse=True)
def empty_queue(database):
    "Each test starts with no task: a worker would run the others'."
    sql(database, 'DELETE FROM ir_queue')


@pytest.fixture
def worker_mode():
    "This process as a worker's would be: [queue] worker = True."
    from trytond import config
    previous = config.get('queue', 'worker')
    config.set('queue', 'worker', 'True')
    yield
    config.set('queue', 'worker', previous or 'False')


# -- the recovery query -------------------------------------------------

def new_task(method='write', dequeued_minutes_ago=None, finished=False,
        args=None, instances=()):
    "An ir.queue row as trytond-worker leaves it; returns its id."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Queue = Pool().get('ir.queue')
    task_id = Queue.push('default', {
            'model': 'party.party', 'method': method, 'user': 0,
            'context': {}, 'instances': list(instances),
            'args': args if args is not None else [time.monotonic_ns()],
            'kwargs': {}})
    now = dt.datetime.now()
    values = {}
    if dequeued_minutes_ago is not None:
        values['dequeued_at'] = now - dt.timedelta(
            minutes=dequeued_minutes_ago)
    if finished:
        values['finished_at'] = now
    if values:
        queue = Queue.__table__()
        Transaction().connection.cursor().execute(*queue.update(
                [getattr(queue, name) for name in values],
                list(values.values()), where=queue.id == task_id))
    return task_id


def task_state(database, task_id):
    "(dequeued, finished) of a task, as committed."
    state, = sql(database, 'SELECT dequeued_at IS NOT NULL, '
        'finished_at IS NOT NULL FROM ir_queue WHERE id = %s', (task_id,))
    return state


def requeue(database, grace=None):
    "Run the recovery in its own committed transaction; the ids requeued."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Queue = Pool(database.name).get('ir.queue')
    with Transaction().start(database.name, 0) as transaction:
        ids = Queue.requeue_abandoned(grace)
        transaction.commit()
    return ids


def test_dead_task_requeued_live_one_untouched(database, worker_mode):
    "A dead task goes back to the queue; a running, recent or done one not"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Queue = Pool(database.name).get('ir.queue')
    with Transaction().start(database.name, 0) as transaction:
        dead = new_task(dequeued_minutes_ago=5)
        live = new_task(dequeued_minutes_ago=5)
        recent = new_task(dequeued_minutes_ago=0)
        done = new_task(dequeued_minutes_ago=5, finished=True)
        waiting = new_task()
        transaction.commit()
    with Transaction().start(database.name, 0) as transaction:
        # What a running task holds, on a connection of its own.
        holder = Queue(live)._hold_lock()
        pool_of_connections = transaction.database
    assert holder
    try:
        assert requeue(database) == [dead]
        assert task_state(database, dead) == (False, False)
        assert task_state(database, live) == (True, False)
        assert task_state(database, recent) == (True, False)
        assert task_state(database, done) == (True, True)
        assert task_state(database, waiting) == (False, False)
        # Nothing else is abandoned: a second pass changes nothing.
        assert requeue(database) == []
    finally:
        holder.rollback()
        pool_of_connections.put_connection(holder)
    # The worker of `live` died: its lock went with its connection.
    assert requeue(database) == [live]
    # Without a grace period the recent one counts too.
    assert requeue(database, grace=0) == [recent]


def test_rescheduled_task_not_requeued(database, worker_mode):
    "A task trytond rescheduled (a copy pushed) is not run a second time"
    from trytond.transaction import Transaction
    with Transaction().start(database.name, 0) as transaction:
        # trytond's run_task, after repeated database errors, pushes the
        # same call again and leaves the original dequeued, unfinished.
        args = ['rescheduled', time.monotonic_ns()]
        original = new_task(dequeued_minutes_ago=5, args=args)
        copy = new_task(args=args)
        other = new_task(dequeued_minutes_ago=5)
        transaction.commit()
    assert requeue(database) == [other]
    assert task_state(database, original) == (True, False)
    assert task_state(database, copy) == (False, False)


def test_failed_task_finished_not_requeued(database, worker_mode,
        monkeypatch):
    "A task that fails with its worker alive is marked finished, not rerun"
    from trytond.exceptions import UserError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database.name)
    Party = pool.get('party.party')
    Queue = pool.get('ir.queue')
    calls = []

    def spp_test_fail(cls, parties, tag):
        calls.append(tag)
        Party.create([{'name': "Created by a failing task"}])
        raise UserError("The task failed.")
    monkeypatch.setattr(Party, 'spp_test_fail', classmethod(spp_test_fail),
        raising=False)
    with Transaction().start(database.name, 0) as transaction:
        party, = Party.create([{'name': "Target of a failing task"}])
        failing = new_task('spp_test_fail', dequeued_minutes_ago=5,
            args=['once'], instances=[party.id])
        transaction.commit()
    with Transaction().start(database.name, 0):
        with pytest.raises(UserError, match="The task failed"):
            Queue(failing).run()
    assert calls == ['once']
    assert requeue(database) == []
    assert task_state(database, failing) == (True, True)
    with Transaction().start(database.name, 0):
        # The failure was rolled back before the task was marked.
        assert not Party.search([('name', '=', "Created by a failing task")])


# -- a killed worker ----------------------------------------------------

def start_worker(database, log_path):
    "trytond-worker for the database, in a process group of its own."
    with open(log_path, 'ab') as log:
        return subprocess.Popen(
            [str(BIN / 'trytond-worker'), '-c', str(WORKER_CONFIG),
                '-d', database.name, '-n', '1'],
            env=database.env(), cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(worker):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def wait_for(predicate, what, log_path, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n"
        + log_path.read_text(errors='replace')[-4000:])


def sql(database, query, params=()):
    "Rows of a query on a connection of its own (autocommit)."
    import psycopg
    with psycopg.connect(database.conninfo, autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else None


def backends(database):
    return {pid for pid, in sql(database, 'SELECT pid FROM pg_stat_activity '
            'WHERE datname = %s', (database.name,))}


def new_program(code):
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
    return program


def members(program_id):
    from trytond.pool import Pool
    Membership = Pool().get('spp.program.membership')
    return sorted((m.registrant.id, m.state) for m in Membership.search(
            [('program', '=', program_id)]))


def test_killed_worker_task_rerun(database, tmp_path):
    "kill -9 of the worker mid-run: requeued, re-run, equal to a clean run"
    import psycopg

    from trytond.modules.spp_programs.exceptions import ProgramError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    name = database.name
    pool = Pool(name)
    Program = pool.get('spp.program')
    log_path = tmp_path / 'worker.log'

    with Transaction().start(name, 0) as transaction:
        clean = new_program('CLEAN')
        Program.import_and_enrol([clean])  # below the threshold: now
        program = new_program('KILLED')
        with Transaction().set_context(spp_programs_queue_threshold=0):
            Program.import_and_enrol([program])
        clean_id, program_id = clean.id, program.id
        transaction.commit()
    task_id, = [i for i, in sql(database, 'SELECT id FROM ir_queue')]
    with Transaction().start(name, 0):
        expected = members(clean_id)
    assert {s for _, s in expected} == {'enrolled'}
    assert len(expected) == 20  # the households with a child

    ours = backends(database)
    # The action waits for this lock once its run is marked running.
    blocker = psycopg.connect(database.conninfo)
    blocker.execute('LOCK TABLE party_party IN ACCESS EXCLUSIVE MODE')
    worker = start_worker(database, log_path)
    try:
        def running():
            rows = sql(database, 'SELECT state FROM spp_program_run '
                'WHERE program = %s ORDER BY id DESC LIMIT 1', (program_id,))
            return rows and rows[0][0] == 'running'
        wait_for(running, "the queued run to start", log_path)
        workers = backends(database) - ours - {blocker.info.backend_pid}
        assert workers
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(30)
    finally:
        blocker.rollback()
        blocker.close()
        stop_worker(worker)
    # PostgreSQL ends the dead worker's sessions (and its locks).
    wait_for(lambda: not (backends(database) & workers),
        "the killed worker's sessions to end", log_path)

    # What the crash left: nothing done, the run and the program stuck.
    assert sql(database, 'SELECT dequeued_at IS NOT NULL, finished_at IS NULL '
        'FROM ir_queue WHERE id = %s', (task_id,)) == [(True, True)]
    with Transaction().start(name, 0):
        assert members(program_id) == []
        assert Program(program_id).running_action == 'import_and_enrol'
        with pytest.raises(ProgramError, match="already running"):
            Program.import_and_enrol([Program(program_id)])

    # What serve_postgresql.py and docker-compose.yml run before a worker.
    output = database.sppdb('requeue', name, '--grace', '0')
    assert f"requeued 1 task(s) of dead workers: {task_id}." in output
    worker = start_worker(database, log_path)
    try:
        wait_for(lambda: sql(database, 'SELECT finished_at IS NOT NULL '
                'FROM ir_queue WHERE id = %s', (task_id,)) == [(True,)],
            "the requeued task to finish", log_path)
    finally:
        stop_worker(worker)

    with Transaction().start(name, 0):
        Run = pool.get('spp.program.run')
        run, = Run.search([('program', '=', program_id)])
        assert (run.state, run.progress, run.error) == ('done', 1, None)
        program = Program(program_id)
        assert program.running_action is None
        assert program.last_action == 'import_and_enrol'
        got = members(program_id)
    assert got == expected
