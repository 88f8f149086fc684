"""Write rows straight into the registry's tables, in bulk.

The building blocks shared by the paths that store many registrants at
once without one ORM call per record: the registry import
(registry_import_bulk.py) and spp_demo's population generator. They
reserve ids from the tables' sequences, draw party codes from the party
sequence in one query, send rows through COPY on PostgreSQL (executemany
INSERT on SQLite) and copy the rows written into the `__history` tables the
way ModelSQL does. What the rows hold (the columns the ORM would fill) is
the caller's business; each caller has a test comparing its rows field by
field with those of the ORM."""
import re
import time

from trytond import backend
from trytond.model import fields
from trytond.pool import Pool
from trytond.transaction import Transaction

_ESCAPES = str.maketrans({'\\': '\\\\', '\t': '\\t', '\n': '\\n',
        '\r': '\\r'})


def copy_text(value):
    "A value in PostgreSQL COPY text format."
    if value is None:
        return '\\N'
    if value is True:
        return 't'
    if value is False:
        return 'f'
    if isinstance(value, str):
        if '\\' in value or '\t' in value or '\n' in value or '\r' in value:
            return value.translate(_ESCAPES)
        return value
    return str(value)


def copy_formatter(kinds):
    """A function writing a row as a line of COPY text, compiled once.

    `kinds` has a letter per column: v a value never NULL, n a value or
    NULL, b a boolean, e a string that may need escaping; None: every
    column may be anything (copy_text of each)."""
    if kinds is None:
        return lambda r: '\t'.join(map(copy_text, r))
    parts = []
    for i, kind in enumerate(kinds):
        if kind == 'v':
            parts.append(f'{{r[{i}]}}')
        elif kind == 'n':
            parts.append(f'{{NULL if r[{i}] is None else r[{i}]}}')
        elif kind == 'b':
            parts.append(f"{{'t' if r[{i}] else 'f'}}")
        else:
            parts.append(f'{{escape(r[{i}])}}')
    source = 'lambda r: f"' + '\\t'.join(parts) + '"'
    return eval(source, {'NULL': '\\N', 'escape': copy_text})


def code_columns(code):
    "code_alnum and code_digit as party.party computes them."
    if code.isdigit():
        return code, int(code[-18:])
    digits = re.sub(r'\D', '', code)[-18:]
    return re.sub(r'[\W_]', '', code), int(digits) if digits else None


class BulkWriter:
    "Rows into the tables of the transaction's database, in bulk."

    def __init__(self):
        transaction = Transaction()
        self.connection = transaction.connection
        self.database = transaction.database
        self.postgresql = backend.name == 'postgresql'
        self.user = transaction.user
        self.Party = Pool().get('party.party')
        self.counts = {}
        self.seconds = {}
        self._sequences = {}

    # -- ids and codes --------------------------------------------------

    def _ids(self, table, count):
        "Reserve `count` ids of `table` from its sequence."
        if not count:
            return []
        if self.postgresql:
            # The server draws them; only the bounds travel. Other sessions
            # drawing meanwhile make the range non contiguous: then fetch
            # the ids one by one.
            cursor = self.connection.cursor()
            if table not in self._sequences:
                cursor.execute('SELECT pg_get_serial_sequence(%s, %s)',
                    (f'"{table}"', 'id'))
                self._sequences[table] = cursor.fetchone()[0]
            cursor.execute('SELECT MIN(i), MAX(i) FROM (SELECT nextval('
                '%s::regclass) AS i FROM generate_series(1, %s)) AS ids',
                (self._sequences[table], count))
            first, last = cursor.fetchone()
            if last - first + 1 == count:
                return range(first, last + 1)
            return self.database.nextid(self.connection, table, count=count)
        cursor = self.connection.cursor()
        cursor.execute(f'SELECT MAX(id) FROM "{table}"')
        last = cursor.fetchone()[0] or 0
        return range(last + 1, last + 1 + count)

    def _party_codes(self, count, registrant_type=None):
        """The next `count` codes of the party sequence, or of the group
        sequence for groups (or None)."""
        if not count:
            return []
        sequence = self.Party._code_sequence(registrant_type=registrant_type)
        if not sequence:
            return [None] * count
        if (sequence.type == 'incremental' and self.database.has_sequence()
                and not sequence._strict):
            prefix = sequence._process(sequence.prefix)
            suffix = sequence._process(sequence.suffix)
            padding = sequence.padding
            cursor = self.connection.cursor()
            cursor.execute('SELECT MIN(n), MAX(n) FROM (SELECT nextval(%s) '
                'AS n FROM generate_series(1, %s)) AS numbers',
                (sequence._sql_sequence_name, count))
            first, last = cursor.fetchone()
            step = sequence.number_increment or 1
            if (last - first) // step + 1 == count:
                numbers = range(first, last + 1, step)
            else:
                numbers = self.database.sequence_nextvals(
                    self.connection, sequence._sql_sequence_name, count)
            return [f'{prefix}{n:0>{padding}d}{suffix}' for n in numbers]
        return list(sequence.get_many(count)) if count else []

    def _now(self):
        "The timestamp the ORM stamps rows with (the transaction start)."
        if not self.postgresql:
            import datetime as dt
            return dt.datetime.now()
        cursor = self.connection.cursor()
        cursor.execute('SELECT CAST(CURRENT_TIMESTAMP AS TIMESTAMP)')
        return cursor.fetchone()[0]

    # -- rows -----------------------------------------------------------

    def _insert(self, table, columns, kinds, rows):
        """Insert `rows` (sequences of `columns`' values) into `table`:
        COPY on PostgreSQL, executemany INSERT on SQLite."""
        started = time.perf_counter()
        count = 0
        names = ', '.join(f'"{c}"' for c in columns)
        cursor = self.connection.cursor()
        if self.postgresql:
            line = copy_formatter(kinds)
            with cursor.copy(
                    f'COPY "{table}" ({names}) FROM STDIN') as copy:
                lines = []
                for row in rows:
                    lines.append(line(row))
                    if len(lines) >= 5000:
                        count += len(lines)
                        lines.append('')
                        copy.write('\n'.join(lines))
                        lines = []
                if lines:
                    count += len(lines)
                    lines.append('')
                    copy.write('\n'.join(lines))
        else:
            rows = list(rows)
            count = len(rows)
            marks = ', '.join('?' * len(columns))
            cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        self._account(table, count, started)

    def _history(self, table, Model, rows, blank=()):
        """Copy the rows just written into the history table, as
        ModelSQL._insert_history does; the `blank` columns are written
        NULL (the state right after the ORM's INSERT, before the write of
        its computed columns)."""
        if not Model._history or not rows:
            return
        started = time.perf_counter()
        columns = [name for name, field in sorted(Model._fields.items())
            if field.sql_type() and not isinstance(field, fields.Function)]
        select = ', '.join('NULL' if c in blank else f'"{c}"'
            for c in columns)
        names = ', '.join(f'"{c}"' for c in columns)
        ids = [r[0] for r in rows]
        cursor = self.connection.cursor()
        # Rows of a batch have increasing ids, but other sessions may
        # interleave: select by range, then keep only ours.
        where = f'id BETWEEN {min(ids)} AND {max(ids)}'
        if max(ids) - min(ids) + 1 != len(ids):
            where += ' AND id IN (%s)' % ','.join(map(str, ids))
        cursor.execute(f'INSERT INTO "{table}__history" ({names}) '
            f'SELECT {select} FROM "{table}" WHERE {where} ORDER BY id')
        self._account(f'{table}__history', len(ids), started)

    def _account(self, table, count, started):
        self.counts[table] = self.counts.get(table, 0) + count
        self.seconds[table] = (self.seconds.get(table, 0)
            + time.perf_counter() - started)
