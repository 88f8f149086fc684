"""Sealing the audit chain: the committed entries that have no position yet
get the next positions and their hashes (chain.py), and are copied off the
database (sink.py).

Transactions only insert their entries (Log.append); sealing comes after
their commit, under a lock that only sealers take, so that transactions
commit side by side instead of queueing behind one lock. On PostgreSQL each
server process seals in a background thread `seal_delay` seconds after a
commit woke it (`[spp_audit] seal_delay`, default 0.2; 0 seals before the
call returns), so that one sealing covers the entries of many calls; the
cron job seals every minute what a crash between commit and seal left.
SQLite (the demo, the fast tests) seals before the call returns."""
import logging
import os
import threading
import time

from psycopg import IsolationLevel
from sql import Null, Table, Values

from trytond import backend, config
from trytond.transaction import Transaction

from . import chain, sink

# Any constant: the key of the PostgreSQL advisory lock of the sealers.
CHAIN_LOCK = 0x5350_4155  # "SPAU"
DEFAULT_DELAY = 0.2
logger = logging.getLogger(__name__)
# SQLite has no advisory lock: the sealers of one process take turns.
_sqlite_sealing = threading.Lock()
_sealers = {}
_sealers_lock = threading.Lock()


def seal(cursor):
    """Give the unsealed entries the cursor sees their position and hash, in
    the order of their ids, after the chain's head; return them (dicts of
    chain.COLUMNS, hash and id). The caller holds the sealers' lock."""
    table = Table('spp_audit_log')
    names = chain.INSERTED
    cursor.execute(*table.select(table.id,
            *(getattr(table, c) for c in names),
            where=table.position == Null, order_by=[table.id.asc]))
    rows = cursor.fetchall()
    if not rows:
        return []
    cursor.execute(*table.select(table.position, table.hash,
            where=table.position != Null,
            order_by=[table.position.desc], limit=1))
    position, previous = cursor.fetchone() or (0, chain.GENESIS)
    sealed = []
    for id_, *values in rows:
        position += 1
        entry = dict(zip(names, values), id=id_, position=position)
        previous = entry['hash'] = chain.entry_hash(
            previous, [entry[c] for c in chain.COLUMNS])
        sealed.append(entry)
    for start in range(0, len(sealed), 1000):
        sealing = Values([(e['id'], e['position'], e['hash'])
                for e in sealed[start:start + 1000]])
        cursor.execute(*table.update([table.position, table.hash],
                [sealing.column2, sealing.column3],
                from_=[sealing], where=table.id == sealing.column1))
    return sealed


def seal_committed(database_name):
    """Seal what has committed in `database_name`, in transactions of their
    own, and copy it off the database; return how many entries were sealed.

    On PostgreSQL a sealer that finds another at work leaves it the
    entries: that one looks once more after it let the lock go, so no
    committed entry waits for the next commit or the cron."""
    if backend.name != 'postgresql':
        with _sqlite_sealing, \
                Transaction(new=True).start(database_name, 0) as writer:
            sealed = seal(writer.connection.cursor())
            writer.commit()
        sink.emit(sealed)
        return len(sealed)
    database = backend.Database(database_name).connect()
    connection = database.get_connection(autocommit=True)
    count = 0
    try:
        cursor = connection.cursor()
        unsealed = Table('spp_audit_log')
        unsealed = unsealed.select(unsealed.id,
            where=unsealed.position == Null, limit=1)
        while True:
            cursor.execute('SELECT pg_try_advisory_lock(%s)', (CHAIN_LOCK,))
            if not cursor.fetchone()[0]:
                break
            try:
                # One transaction that sees all that committed before it.
                connection.autocommit = False
                connection.isolation_level = IsolationLevel.READ_COMMITTED
                sealed = seal(cursor)
                connection.commit()
            except Exception:
                connection.rollback()
                raise
            finally:
                connection.autocommit = True
                cursor.execute('SELECT pg_advisory_unlock(%s)', (CHAIN_LOCK,))
            sink.emit(sealed)
            count += len(sealed)
            # Entries committed while the lock was held, whose sealer
            # found it taken.
            cursor.execute(*unsealed)
            if not cursor.fetchone():
                break
    finally:
        database.put_connection(connection)
    return count


def committed(database_name):
    "Entries were committed in `database_name`: seal them now or soon."
    delay = config.getfloat('spp_audit', 'seal_delay', default=DEFAULT_DELAY)
    if backend.name != 'postgresql' or delay <= 0:
        seal_committed(database_name)
        return
    key = (os.getpid(), database_name)  # a forked worker starts its own
    with _sealers_lock:
        sealer = _sealers.get(key)
        if sealer is None:
            sealer = _sealers[key] = Sealer(database_name, delay)
            sealer.start()
    sealer.wake.set()


class Sealer(threading.Thread):
    "Seals a database's entries `delay` seconds after a commit woke it."

    def __init__(self, database_name, delay):
        super().__init__(name=f'spp_audit_sealer_{database_name}',
            daemon=True)
        self.database_name = database_name
        self.delay = delay
        self.wake = threading.Event()

    def run(self):
        while True:
            self.wake.wait()
            # The commits of the next moments are sealed with this one.
            time.sleep(self.delay)
            self.wake.clear()
            try:
                seal_committed(self.database_name)
            except Exception:
                logger.exception("sealing the audit entries of %s failed "
                    "(the cron job seals them)", self.database_name)
