"""Runs of population-wide actions: one record per start, with its progress.

A run is created when a caseworker starts an action. The action moves it
from queued to running, records after each batch of its set-based
statements how far it got, and ends it as done or failed (with the
error). On PostgreSQL a queued run commits its progress in a separate
short transaction, so the program form shows it while the action's own
transaction is still open; the final state is written by the action's
transaction, so a run is only "done" when its work is committed."""
import datetime as dt

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction


def now_in_seconds():
    """The time to write with SQL into a DateTime field a form shows.

    The ORM stores a DateTime in whole seconds and sao shows seconds: a
    value with microseconds (SQL's CURRENT_TIMESTAMP) came back from the
    form as changed at the next button, and sao redrew the form while
    reading it, so selections further down read as their first option
    (the program's Enrol refused "Every (Months)")."""
    return dt.datetime.now().replace(microsecond=0)


ACTIONS = [
    ('import_eligible', "Import Eligible"),
    ('enrol', "Enrol"),
    ('import_and_enrol', "Import and Enrol"),
    ('verify_eligibility', "Verify Eligibility"),
    ('deduplicate', "Deduplicate"),
    ('prepare_cycle', "Prepare Cycle"),
    ]
RUN_STATES = [
    ('queued', "Queued"),
    ('running', "Running"),
    ('done', "Done"),
    ('failed', "Failed"),
    ]


class ProgramRun(ModelSQL, ModelView):
    "Program Action Run"
    __string__ = "Program Action Run"
    __name__ = 'spp.program.run'
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE', readonly=True)
    action = fields.Selection(ACTIONS, "Action", required=True,
        readonly=True)
    action_string = action.translated('action')
    state = fields.Selection(RUN_STATES, "State", required=True,
        readonly=True, sort=False)
    queued = fields.Boolean("Queued", readonly=True,
        help="Run by the worker because the population is large.")
    total = fields.Integer("Population", readonly=True,
        help="Registrants or members the action goes through.")
    processed = fields.Integer("Rows Changed", readonly=True)
    batches = fields.Integer("Batches", readonly=True)
    batches_done = fields.Integer("Batches Done", readonly=True)
    progress = fields.Float("Progress", digits=(1, 4), readonly=True,
        help="The share of the batches done, from 0 to 1 (shown as a "
        "percentage).")
    started_at = fields.DateTime("Started At", readonly=True)
    ended_at = fields.DateTime("Ended At", readonly=True)
    error = fields.Text("Error", readonly=True,
        states={'invisible': ~Eval('error')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.program, Index.Range()),
                (t.id, Index.Range())))
        cls._order = [('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_progress(cls):
        return 0

    @classmethod
    def default_processed(cls):
        return 0

    def get_rec_name(self, name):
        return f'{self.program.rec_name}: {self.action_string}'


class RunProgress:
    """Writes a run's progress between the batches of an action.

    `independent` commits each figure at once in its own transaction
    (PostgreSQL, a run committed before its task started), so that other
    sessions see it; otherwise the figures go with the action's
    transaction."""
    __slots__ = ('run_id', 'independent', 'batches', 'batches_done',
        'processed')

    def __init__(self, run_id, independent=False):
        self.run_id = run_id
        self.independent = bool(
            run_id and independent and backend.name == 'postgresql')
        self.batches = 1
        self.batches_done = 0
        self.processed = 0

    def _write(self, values, independent=None):
        if not self.run_id:
            return
        query = self._update(values)
        if self.independent if independent is None else independent:
            with Transaction().new_transaction() as transaction:
                cursor = transaction.connection.cursor()
                cursor.execute(*query)
                found = cursor.rowcount
                transaction.commit()
            if found:
                return
            # The run is not committed yet (started and run in one
            # transaction): its figures go with that transaction.
            self.independent = False
        transaction = Transaction()
        transaction.connection.cursor().execute(*query)
        # Forget the cached values of the run, updated in SQL.
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop('spp.program.run', None)

    def _update(self, values):
        from trytond.pool import Pool
        Run = Pool().get('spp.program.run')
        table = Run.__table__()
        return table.update(
            [getattr(table, name) for name in values],
            list(values.values()), where=table.id == self.run_id)

    def start(self, total=None):
        "Mark the run as running (again, after a crash) from zero."
        self.batches_done = self.processed = 0
        values = {
            'state': 'running', 'processed': 0, 'progress': 0,
            'batches_done': 0, 'error': None,
            'started_at': now_in_seconds(), 'ended_at': None,
            }
        if total is not None:
            values['total'] = total
        self._write(values)

    def plan(self, batches):
        "Announce how many batches the action will run."
        self.batches = max(batches, 1)
        self._write({'batches': self.batches})

    def advance(self, rows=0):
        "One batch is done and changed `rows` rows."
        self.batches_done = min(self.batches_done + 1, self.batches)
        self.processed += max(rows, 0)
        self._write({
                'batches_done': self.batches_done,
                'processed': self.processed,
                'progress': round(self.batches_done / self.batches, 4),
                })

    def done(self):
        """The action finished. The run is marked done when the action's
        transaction commits: right after it when the progress was written
        apart (PostgreSQL's repeatable read forbids the action's own
        transaction to update the row again)."""
        values = {
            'state': 'done', 'progress': 1,
            'batches_done': self.batches, 'processed': self.processed,
            'ended_at': now_in_seconds(),
            }
        if self.independent:
            Transaction().join(_MarkAfterCommit(self._update(values)))
        else:
            self._write(values, independent=False)

    def failed(self, error):
        "The action failed: written in a transaction of its own."
        self._write({
                'state': 'failed', 'error': error,
                'ended_at': now_in_seconds(),
                }, independent=False)


class _MarkAfterCommit:
    "A data manager that runs one UPDATE right after the commit."

    def __init__(self, query):
        self.query = query

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        pass

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        if self.query is None:
            return
        query, self.query = self.query, None
        connection = transaction.connection
        connection.cursor().execute(*query)
        connection.commit()

    def tpc_abort(self, transaction):
        self.query = None
