"""What the payments record: changes of batches and payments (state,
amounts, the payee's name, phone and account, old and new), reads of
payments (personal data), and one entry per batch creation, send, payment
file export and reconciliation import, with counts and amounts."""
from decimal import Decimal

from trytond import backend
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .audited import AuditedModel
from .programs import recorded_here

# What a payment knows of who collects it: a change is a change of who
# receives the money, recorded per payment with old and new values.
PAYEE_FIELDS = ('payee', 'payee_name', 'payee_phone', 'payee_account')


def log():
    return Pool().get('spp.audit.log')


def by_state(batch_ids):
    "{state: [count, amount]} of the payments of the batches."
    Payment = Pool().get('spp.payment')
    result = {}
    if batch_ids:
        for (_, state), (count, amount) in Payment.totals_by_state(
                'batch', list(batch_ids)).items():
            total = result.setdefault(state, [0, Decimal(0)])
            total[0] += count
            total[1] += amount
    return result


def figures(states):
    "The counts and amounts of by_state() as JSON can hold them."
    return {s: {'count': c, 'amount': str(a)}
        for s, (c, a) in sorted(states.items())}


class PaymentBatch(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.payment.batch'

    @classmethod
    def create_for_cycle(cls, cycle, provider='file', size=None):
        batches = super().create_for_cycle(cycle, provider=provider,
            size=size)
        if batches:
            states = by_state([b.id for b in batches])
            log().record_action('spp.cycle', [cycle.id],
                'create_payment_batches', details={
                    'provider': provider, 'size': size,
                    'batches': [b.id for b in batches],
                    'payments': figures(states)},
                count=sum(c for c, _ in states.values()))
        return batches

    @classmethod
    @recorded_here
    def send(cls, batches):
        # What goes out: the issued payments, before the send changes them.
        ids = [b.id for b in batches]
        count, amount = by_state(ids).get('issued', [0, Decimal(0)])
        super().send(batches)
        if batches:
            log().record_action(cls.__name__, ids, 'send', details={
                    'providers': sorted({b.provider for b in batches}),
                    'sent': count, 'amount': str(amount)}, count=count)

    @classmethod
    @recorded_here
    def recheck(cls, batches):
        ids = [b.id for b in batches]
        before = by_state(ids).get('blocked', [0])[0]
        super().recheck(batches)
        after = by_state(ids).get('blocked', [0])[0]
        if batches:
            log().record_action(cls.__name__, ids, 'recheck',
                details={'blocked_before': before, 'blocked_after': after,
                    'issued': before - after}, count=before)

    @classmethod
    @recorded_here
    def export_file(cls, batches):
        # Opens the wizard: the file built is recorded by it.
        return super().export_file(batches)

    @classmethod
    @recorded_here
    def import_reconciliation(cls, batches):
        # Opens the wizard: the file applied is recorded by it.
        return super().import_reconciliation(batches)


class Payment(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.payment'
    _audit_access = True

    @classmethod
    def refresh_payees(cls, payment, where):
        """Record the payee changes of the payments refreshed (in SQL): the
        few blocked ones a Re-check reads again."""
        config = log().config(cls.__name__)
        if not config or not config['write']:
            return super().refresh_payees(payment, where)
        cursor = Transaction().connection.cursor()
        columns = [getattr(payment, n) for n in PAYEE_FIELDS]
        cursor.execute(*payment.select(payment.id, *columns, where=where))
        before = {row[0]: row[1:] for row in cursor}
        super().refresh_payees(payment, where)
        if not before:
            return
        table = cls.__table__()
        changes = {}
        for sub_ids in grouped_slice(
                list(before), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.id,
                    *[getattr(table, n) for n in PAYEE_FIELDS],
                    where=table.id.in_(list(sub_ids))))
            for row in cursor:
                changed = {n: [old, new] for n, old, new in zip(
                        PAYEE_FIELDS, before[row[0]], row[1:])
                    if old != new}
                if changed:
                    changes[row[0]] = changed
        log().record_changes(cls.__name__, 'write', changes)


class Cycle(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.cycle'

    @classmethod
    @recorded_here
    def create_payment_batches(cls, cycles):
        # Opens the wizard: PaymentBatch.create_for_cycle records what it
        # issued.
        return super().create_payment_batches(cycles)


class ExportPaymentFile(metaclass=PoolMeta):
    __name__ = 'spp.payment.batch.export'

    def default_result(self, fields):
        result = super().default_result(fields)
        # The file holds each payee's name, phone and account: an export.
        with Transaction().set_context(spp_audit_channel='export'):
            log().record_action('spp.payment.batch', [self.record.id],
                'export_file', details={'format': self.start.format,
                    'filename': result['filename'],
                    'payments': result['count'],
                    'amount': str(result['amount'])},
                count=result['count'])
        return result


class ImportReconciliation(metaclass=PoolMeta):
    __name__ = 'spp.payment.reconciliation.import'

    def transition_import_(self):
        state = super().transition_import_()
        result = self.result
        batches = self.batches or []
        log().record_action('spp.payment.batch', [b.id for b in batches],
            'import_reconciliation', details={
                'filename': self.start.filename,
                'batches': [b.id for b in batches] or None,
                'paid': result.paid, 'failed': result.failed,
                'unchanged': result.unchanged, 'refused': result.refused},
            count=(result.paid or 0) + (result.failed or 0))
        return state
