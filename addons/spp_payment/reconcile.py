"""Import of a provider's reconciliation file.

The CSV has the columns reference, status (paid | failed), paid_amount,
date (YYYY-MM-DD) and provider_reference. A file with other columns or not
in UTF-8 is refused as a whole. Lines with an unknown reference, an amount
that differs from the payment, a reference repeated in the file, a bad
value or a conflict with an earlier outcome are reported and change
nothing; the other lines apply. A line already applied changes nothing, so
a file imported twice has no double effect. The lines go through a
temporary table and are applied with two UPDATE ... FROM statements."""
import csv
import datetime as dt
import io
from collections import Counter
from decimal import Decimal, InvalidOperation

from sql import Null, Table
from sql.conditionals import Case
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.modules.spp_entitlement.sqltools import invalidate_cache
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import ReconciliationError

COLUMNS = ['reference', 'status', 'paid_amount', 'date',
    'provider_reference']
STATUSES = {'paid', 'failed'}
LINES_TABLE = 'spp_reconciliation_line'
ACCEPTED_TABLE = 'spp_reconciliation_accepted'


class Report:
    "What an import did: counts and the lines it refused, with reasons."

    def __init__(self):
        self.paid = self.failed = self.unchanged = 0
        self.errors = []  # (line number, reference, reason)

    def refuse(self, line, reference, reason):
        self.errors.append((line, reference, reason))

    def as_dict(self):
        return {'paid': self.paid, 'failed': self.failed,
            'unchanged': self.unchanged, 'errors': list(self.errors)}

    def as_text(self):
        lines = [gettext('spp_payment.msg_reconciliation_summary',
                paid=self.paid, failed=self.failed,
                unchanged=self.unchanged, errors=len(self.errors))]
        lines += [f'line {n}: {reference}: {reason}'
            for n, reference, reason in self.errors[:1000]]
        return '\n'.join(lines)


def decode(data):
    "The text of the file; a clear error if it is not UTF-8."
    if isinstance(data, str):
        return data
    try:
        return data.decode('utf-8-sig')
    except UnicodeDecodeError as error:
        raise ReconciliationError(gettext(
                'spp_payment.msg_reconciliation_encoding',
                position=error.start)) from error


def parse(data, report):
    "Valid lines as tuples; invalid ones go to the report."
    reader = csv.reader(io.StringIO(decode(data)))
    header = next(reader, None)
    found = [c.strip().lower() for c in header or []]
    if found != COLUMNS:
        raise ReconciliationError(gettext(
                'spp_payment.msg_reconciliation_columns',
                expected=','.join(COLUMNS),
                found=','.join(found) or '(an empty file)'))
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(row):
            continue
        if len(row) != len(COLUMNS):
            report.refuse(number, row[0] if row else '',
                f'{len(row)} fields instead of {len(COLUMNS)}')
            continue
        reference, status, amount, date, provider_reference = (
            v.strip() for v in row)
        status = status.lower()
        if status not in STATUSES:
            report.refuse(number, reference,
                f'status "{status}" is not paid or failed')
            continue
        try:
            amount = Decimal(amount) if amount else None
        except InvalidOperation:
            report.refuse(number, reference, f'amount "{amount}" is not '
                'a number')
            continue
        if amount is not None and (not amount.is_finite() or amount < 0):
            report.refuse(number, reference, f'amount "{amount}" is '
                'negative or not finite')
            continue
        if status == 'paid' and amount is None:
            report.refuse(number, reference, 'a paid line needs an amount')
            continue
        try:
            date = dt.date.fromisoformat(date) if date else None
        except ValueError:
            report.refuse(number, reference,
                f'date "{date}" is not YYYY-MM-DD')
            continue
        lines.append((number, reference, status, amount, date,
                provider_reference or None))
    return lines


def remove_repeated(lines, report):
    "Lines whose reference appears more than once: all refused."
    counts = Counter(line[1] for line in lines)
    kept = []
    for line in lines:
        if counts[line[1]] > 1:
            report.refuse(line[0], line[1],
                f'reference repeated {counts[line[1]]} times in the file')
        else:
            kept.append(line)
    return kept


def load_lines(lines):
    "Load the lines into a temporary table (COPY on PostgreSQL)."
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    postgresql = transaction.database.has_select_for()
    cursor.execute(f'DROP TABLE IF EXISTS {LINES_TABLE}')
    cursor.execute(f'CREATE TEMPORARY TABLE {LINES_TABLE} ('
        'line INTEGER, reference VARCHAR, status VARCHAR, '
        'paid_amount NUMERIC, paid_date DATE, provider_reference VARCHAR)')
    if postgresql:
        with cursor.copy(f'COPY {LINES_TABLE} (line, reference, status, '
                'paid_amount, paid_date, provider_reference) '
                'FROM STDIN') as copy:
            for line in lines:
                copy.write_row(line)
        # Autovacuum never analyses temporary tables: without statistics
        # the planner takes a million lines for a handful and joins them
        # with a nested loop.
        cursor.execute(f'ANALYZE {LINES_TABLE}')
    else:
        cursor.executemany(f'INSERT INTO {LINES_TABLE} (line, reference, '
            'status, paid_amount, paid_date, provider_reference) '
            'VALUES (?, ?, ?, ?, ?, ?)',
            [(n, r, s, str(a) if a is not None else None,
                    d.isoformat() if d else None, p)
                for n, r, s, a, d, p in lines])
    return Table(LINES_TABLE)


def classify(lines_table, report, batches=None):
    """Refuse unknown references, amount mismatches, payments of a draft
    batch (or, when `batches` is given, of another batch) and conflicts;
    count lines already applied; mark the others with their payment id."""
    pool = Pool()
    Payment = pool.get('spp.payment')
    Batch = pool.get('spp.payment.batch')
    payment = Payment.__table__()
    batch = Batch.__table__()
    line = lines_table
    cursor = Transaction().connection.cursor()
    cursor.execute(*line.join(payment, 'LEFT',
            condition=payment.reference == line.reference).join(
            batch, 'LEFT', condition=payment.batch == batch.id).select(
            line.line, line.reference, line.status, line.paid_amount,
            line.paid_date, line.provider_reference,
            payment.id, payment.amount, payment.state,
            batch.id, batch.state,
            # The first of two lines on one payment wins: file order.
            order_by=[line.line.asc]))
    allowed = None if batches is None else {b.id for b in batches}
    to_apply = []
    for (number, reference, status, amount, date, provider_reference,
            payment_id, expected, state, batch_id, batch_state,
            ) in cursor.fetchall():
        if payment_id is None:
            report.refuse(number, reference, 'unknown reference')
            continue
        if allowed is not None and batch_id not in allowed:
            report.refuse(number, reference,
                'the payment belongs to another batch')
            continue
        if batch_state == 'draft':
            report.refuse(number, reference,
                'the batch of the payment is not approved')
            continue
        expected = Decimal(str(expected))
        if status == 'paid' and Decimal(str(amount)) != expected:
            report.refuse(number, reference,
                f'paid amount {amount} differs from the payment '
                f'amount {expected}')
            continue
        if state == status:
            report.unchanged += 1
        elif state in {'paid', 'failed'}:
            report.refuse(number, reference,
                f'the payment is already {state}')
        else:
            to_apply.append((payment_id, status, amount, date,
                    provider_reference))
            setattr(report, status, getattr(report, status) + 1)
    return to_apply


def apply(to_apply):
    "Apply the accepted lines with two UPDATE ... FROM statements."
    pool = Pool()
    Payment = pool.get('spp.payment')
    Entitlement = pool.get('spp.entitlement')
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute(f'DROP TABLE IF EXISTS {ACCEPTED_TABLE}')
    cursor.execute(f'CREATE TEMPORARY TABLE {ACCEPTED_TABLE} ('
        'payment INTEGER, status VARCHAR, paid_amount NUMERIC, '
        'paid_date DATE, provider_reference VARCHAR)')
    if transaction.database.has_select_for():
        with cursor.copy(f'COPY {ACCEPTED_TABLE} FROM STDIN') as copy:
            for row in to_apply:
                copy.write_row(row)
        cursor.execute(f'ANALYZE {ACCEPTED_TABLE}')
    else:
        cursor.executemany(f'INSERT INTO {ACCEPTED_TABLE} '
            'VALUES (?, ?, ?, ?, ?)', [
                (i, s, str(a) if a is not None else None, d, p)
                for i, s, a, d, p in to_apply])
    line = Table(ACCEPTED_TABLE)
    payment = Payment.__table__()
    failed = line.status == 'failed'
    cursor.execute(*payment.update(
            [payment.state, payment.paid_amount, payment.paid_date,
                payment.provider_reference, payment.slot,
                payment.failure_reason, payment.write_date],
            [line.status,
                Case((failed, Null), else_=line.paid_amount),
                line.paid_date, line.provider_reference,
                Case((failed, Null), else_=payment.slot),
                Case((failed, 'failed at the provider'), else_=Null),
                CurrentTimestamp()],
            from_=[line],
            where=(line.payment == payment.id)
            & payment.state.in_(['issued', 'sent'])))
    entitlement = Entitlement.__table__()
    cursor.execute(*entitlement.update([entitlement.state], ['distributed'],
            from_=[line, payment],
            where=(line.status == 'paid') & (line.payment == payment.id)
            & (payment.entitlement == entitlement.id)
            & (entitlement.state == 'approved')))
    cursor.execute(f'DROP TABLE {ACCEPTED_TABLE}')
    cursor.execute(f'DROP TABLE {LINES_TABLE}')


def import_reconciliation(data, batches=None, dry_run=False):
    """Import a reconciliation file (bytes or text); return its Report.
    Whole-file errors (columns, encoding) raise ReconciliationError.
    With `batches`, lines of payments of other batches are refused; with
    `dry_run`, the report says what the import would do and nothing
    changes."""
    report = Report()
    lines = remove_repeated(parse(data, report), report)
    if lines:
        table = load_lines(lines)
        to_apply = classify(table, report, batches=batches)
        if dry_run:
            cursor = Transaction().connection.cursor()
            cursor.execute(f'DROP TABLE {LINES_TABLE}')
        else:
            apply(to_apply)
            pool = Pool()
            invalidate_cache(
                pool.get('spp.payment'), pool.get('spp.entitlement'))
    report.errors.sort()
    return report
