"""Population-wide actions of a program: queue or run now, lock, mark.

An action (import eligible, enrol, verify, deduplicate, prepare a cycle)
runs in one transaction: all of it or nothing. Above a threshold it runs
as an `ir.queue` task. While it runs the program is marked and its row is
locked (NOWAIT on PostgreSQL), so a second start is refused."""
from sql import For, Null

from trytond import backend, config
from trytond.i18n import gettext
from trytond.model.modelstorage import without_check_access
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import ProgramError
from .run import RunProgress, now_in_seconds


class PopulationActionMixin:
    "Run the population-wide actions of spp.program."
    __slots__ = ()

    @classmethod
    def start_action(cls, programs, action, *args):
        """Run a population-wide action on each program, in a queue task
        when the population exceeds the configured threshold.

        Each start creates a run (spp.program.run) that shows the action's
        progress. The program is locked for the action's duration: a second
        start while one runs is refused."""
        Run = Pool().get('spp.program.run')
        for program in programs:
            if action != 'prepare_cycle':
                program.check_active()
            cls.lock_action(program, action)
            total = program.population_size(action)
            queued = total > queue_threshold()
            with without_check_access():
                run, = Run.create([{
                            'program': program.id,
                            'action': action,
                            'queued': queued,
                            'total': total,
                            'state': 'queued' if queued else 'running',
                            }])
            if queued:
                cls.set_running(program, action)
                with Transaction().set_context(queue_name='spp_programs'):
                    cls.__queue__.run_action(
                        [program], action, *args, run=run.id)
            else:
                cls.run_action(
                    [program], action, *args, run=run.id, queued=False)

    @classmethod
    def run_action(cls, programs, action, *args, run=None, queued=True):
        """Perform `action` now, in the current transaction: all of it or,
        on failure, nothing. Every action is idempotent, so a task re-run
        after a crash gives the same result.

        A queued run that fails is rolled back, then marked failed with its
        error and the program released, so that a caseworker sees why and
        can start it again."""
        Membership = Pool().get('spp.program.membership')
        transaction = Transaction()
        for program in programs:
            cls.lock_action(program, action, queued=True)
            progress = RunProgress(run, independent=queued)
            progress.start()
            try:
                getattr(Membership, action)(program, *args, progress=progress)
            except Exception as exception:
                if queued and run:
                    transaction.rollback()
                    progress.failed(
                        getattr(exception, 'message', None)
                        or str(exception) or repr(exception))
                    cls.set_running(program, None)
                    transaction.commit()
                raise
            progress.done()
            cls.set_running(program, None, done=action)

    def population_size(self, action):
        "The number of rows the action touches, to choose queue or not."
        Membership = Pool().get('spp.program.membership')
        if action in {'import_eligible', 'import_and_enrol'}:
            return self.on_change_with_eligible_count() or 0
        return Membership.search_count([('program', '=', self.id)])

    @classmethod
    def lock_action(cls, program, action, queued=False):
        """Lock the program row (NOWAIT on PostgreSQL) and refuse when
        another action runs on it.

        `queued` is the task that the start itself registered: the running
        mark is its own."""
        transaction = Transaction()
        database = transaction.database
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        query = table.select(table.running_action, table.running_since,
            where=table.id == program.id)
        if database.has_select_for():
            query.for_ = For('UPDATE', nowait=True)
            # A savepoint keeps the transaction usable (for the message)
            # when the lock is refused.
            cursor.execute('SAVEPOINT spp_program_lock')
            try:
                cursor.execute(*query)
            except backend.DatabaseOperationalError:
                cursor.execute('ROLLBACK TO SAVEPOINT spp_program_lock')
                raise ProgramError(gettext(
                        'spp_programs.msg_action_running_now',
                        program=program.rec_name, action=action))
            row = cursor.fetchone()
            cursor.execute('RELEASE SAVEPOINT spp_program_lock')
        else:
            cursor.execute(*query)
            row = cursor.fetchone()
        running, since = row
        if running and not (queued and running == action):
            raise ProgramError(gettext('spp_programs.msg_action_running',
                    program=program.rec_name, action=running,
                    since=since or ''))

    @classmethod
    def set_running(cls, program, action, done=None):
        "Mark (or clear) the running action with SQL, not the ORM."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        now = now_in_seconds()
        columns = [table.running_action, table.running_since]
        values = [action, now if action else Null]
        if done:
            columns += [table.last_action, table.last_action_date]
            values += [done, now]
        cursor.execute(*table.update(columns, values,
                where=table.id == program.id))
        invalidate_cache(cls)


def queue_threshold():
    """Populations larger than this run as a queue task: the context key
    `spp_programs_queue_threshold` or `[spp_programs] queue_threshold` in
    the configuration file (default 20,000)."""
    threshold = Transaction().context.get('spp_programs_queue_threshold')
    if threshold is None:
        threshold = config.getint(
            'spp_programs', 'queue_threshold', default=20000)
    return threshold
