"""The production topology on PostgreSQL, as `make serve-postgresql` runs it.

tools/serve_postgresql.py starts gunicorn (trytond.application:app, several
workers), trytond-worker and trytond-cron on a free 127.0.0.1 port for a
fresh database with every addon, after putting back in the queue the tasks
of a dead worker (tools/sppdb.py requeue). The test logs in over JSON-RPC,
has a task queued through the ORM (`Model.__queue__.method(...)`, as addons
do) and checks that trytond-worker runs it, then stops the supervisor and
checks that every process it started is gone.

PostgreSQL only: trytond-worker cannot run on SQLite. It runs in the
PostgreSQL pass of `make test` (TRYTOND_DATABASE__URI=postgresql://...).
"""
import os
import re
import subprocess
import sys
import time

import pytest

from .conftest import copy_log
from .server import ServerError, is_postgresql, running_topology

pytestmark = pytest.mark.skipif(not is_postgresql(),
    reason="PostgreSQL only (trytond-worker needs it): runs in the "
    "PostgreSQL pass of `make test`, i.e. with "
    "TRYTOND_DATABASE__URI=postgresql://...")

# Queued through the ORM in a separate trytond process (trytond-console,
# [queue] worker = True): the task waits in ir.queue for trytond-worker.
ENQUEUE = '''
Party = pool.get('party.party')
party, = Party.search([('name', '=', {name!r})])
Party.__queue__.write([party], {{'name': {new_name!r}}})
transaction.commit()
Queue = pool.get('ir.queue')
print('queued', [q.id for q in Queue.search([('finished_at', '=', None)])])
'''


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is gone too.
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


def started_pids(log_text):
    return {name: int(pid) for name, pid in
        re.findall(r'started (\w+) \(pid (\d+)\)', log_text)}


def test_gunicorn_worker_cron(fresh_database, artifacts):
    database = fresh_database
    with running_topology(database, workers=2) as server:
        log = server.log_tail(20_000)
        pids = started_pids(log)
        assert set(pids) == {'web', 'worker', 'cron'}, log
        # The tasks of a dead worker go back to the queue before the worker
        # starts (none here: a new database).
        requeued = log.find("requeued 0 task(s) of dead workers.")
        assert 0 <= requeued < log.find('started worker'), log

        # JSON-RPC login on the web workers (session-based).
        session = server.login()
        context = server.call(
            'model.res.user.get_preferences', [True, {}], session=session)
        party_ids = server.call('model.party.party.create',
            [[{'name': 'Queued Party'}], context], session=session)
        assert len(party_ids) == 1

        config = os.path.join(
            os.path.dirname(__file__), '..', 'deploy',
            'trytond-postgresql.conf')
        console = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'trytond-console'),
                '-c', config, '-d', database.name],
            input=ENQUEUE.format(
                name='Queued Party', new_name='Renamed by trytond-worker'),
            capture_output=True, text=True, timeout=120,
            env=database.env())
        assert 'queued [' in console.stdout, (
            console.stdout + console.stderr)
        assert console.stdout.strip() != 'queued []', console.stdout

        deadline = time.monotonic() + 60
        name = None
        while time.monotonic() < deadline:
            name, = server.call('model.party.party.read',
                [party_ids, ['name'], context], session=session)
            name = name['name']
            if name == 'Renamed by trytond-worker':
                break
            time.sleep(0.5)
        assert name == 'Renamed by trytond-worker', (
            "trytond-worker did not run the queued task:\n"
            + server.log_tail())

        for process, pid in pids.items():
            assert process_alive(pid), f"{process} died:\n{server.log_tail()}"
        with pytest.raises(ServerError, match='HTTP 401|HTTP 403'):
            server.login(password='not-the-password')

    copy_log(server, artifacts, 'serve-postgresql.log')
    # The supervisor stopped everything it started.
    assert server.process.returncode == 0, server.log_tail()
    for process, pid in pids.items():
        assert not process_alive(pid), f"{process} (pid {pid}) still runs"
