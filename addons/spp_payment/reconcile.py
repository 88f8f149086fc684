"""Import of a provider's reconciliation file.

The CSV has the columns reference, status (paid | failed), paid_amount,
date (YYYY-MM-DD) and provider_reference. A file with other columns or not
in UTF-8 is refused as a whole. Lines with a bad value (a NUL character
or a cell over 131,072 characters among them) are refused as they are
read; the others go through a temporary table and are classified in
SQL, all at once: a reference repeated in the file, an unknown reference,
a payment of a draft (or another) batch, an amount that differs from the
payment and a conflict with an earlier outcome are reported and change
nothing; a line already applied changes nothing, so a file imported twice
has no double effect. The accepted lines are applied with two
UPDATE ... FROM statements."""
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from sql import Cast, Literal, Null, Table
from sql.aggregate import Count
from sql.conditionals import Case
from sql.functions import CurrentTimestamp, Round

from trytond.i18n import gettext
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.modules.spp_registry.spreadsheet import (
    MAX_CELL, cell_error, csv_reader, printable)
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import ReconciliationError

COLUMNS = ['reference', 'status', 'paid_amount', 'date',
    'provider_reference']
STATUSES = {'paid', 'failed'}
LINES_TABLE = 'spp_reconciliation_line'
CLASSIFIED_TABLE = 'spp_reconciliation_classified'
# What the report says of each refused outcome of `classify`.
REASONS = {
    'repeated': 'reference repeated {repeats} times in the file',
    'unknown': 'unknown reference',
    'other_batch': 'the payment belongs to another batch',
    'draft_batch': 'the batch of the payment is not approved',
    'mismatch': ('paid amount {amount} differs from the payment amount '
        '{expected}'),
    'conflict': 'the payment is already {state}',
    'blocked': 'the payment is blocked: it was never sent',
    }


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


def cell_refusal(row):
    """The reason a line is refused for a cell the tables cannot hold (a
    NUL character, more than MAX_CELL characters), or None."""
    for position, value in enumerate(row):
        problem = cell_error(value)
        if not problem:
            continue
        column = (COLUMNS[position] if position < len(COLUMNS)
            else str(position + 1))
        if problem == 'nul':
            return gettext('spp_payment.msg_reconciliation_nul',
                column=column)
        return gettext('spp_payment.msg_reconciliation_cell_size',
            column=column, length=len(value), limit=MAX_CELL)
    return None


def parse(data, report):
    "Valid lines as tuples; invalid ones go to the report."
    reader = csv_reader(io.StringIO(decode(data)))
    header = next(reader, None)
    found = [printable(c).strip().lower() for c in header or []]
    if found != COLUMNS:
        raise ReconciliationError(gettext(
                'spp_payment.msg_reconciliation_columns',
                expected=','.join(COLUMNS),
                found=','.join(found) or '(an empty file)'))
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(row):
            continue
        refusal = cell_refusal(row)
        if refusal:
            report.refuse(number, printable(row[0]), refusal)
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


def load_lines(lines):
    "Load the lines into a temporary table (COPY on PostgreSQL)."
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute(f'DROP TABLE IF EXISTS {LINES_TABLE}')
    cursor.execute(f'CREATE TEMPORARY TABLE {LINES_TABLE} ('
        'line INTEGER, reference VARCHAR, status VARCHAR, '
        'paid_amount NUMERIC, paid_date DATE, provider_reference VARCHAR)')
    if transaction.database.has_select_for():
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


def _amount(expression):
    """A NUMERIC expression compared exactly on PostgreSQL; SQLite keeps
    numbers as floats, compared once rounded to the 4 digits of amounts."""
    if Transaction().database.has_select_for():
        return expression
    return Round(Cast(expression, 'NUMERIC'), 4)


def classify(lines_table, batches=None):
    """Classify every loaded line in one INSERT ... SELECT into a second
    temporary table, whose outcome column says repeated, unknown,
    other_batch, draft_batch, mismatch, unchanged (already applied),
    conflict or apply. With
    `batches`, payments of other batches are refused. Return the table."""
    pool = Pool()
    Payment = pool.get('spp.payment')
    Batch = pool.get('spp.payment.batch')
    payment = Payment.__table__()
    batch = Batch.__table__()
    line = lines_table
    counted = Table(LINES_TABLE)
    repeated = counted.select(counted.reference,
        Count(Literal(1)).as_('repeats'),
        group_by=[counted.reference],
        having=Count(Literal(1)) > 1)
    whens = [
        (repeated.repeats != Null, 'repeated'),
        (payment.id == Null, 'unknown'),
        ]
    if batches is not None:
        whens.append(
            (~batch.id.in_([b.id for b in batches] or [-1]), 'other_batch'))
    whens += [
        (batch.state == 'draft', 'draft_batch'),
        (payment.state == 'blocked', 'blocked'),
        ((line.status == 'paid')
            & (_amount(line.paid_amount) != _amount(payment.amount)),
            'mismatch'),
        (payment.state == line.status, 'unchanged'),
        (payment.state.in_(['paid', 'failed']), 'conflict'),
        ]
    query = line.join(repeated, 'LEFT',
        condition=repeated.reference == line.reference).join(
        payment, 'LEFT', condition=payment.reference == line.reference).join(
        batch, 'LEFT', condition=payment.batch == batch.id).select(
        line.line, line.reference, line.status, line.paid_amount,
        line.paid_date, line.provider_reference,
        payment.id, payment.amount, payment.state, payment.entitlement,
        repeated.repeats, Case(*whens, else_='apply'))
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    cursor.execute(f'DROP TABLE IF EXISTS {CLASSIFIED_TABLE}')
    cursor.execute(f'CREATE TEMPORARY TABLE {CLASSIFIED_TABLE} ('
        'line INTEGER, reference VARCHAR, status VARCHAR, '
        'paid_amount NUMERIC, paid_date DATE, provider_reference VARCHAR, '
        'payment INTEGER, expected NUMERIC, payment_state VARCHAR, '
        'payment_entitlement INTEGER, repeats INTEGER, outcome VARCHAR)')
    classified = Table(CLASSIFIED_TABLE)
    cursor.execute(*classified.insert([
                classified.line, classified.reference, classified.status,
                classified.paid_amount, classified.paid_date,
                classified.provider_reference, classified.payment,
                classified.expected, classified.payment_state,
                classified.payment_entitlement, classified.repeats,
                classified.outcome], query))
    if transaction.database.has_select_for():
        cursor.execute(f'ANALYZE {CLASSIFIED_TABLE}')
    return classified


def report_outcomes(classified, report):
    """Add the classified lines to the report: counts by outcome from one
    GROUP BY, the refused lines with their reason."""
    cursor = Transaction().connection.cursor()
    cursor.execute(*classified.select(classified.outcome, classified.status,
            Count(Literal(1)),
            group_by=[classified.outcome, classified.status]))
    for outcome, status, count in cursor:
        if outcome == 'apply':
            setattr(report, status, getattr(report, status) + count)
        elif outcome == 'unchanged':
            report.unchanged += count
    cursor.execute(*classified.select(classified.line, classified.reference,
            classified.outcome, classified.paid_amount, classified.expected,
            classified.payment_state, classified.repeats,
            where=~classified.outcome.in_(['apply', 'unchanged']),
            order_by=[classified.line.asc]))
    for (number, reference, outcome, amount, expected, state,
            repeats) in cursor:
        report.refuse(number, reference, REASONS[outcome].format(
                amount=amount, state=state, repeats=repeats,
                expected=Decimal(str(expected)) if expected is not None
                else None))


def apply(classified):
    """Apply the lines classified `apply` with two UPDATE ... FROM
    statements: the payments, then the entitlements of the paid ones."""
    pool = Pool()
    Payment = pool.get('spp.payment')
    Entitlement = pool.get('spp.entitlement')
    cursor = Transaction().connection.cursor()
    line = classified
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
            where=(line.payment == payment.id) & (line.outcome == 'apply')
            & payment.state.in_(['issued', 'sent'])))
    entitlement = Entitlement.__table__()
    cursor.execute(*entitlement.update([entitlement.state], ['distributed'],
            from_=[line],
            where=(line.outcome == 'apply') & (line.status == 'paid')
            & (line.payment_entitlement == entitlement.id)
            & (entitlement.state == 'approved')))


def reconcile(lines, report, batches=None, dry_run=False):
    """Classify the parsed `lines` in SQL and add them to `report`; apply
    the accepted ones unless `dry_run`. Nothing stays behind: the
    temporary tables are dropped."""
    if not lines:
        return report
    classified = classify(load_lines(lines), batches=batches)
    report_outcomes(classified, report)
    if not dry_run:
        apply(classified)
        pool = Pool()
        invalidate_cache(pool.get('spp.payment'), pool.get('spp.entitlement'))
    cursor = Transaction().connection.cursor()
    cursor.execute(f'DROP TABLE {CLASSIFIED_TABLE}')
    cursor.execute(f'DROP TABLE {LINES_TABLE}')
    return report


def import_reconciliation(data, batches=None, dry_run=False):
    """Import a reconciliation file (bytes or text); return its Report.
    Whole-file errors (columns, encoding) raise ReconciliationError.
    With `batches`, lines of payments of other batches are refused; with
    `dry_run`, the report says what the import would do and nothing
    changes."""
    report = Report()
    reconcile(parse(data, report), report, batches=batches, dry_run=dry_run)
    report.errors.sort()
    return report
