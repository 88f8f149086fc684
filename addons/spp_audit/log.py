"""The audit log: append-only, hash-chained entries (see chain.py).

Entries are never created through the ORM: the recorder gathers them during
a transaction and `append()` inserts them in one statement when it commits.
The chain is sealed after the commit: `seal()` gives the committed entries
that have none their position and hash, in the order it finds them, under
a lock that only sealers take, so that transactions commit side by side
instead of one after the other. Nobody writes or deletes an entry: not
through the client or RPC (the model refuses and no group has the
permission), not by SQL on PostgreSQL (a trigger refuses DELETE, TRUNCATE
and every UPDATE but the sealing of an unsealed entry)."""
import itertools

from sql import Null
from sql.functions import ToChar
from sql.operators import Like

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import Transaction

from . import chain, seal
from .recorder import dumps, recorder

CHANNELS = [
    ('rpc', "Web Client or JSON-RPC"),
    ('export', "Export"),
    ('rest', "REST API"),
    ('dci', "DCI"),
    ('system', "Server (cron, worker, command line)"),
    ]
TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION spp_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    -- OLD and NEW exist in the row trigger (UPDATE) only.
    IF TG_OP = 'UPDATE' THEN
        IF OLD.position IS NULL AND OLD.hash IS NULL
                AND NEW.position IS NOT NULL AND NEW.hash IS NOT NULL
                -- Every other column, present and future, unchanged.
                AND to_jsonb(NEW) - 'position' - 'hash'
                    = to_jsonb(OLD) - 'position' - 'hash' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'spp_audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql"""
TRIGGERS = {
    # Sealing is the only UPDATE, row by row; the rest is refused whole.
    'spp_audit_log_seal_only': """
CREATE TRIGGER spp_audit_log_seal_only
    BEFORE UPDATE ON spp_audit_log
    FOR EACH ROW EXECUTE FUNCTION spp_audit_log_append_only()""",
    'spp_audit_log_append_only': """
CREATE TRIGGER spp_audit_log_append_only
    BEFORE DELETE OR TRUNCATE ON spp_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION spp_audit_log_append_only()""",
    }


ROWS_BATCH = 20000
_cursors = itertools.count()


def read_fields(names):
    """The fields a read returned, without the client's bookkeeping
    (`_timestamp`, `_write`...) and with `state:string` as `state`."""
    return sorted({n.split(':', 1)[0] for n in names if not n.startswith('_')})


def id_list(ids):
    "Ids as the searchable text ',1,2,3,' (see Log.search_record)."
    return ',' + ','.join(map(str, ids)) + ',' if ids else None


class Log(ModelSQL, ModelView):
    "Audit Entry"
    __string__ = "Audit Entry"
    __name__ = 'spp.audit.log'

    position = fields.Integer("Position", readonly=True,
        help="The entry's place in the hash chain, given when it is sealed "
        "right after its transaction commits.")
    timestamp = fields.Timestamp("Time", readonly=True, required=True)
    user = fields.Many2One('res.user', "User", readonly=True,
        ondelete='RESTRICT')
    api_client = fields.Integer("API Client ID", readonly=True)
    channel = fields.Selection(CHANNELS, "Channel", readonly=True)
    request_id = fields.Char("Request ID", readonly=True)
    model = fields.Selection('get_models', "Record Type", readonly=True)
    record_id = fields.Integer("Record ID", readonly=True)
    records = fields.Text("Record IDs", readonly=True)
    record = fields.Function(fields.Integer("Record"),
        'get_record', searcher='search_record')
    resource = fields.Function(fields.Reference("Resource",
            selection='get_resource_models'), 'get_resource')
    count = fields.Integer("Count", readonly=True,
        help="How many records the action touched or the read returned.")
    action = fields.Char("Action", readonly=True)
    changes = fields.Text("Changes", readonly=True,
        help="Each changed field: [old value, new value].")
    query = fields.Text("Query", readonly=True)
    details = fields.Text("Details", readonly=True)
    hash = fields.Char("Hash", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('position_unique', Unique(t, t.position),
                'spp_audit.msg_log_position_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.model, Index.Equality()),
                    (t.record_id, Index.Equality())),
                Index(t, (t.user, Index.Equality()),
                    (t.timestamp, Index.Range())),
                Index(t, (t.timestamp, Index.Range())),
                Index(t, (t.id, Index.Range()), where=t.position == Null),
                })
        cls._order = [('position', 'DESC'), ('id', 'DESC')]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cursor = Transaction().connection.cursor()
        if backend.name == 'postgresql':
            cursor.execute(TRIGGER_FUNCTION)
            for name, trigger in TRIGGERS.items():
                cursor.execute(
                    f'DROP TRIGGER IF EXISTS {name} ON spp_audit_log')
                cursor.execute(trigger)

    @classmethod
    def create(cls, vlist):
        if vlist:
            raise AccessError(gettext('spp_audit.msg_log_append_only'))
        return []

    @classmethod
    def write(cls, *args):
        if any(args[::2]):
            raise AccessError(gettext('spp_audit.msg_log_append_only'))

    @classmethod
    def delete(cls, entries):
        if entries:
            raise AccessError(gettext('spp_audit.msg_log_append_only'))

    @classmethod
    def copy(cls, entries, default=None):
        if entries:
            raise AccessError(gettext('spp_audit.msg_log_append_only'))
        return []

    def get_rec_name(self, name):
        model = dict(self.get_models()).get(self.model, self.model)
        return f"#{self.position} {self.action} {model or ''}"

    @classmethod
    def get_models(cls):
        return [(None, '')] + Pool().get('ir.model').get_name_items()

    @classmethod
    def get_resource_models(cls):
        """The audited models the user may read: the client leaves out a
        reference whose selection holds a model the user cannot read."""
        pool = Pool()
        Access = pool.get('ir.model.access')
        Rule = pool.get('spp.audit.rule')
        names = dict(pool.get('ir.model').get_name_items())
        # The user's own rights, also where fields are computed unchecked.
        with Transaction().set_context(_check_access=True):
            readable = [m for m in Rule.audited_models()
                if Access.check(m, 'read', raise_exception=False)]
        return [(None, '')] + sorted(
            ((m, names.get(m, m)) for m in readable),
            key=lambda item: item[1])

    def get_record(self, name):
        return self.record_id

    @classmethod
    def get_resource(cls, entries, name):
        readable = dict(cls.get_resource_models())
        return {e.id: f'{e.model},{e.record_id}'
            if e.model and e.model in readable and e.record_id else None
            for e in entries}

    @classmethod
    def search_record(cls, name, clause):
        "Entries about one record: as their record or among their ids."
        _, operator, value = clause[:3]
        if operator != '=' or not isinstance(value, int):
            return [('record_id', operator, value)]
        table = cls.__table__()
        query = table.select(table.id, where=(table.record_id == value)
            | Like(table.records, f'%,{value},%'))
        return [('id', 'in', query)]

    @classmethod
    def append(cls, entries, cursor=None):
        """Insert entries (dicts) unsealed, in one statement.

        Called when their transaction commits, on its cursor, or on the
        cursor of a connection of their own (see append_committed)."""
        table = cls.__table__()
        if cursor is None:
            cursor = Transaction().connection.cursor()
        names = chain.INSERTED
        columns = [getattr(table, c) for c in names] + [
            table.create_uid, table.create_date]
        rows = [[e.get(c) for c in names] + [0, e['timestamp']]
            for e in entries]
        for start in range(0, len(rows), 1000):
            cursor.execute(*table.insert(columns, rows[start:start + 1000]))

    @classmethod
    def append_committed(cls, entries):
        """Append entries in a transaction of their own, committed here:
        those of a read-only transaction (most REST and DCI calls), which
        cannot insert. On PostgreSQL a bare connection, not a second
        trytond transaction."""
        transaction = Transaction()
        if backend.name != 'postgresql':
            with transaction.new_transaction() as writer:
                cls.append(entries)
                writer.commit()
            return
        database = transaction.database
        connection = database.get_connection()
        try:
            cls.append(entries, cursor=connection.cursor())
            connection.commit()
        except Exception:
            connection.rollback()
            raise
        finally:
            database.put_connection(connection)

    @classmethod
    def seal_committed(cls):
        "Seal what has committed (seal.py); also the cron job's method."
        return seal.seal_committed(Transaction().database.name)

    @classmethod
    def flush(cls):
        """Append and seal the current transaction's pending entries in
        it: what its commit would do, for tests, which roll their
        transactions back."""
        recorder().commit(Transaction())
        cursor = Transaction().connection.cursor()
        if backend.name == 'postgresql':
            cursor.execute('SELECT pg_advisory_xact_lock(%s)',
                (seal.CHAIN_LOCK,))
        seal.seal(cursor)

    @classmethod
    def rows(cls, cursor, start=1):
        """The chain's rows (COLUMNS..., hash) from position `start` on.

        On PostgreSQL through a server-side cursor (the client holds one
        batch, not the whole log) with the timestamp already as the text
        that is hashed (chain.timestamp_text), in the binary protocol."""
        table = cls.__table__()
        columns = [getattr(table, c) for c in chain.COLUMNS]
        postgresql = backend.name == 'postgresql'
        if postgresql:
            columns[1] = ToChar(table.timestamp, 'YYYY-MM-DD HH24:MI:SS.US')
        query = table.select(*columns, table.hash,
            where=table.position >= start,
            order_by=[table.position.asc])
        if postgresql:
            # Named after a counter: two walks may run in one transaction.
            cursor = cursor.connection.cursor(
                name=f'spp_audit_rows_{next(_cursors)}')
        try:
            cursor.execute(*query, **({'binary': True} if postgresql else {}))
            while True:
                batch = cursor.fetchmany(ROWS_BATCH)
                if not batch:
                    return
                yield from batch
        finally:
            if postgresql:
                cursor.close()

    # The entries of the audited models, written by the mixin (audited.py)
    # and by the addons' named actions.

    @classmethod
    def config(cls, model):
        return Pool().get('spp.audit.rule').config(model)

    @classmethod
    def record_access(cls, model, ids, query=None, count=None,
            fields=None, channel=None):
        """Record that the caller received records of `model`.

        One entry for the whole answer: the ids, how many, and the query
        or the fields read; nothing when the model's access is not audited."""
        config = cls.config(model)
        if not config or not config['access']:
            return
        ids = sorted({int(i) for i in ids if i is not None and int(i) >= 0})
        entry = {
            'model': model, 'action': 'access',
            'record_id': ids[0] if len(ids) == 1 else None,
            'records': id_list(ids),
            'count': len(ids) if count is None else count,
            'query': dumps(query),
            'details': dumps({'fields': read_fields(fields)} if fields
                else None),
            }
        if channel:
            entry['channel'] = channel
        recorder().add(**entry)

    @classmethod
    def record_action(cls, model, ids, action, details=None, count=None):
        """Record a named lifecycle action on records of `model`.

        Bulk operations pass their parameters and counts in `details`: one
        entry per operation, however many rows it touched."""
        config = cls.config(model)
        if not config or action not in config['actions']:
            return
        ids = sorted({int(i) for i in ids})
        recorder().add(
            model=model, action=action,
            record_id=ids[0] if len(ids) == 1 else None,
            records=id_list(ids) if len(ids) > 1 else None,
            count=len(ids) if count is None else count,
            details=dumps(details))

    @classmethod
    def record_changes(cls, model, action, changes_by_id):
        "Record one create, write or delete entry per record."
        add = recorder().add_changes
        for record_id, changes in changes_by_id.items():
            add(model, action, record_id, changes)

