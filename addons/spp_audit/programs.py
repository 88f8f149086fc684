"""What the programs record: changes of programs, cycles and memberships,
reads of program and cycle memberships (they tie a person to a program),
and one entry per population-wide run (import, enrolment, verification,
deduplication, cycle preparation) with its counts, written when the run
actually happens: at once, or in the queue worker (channel "system") as
the user who started it, whose task it is."""
import functools

from trytond.modules.spp_programs.run import RunProgress
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .audited import AuditedModel, _running


def log():
    return Pool().get('spp.audit.log')


def recorded_here(function):
    """A button whose extension records its entry itself, with what it
    did: audited.py leaves it unwrapped, and the wrappers of the classes
    below it (a pool class set up before this one) see it running, so
    there is no second, bare entry for the click."""
    @functools.wraps(function)
    def button(cls, records, *args, **kwargs):
        token = _running.set(_running.get() | {(cls.__name__, name)})
        try:
            return function(cls, records, *args, **kwargs)
        finally:
            _running.reset(token)
    name = function.__name__
    button._spp_audited = True
    return button


def record_run(program, action, progress, model='spp.program', ids=None,
        details=None):
    "One entry for a run of `action` on `program`, whatever its rows."
    Run = Pool().get('spp.program.run')
    details = {'program': program.id, 'rows_changed': progress.processed,
        'batches': progress.batches, **(details or {})}
    if progress.run_id:
        with without_check_access():
            run = Run(progress.run_id)
            details.update(run=run.id, queued=bool(run.queued),
                population=run.total)
    log().record_action(model, ids or [program.id], action,
        details=details, count=progress.processed)


def member_counts(program):
    "The program's members by state after a run (one GROUP BY)."
    Program = Pool().get('spp.program')
    names = [f'{s}_count' for s in ['draft', 'enrolled', 'paused', 'exited',
            'not_eligible', 'duplicated']]
    counts = Program.get_counts([program], names)
    return {n[:-len('_count')]: counts[n][program.id] for n in names}


class Program(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.program'
    # Bookkeeping of runs, domains compiled from the rules (the rules are
    # audited) and the running total of commitments (entitlement
    # approvals are audited).
    _audit_ignored = ('running_action', 'running_since', 'last_action',
        'last_action_date', 'eligibility_domain', 'exclusion_domain',
        'committed_amount')

    @classmethod
    def run_action(cls, programs, action, *args, run=None, queued=True):
        # A queued run is the worker's work, whatever the context copied
        # from the request that queued it.
        context = {'spp_audit_channel': 'system'} if queued else {}
        with Transaction().set_context(**context):
            super().run_action(
                programs, action, *args, run=run, queued=queued)

    # The buttons that start a run: the run records the entry, with its
    # counts, when it runs (record_run).

    @classmethod
    @recorded_here
    def import_eligible(cls, programs):
        super().import_eligible(programs)

    @classmethod
    @recorded_here
    def enrol(cls, programs):
        super().enrol(programs)

    @classmethod
    @recorded_here
    def import_and_enrol(cls, programs):
        super().import_and_enrol(programs)

    @classmethod
    @recorded_here
    def verify_eligibility(cls, programs):
        super().verify_eligibility(programs)

    @classmethod
    @recorded_here
    def deduplicate(cls, programs):
        super().deduplicate(programs)


class ProgramMembership(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.program.membership'
    _audit_access = True
    _audit_actions = ('add_manually',)

    # The runs of spp.program (action.py) call these with their progress;
    # called directly (scripts, tests) they run without one.

    @classmethod
    def import_eligible(cls, program, progress=None):
        progress = progress or RunProgress(None)
        super().import_eligible(program, progress=progress)
        record_run(program, 'import_eligible', progress,
            details={'members': member_counts(program)})

    @classmethod
    def enrol(cls, program, progress=None):
        progress = progress or RunProgress(None)
        super().enrol(program, progress=progress)
        record_run(program, 'enrol', progress,
            details={'members': member_counts(program)})

    @classmethod
    def import_and_enrol(cls, program, progress=None):
        progress = progress or RunProgress(None)
        super().import_and_enrol(program, progress=progress)
        record_run(program, 'import_and_enrol', progress,
            details={'members': member_counts(program)})

    @classmethod
    def verify_eligibility(cls, program, progress=None):
        progress = progress or RunProgress(None)
        super().verify_eligibility(program, progress=progress)
        record_run(program, 'verify_eligibility', progress,
            details={'members': member_counts(program)})

    @classmethod
    def deduplicate(cls, program, progress=None):
        progress = progress or RunProgress(None)
        super().deduplicate(program, progress=progress)
        record_run(program, 'deduplicate', progress,
            details={'members': member_counts(program)})

    @classmethod
    def prepare_cycle(cls, program, cycle_id, progress=None):
        progress = progress or RunProgress(None)
        super().prepare_cycle(program, cycle_id, progress=progress)
        record_run(program, 'prepare', progress, model='spp.cycle',
            ids=[cycle_id], details={'beneficiaries': progress.processed})

    @classmethod
    def add_manually(cls, program, registrant, force=False, reason=None):
        membership = super().add_manually(
            program, registrant, force=force, reason=reason)
        log().record_action(cls.__name__, [membership.id], 'add_manually',
            details={'program': program.id, 'registrant': registrant.id,
                'forced': bool(membership.forced),
                'reason': reason if membership.forced else None})
        return membership


class Cycle(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.cycle'
    # Written by the preparation (recorded as its run) and by the daily
    # expiry of entitlements.
    _audit_ignored = ('prepared_at', 'next_expiry')

    @classmethod
    @recorded_here
    def prepare(cls, cycles):
        super().prepare(cycles)

    @classmethod
    @recorded_here
    def submit(cls, cycles):
        super().submit(cycles)
        cls._record_decision(cycles, 'submit')

    @classmethod
    @recorded_here
    def approve(cls, cycles):
        super().approve(cycles)
        cls._record_decision(cycles, 'approve')

    @classmethod
    def _record_decision(cls, cycles, action):
        "What was submitted or approved: the cycles and their beneficiaries."
        if not cycles:
            return
        counts = cls.get_beneficiary_count(cycles, 'beneficiary_count')
        log().record_action(cls.__name__, [c.id for c in cycles], action,
            details={'beneficiaries': counts}, count=len(cycles))


class CycleMembership(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.cycle.membership'
    _audit_access = True
