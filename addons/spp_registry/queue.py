"""Queue tasks of a killed worker run again.

trytond-worker marks a task dequeued when it pulls it and finished when
the task's transaction commits. A worker killed in between (`kill -9`,
the out-of-memory killer, a lost machine) leaves the task dequeued and
unfinished, and Tryton never runs it again: a program action stays
*running* and its program locked for ever.

Here a task holds a lock on its own `ir_queue` row while it runs, on a
connection of its own, so that the task's own commits and rollbacks (a
failed program action commits its failure) do not release it; when the
worker dies, PostgreSQL closes its connections and the lock goes with
them. `requeue_abandoned()` (an ir.cron job every minute, and
`tools/sppdb.py requeue` before trytond-worker starts) puts back in the
queue, in one UPDATE, every dequeued unfinished task whose row it can
lock: those of dead workers. Population-wide actions are idempotent, so
the re-run gives what a clean run gives.

Two kinds of dequeued unfinished rows are not abandoned:

- a task that failed (an error, the worker alive): marked finished here,
  its error kept by trytond (ir.error, the log); Tryton's *Solve* of the
  error pushes a new task;
- a task trytond rescheduled after repeated database errors: trytond
  pushed a copy (same name and data) and left the original as it was;
  a later task with the same call covers it.

Only with a worker on PostgreSQL (`[queue] worker = True`); without one,
tasks run right after the request that queued them and nothing changes.
"""
import logging

from sql import Cast, Literal, Null
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond import backend, config
from trytond.pool import PoolMeta
from trytond.transaction import Transaction, TransactionError

logger = logging.getLogger(__name__)


def requeue_grace():
    """Seconds since its pull before a task without lock counts as
    abandoned: `[queue] requeue_after` (default 60). It covers the moment
    between the pull of a task and the start of its run."""
    return config.getint('queue', 'requeue_after', default=60)


def has_worker():
    return config.getboolean('queue', 'worker', default=False)


class Queue(metaclass=PoolMeta):
    __name__ = 'ir.queue'

    def run(self):
        """Run the task holding the lock of its row, and mark it finished
        when it fails (see the module's docstring)."""
        holder = self._hold_lock()
        try:
            if holder is False:
                # Requeued since this worker pulled it: another one runs it.
                logger.warning("task %s was requeued: not run here", self.id)
                return
            try:
                super().run()
            except (backend.DatabaseOperationalError, TransactionError):
                raise  # trytond runs the task again (or reschedules it)
            except Exception:
                self._mark_failed()
                raise
        finally:
            if holder:
                holder.rollback()
                Transaction().database.put_connection(holder)

    def _hold_lock(self):
        """A connection holding FOR KEY SHARE on the task's row: it lets
        the task update its row (finished_at) and stops the recovery's
        FOR UPDATE. None without a worker on PostgreSQL; False when the
        task was put back in the queue."""
        transaction = Transaction()
        database = transaction.database
        if not (has_worker() and database.has_select_for()):
            return None
        table = self.__table__()
        connection = database.get_connection()
        try:
            cursor = connection.cursor()
            # The connection idles while the task runs: a server-wide
            # timeout for idle transactions would end its lock, and the
            # task would be requeued while it still runs.
            cursor.execute(
                'SET LOCAL idle_in_transaction_session_timeout = 0')
            # python-sql knows FOR UPDATE and FOR SHARE only.
            cursor.execute('SELECT dequeued_at FROM "%s" WHERE id = %%s '
                'FOR KEY SHARE' % table._name, (self.id,))
            row = cursor.fetchone()
        except Exception:
            connection.rollback()
            database.put_connection(connection)
            raise
        if row is None or row[0] is None:
            connection.rollback()
            database.put_connection(connection)
            return False
        return connection

    def _mark_failed(self):
        """Mark finished a pulled task that failed, the failure rolled
        back: nothing runs it again unless a user solves its error."""
        if not self.dequeued_at:
            return  # run without a worker: nothing requeues it
        transaction = Transaction()
        transaction.rollback()
        table = self.__table__()
        transaction.connection.cursor().execute(*table.update(
                [table.finished_at], [CurrentTimestamp()],
                where=table.id == self.id))
        transaction.commit()

    @classmethod
    def requeue_abandoned(cls, grace=None):
        """Put back in the queue the dequeued, unfinished tasks of dead
        workers, in one UPDATE: those whose row is not locked, pulled more
        than `grace` seconds ago (default `requeue_grace()`), and not
        covered by a later task with the same call. Return their ids.

        The ir.cron job, and `tools/sppdb.py requeue` before a worker
        starts. Nothing without a worker on PostgreSQL."""
        transaction = Transaction()
        database = transaction.database
        if not database.has_select_for():
            return []
        if grace is None:
            grace = requeue_grace()
        queue = cls.__table__()
        task = cls.__table__()
        later = cls.__table__()
        covered = later.select(Literal(1),
            where=(later.id > task.id) & (later.name == task.name)
            & (Cast(later.data, 'TEXT') == Cast(task.data, 'TEXT')))
        abandoned = task.select(task.id,
            where=(task.dequeued_at != Null) & (task.finished_at == Null)
            & (task.dequeued_at
                < CurrentTimestamp() - Cast(Literal(f'{int(grace)} seconds'),
                    'INTERVAL'))
            & ~Exists(covered))
        # Rows of the FROM clause only: the copies in the sub-query are
        # read, not locked.
        For = database.get_select_for_skip_locked()
        abandoned.for_ = For('UPDATE')
        cursor = transaction.connection.cursor()
        cursor.execute(*queue.update([queue.dequeued_at], [Null],
                where=queue.id.in_(abandoned), returning=[queue.id]))
        ids = sorted(row[0] for row in cursor)
        if ids:
            logger.warning("requeued the tasks of dead workers: %s", ids)
            if database.has_channel():
                database.notify(transaction.connection, cls.__name__, '')
        return ids
