"""SQLite connections closed when their last user hands them back.

trytond's SQLite backend opens a connection (three file descriptors in WAL
mode: the database, -wal and -shm) for every transaction and every session
check, and never closes it: it drops it with its `Database` object. But
Python 3.11's sqlite3 connection is in a reference cycle of its own (its
statement cache, a functools.lru_cache, wraps the connection), so dropping
it frees nothing: only the cyclic garbage collector closes it. Under load,
requests that last survive into the oldest generation, which is collected
only when it has grown by a quarter: the demo held 14,036 descriptors after
two minutes of 50 clients, then answered "unable to open database file".

A `Database` object counts the connections it hands out
(`get_connection`) and closes its connection when the last one is put back
(`put_connection`): Transaction.start takes one and Transaction.stop puts
it back, Cache.sync takes and puts back the transaction's own in between,
security.check and the bus take and put back their own. In-memory
databases (the unit tests) keep trytond's behaviour: closing would drop
their data.

PostgreSQL is not concerned: its connections come from a pool.
"""
import sys

_CHECKOUTS = '_spp_checkouts'


def _is_file(database):
    return database.name != ':memory:'


def install():
    """Patch trytond's SQLite backend (once).

    Only once trytond.backend is imported: it picks the backend from the
    configuration when first imported, which a tool importing this module
    before reading its configuration (spp-registry-import) must not have
    happen early. Every server imports it before it starts its pool, which
    imports this module."""
    if 'trytond.backend' not in sys.modules:
        return
    from trytond.backend.sqlite.database import Database
    if getattr(Database.put_connection, '_spp_closes', False):
        return
    get_connection, put_connection = (
        Database.get_connection, Database.put_connection)

    def get_connection_counted(self, *args, **kwargs):
        connection = get_connection(self, *args, **kwargs)
        if _is_file(self):
            setattr(self, _CHECKOUTS, getattr(self, _CHECKOUTS, 0) + 1)
        return connection

    def put_connection_closing(self, connection=None):
        put_connection(self, connection)
        checkouts = getattr(self, _CHECKOUTS, 0)
        if _is_file(self) and checkouts:
            setattr(self, _CHECKOUTS, checkouts - 1)
            if checkouts == 1:
                self.close()

    put_connection_closing._spp_closes = True
    Database.get_connection = get_connection_counted
    Database.put_connection = put_connection_closing
