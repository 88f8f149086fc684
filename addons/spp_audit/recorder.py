"""Audit entries of a transaction, written when it commits.

Entries are gathered in memory while a transaction runs and written in one
INSERT when it commits (before the database commit, in the same transaction:
what did not commit was not done, and what commits is logged or nothing
commits). A read-only transaction (an RPC read) cannot insert: its access
entries are written right after it, in a transaction of their own. Once
committed, the entries are sealed into the chain and copied off the
database (seal.py)."""
import datetime as dt
import json
import logging
import uuid
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction

from . import seal

logger = logging.getLogger(__name__)



def json_value(value):
    "A value of a field as JSON can hold it (ids for relations)."
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if hasattr(value, 'id'):
        return value.id
    return value


def dumps(value):
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'),
        sort_keys=True, default=str)


def channel():
    """How the current call reached the server.

    The API sets `spp_audit_channel` (rest, dci); a JSON-RPC call from the
    web client or a script carries `_request`; anything else is the
    server's own work (cron, queue worker, command line)."""
    context = Transaction().context
    if context.get('spp_audit_channel'):
        return context['spp_audit_channel']
    if context.get('_request'):
        return 'rpc'
    return 'system'


class Recorder:
    "The audit entries of one transaction (a trytond data manager)."

    def __init__(self):
        self.entries = []
        self.request_id = uuid.uuid4().hex
        self.appended = False
        # The create or write entry of each record, to merge later writes.
        self.changed = {}

    # One recorder per transaction: Transaction.join() finds it by equality.
    def __eq__(self, other):
        return isinstance(other, Recorder)

    def __hash__(self):
        return hash(Recorder)

    def add_changes(self, model, action, record_id, changes):
        """One entry per record and transaction: a write merges into the
        record's create or write entry (the first old value, the last new
        one), as the ORM's own follow-up writes would otherwise add
        entries of their own."""
        key = (model, record_id)
        previous = self.changed.get(key) if action == 'write' else None
        if previous is None:
            entry = self.add(model=model, action=action, record_id=record_id,
                count=1, changes=changes)
            if action in {'create', 'write'}:
                self.changed[key] = entry
            return
        merged = previous['changes'] or {}
        for name, (old, new) in changes.items():
            first = merged[name][0] if name in merged else old
            if first == new and previous['action'] == 'write':
                merged.pop(name, None)
            else:
                merged[name] = [first, new]
        previous['changes'] = merged

    def add(self, **entry):
        transaction = Transaction()
        context = transaction.context
        entry.setdefault('timestamp', dt.datetime.now())
        entry.setdefault('user', transaction.user or None)
        entry.setdefault('api_client', context.get('spp_api_client'))
        entry.setdefault('channel', channel())
        entry.setdefault('request_id',
            context.get('spp_request_id') or self.request_id)
        self.entries.append(entry)
        return entry

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        if self.entries and not transaction.readonly:
            self.appended |= self._write(transaction)
        self.changed.clear()

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        if self.entries and transaction.readonly:
            self.appended |= self._write(transaction, committed=True)
        if self.appended:
            try:
                seal.committed(transaction.database.name)
            except Exception:
                # Committed all the same: the next sealer (cron at the
                # latest) seals them.
                logger.exception("audit entries committed, not sealed yet")
        self.entries, self.appended = [], False

    def tpc_abort(self, transaction):
        self.entries, self.appended = [], False
        self.changed.clear()

    def _write(self, transaction, committed=False):
        "Append the pending entries; whether there were any."
        with Transaction().set_current_transaction(transaction), \
                transaction.set_user(0):
            Log = Pool().get('spp.audit.log')
            entries, self.entries = self.entries, []
            for entry in entries:
                if isinstance(entry.get('changes'), dict):
                    entry['changes'] = dumps(entry['changes'] or None)
            entries = [e for e in entries
                if e['action'] != 'write' or e.get('changes')]
            if not entries:
                return False
            if committed:
                Log.append_committed(entries)
            else:
                Log.append(entries)
            return True


def recorder():
    "The current transaction's recorder."
    return Transaction().join(Recorder())
