"""What the entitlements record: changes of entitlements (amounts, state),
funds and entitlement items, reads of entitlements (personal data: who
gets what), and one entry per bulk step of a cycle's entitlements
(prepare, submit, approve), per approval of selected entitlements, per
fund posting and per daily expiry, with counts and amounts."""
from decimal import Decimal

from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce

from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .audited import AuditedModel
from .programs import recorded_here


def log():
    return Pool().get('spp.audit.log')


def totals(cycle_ids, state):
    "{cycle: (count, amount + fee)} of the entitlements in `state`."
    Entitlement = Pool().get('spp.entitlement')
    table = Entitlement.__table__()
    cursor = Transaction().connection.cursor()
    result = {i: (0, Decimal(0)) for i in cycle_ids}
    if not cycle_ids:
        return result
    cursor.execute(*table.select(table.cycle, Count(table.id),
            Coalesce(Sum(table.amount + table.fee), 0),
            where=table.cycle.in_(list(cycle_ids)) & (table.state == state),
            group_by=[table.cycle]))
    for cycle, count, amount in cursor:
        result[cycle] = (count, Decimal(str(amount)))
    return result


class Entitlement(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.entitlement'
    _audit_access = True
    _audit_actions = ('correct', 'expire_overdue')
    # Derived from the item, and the uniqueness slot that a rejection or
    # cancellation (audited by its state) frees.
    _audit_ignored = ('item_key', 'slot')

    @classmethod
    def prepare(cls, cycle):
        # Cash, in-kind and vouchers (basket.py, in_kind.py) in one entry.
        count = super().prepare(cycle)
        drafts, amount = totals([cycle.id], 'draft')[cycle.id]
        log().record_action('spp.cycle', [cycle.id], 'prepare_entitlements',
            details={'program': cycle.program.id,
                'kind': cycle.program.entitlement_kind,
                'prepared': count, 'drafts': drafts, 'amount': str(amount)},
            count=count)
        return count

    @classmethod
    @recorded_here
    def approve(cls, entitlements):
        # _approve records the entry of each cycle, with its amount.
        super().approve(entitlements)

    @classmethod
    def _approve(cls, cycle, ids=None):
        """Record one entry per approval: of the cycle when all its pending
        entitlements are approved (approve_entitlements), else of the
        entitlements selected."""
        Program = Pool().get('spp.program')
        before = Program.committed(cycle.program)
        count = super()._approve(cycle, ids)
        details = {'cycle': cycle.id, 'program': cycle.program.id,
            'approved': count,
            'committed': str(Program.committed(cycle.program) - before)}
        if ids is None:
            log().record_action('spp.cycle', [cycle.id],
                'approve_entitlements', details=details, count=count)
        else:
            log().record_action(cls.__name__, ids, 'approve',
                details=details, count=count)
        return count

    @classmethod
    def correct(cls, entitlement, amount, fee=None):
        correction = super().correct(entitlement, amount, fee=fee)
        log().record_action(cls.__name__, [entitlement.id, correction.id],
            'correct', details={'cancelled': entitlement.id,
                'correction': correction.id,
                'amount': [str(entitlement.amount), str(correction.amount)],
                'fee': [str(entitlement.fee), str(correction.fee)]})
        return correction

    @classmethod
    def expire_overdue(cls):
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        today = pool.get('ir.date').today()
        table, cycle = cls.__table__(), Cycle.__table__()
        cursor = Transaction().connection.cursor()
        # What the expiry is about to change (its own conditions).
        cursor.execute(*table.join(cycle,
                condition=table.cycle == cycle.id).select(
                Count(table.id),
                Coalesce(Sum(table.amount + table.fee), 0),
                where=(cycle.next_expiry < today)
                & (table.state == 'approved') & (table.valid_until < today)))
        count, amount = cursor.fetchone()
        super().expire_overdue()
        if count:
            log().record_action(cls.__name__, [], 'expire_overdue',
                details={'date': str(today), 'expired': count,
                    'released': str(Decimal(str(amount)))}, count=count)


class Cycle(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.cycle'

    @classmethod
    @recorded_here
    def prepare_entitlements(cls, cycles):
        # Opens the preview: Entitlement.prepare records what it did.
        return super().prepare_entitlements(cycles)

    @classmethod
    @recorded_here
    def submit_entitlements(cls, cycles):
        drafts = totals([c.id for c in cycles], 'draft')
        super().submit_entitlements(cycles)
        for cycle in cycles:
            count, amount = drafts[cycle.id]
            log().record_action(cls.__name__, [cycle.id],
                'submit_entitlements',
                details={'program': cycle.program.id, 'submitted': count,
                    'amount': str(amount)}, count=count)

    @classmethod
    @recorded_here
    def approve_entitlements(cls, cycles):
        # Entitlement._approve records each cycle's entry, with its amount.
        super().approve_entitlements(cycles)


class ProgramFund(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.program.fund'
    # Stamped by each approval against the funds (audited as approvals).
    _audit_ignored = ('last_commitment',)

    @classmethod
    @recorded_here
    def post(cls, funds):
        super().post(funds)
        if funds:
            log().record_action(cls.__name__, [f.id for f in funds], 'post',
                details={'amount': str(sum(f.amount for f in funds)),
                    'programs': sorted({f.program.id for f in funds})})
