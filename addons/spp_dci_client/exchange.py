"""The record of every DCI exchange with an external registry, both ways.

One row per call we make (direction out: a search page, a subscription,
an enrolment batch…) and per message a registry sends us (direction in:
an asynchronous answer, a notification). It says who, when, what was
asked (a query type and attribute names, never a value), how many records
came back, how it ended and how long it took: no name, number or date of
a person is kept here.

Outbound rows are written in a transaction of their own (`record()`), so
that a call that failed is on record although the work that made it is
rolled back. An inbound message is recorded in the transaction that
processes it, and its message_id is unique per registry: a message sent
again is refused, never processed twice."""
import datetime as dt

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.modelsql import ForeignKeyError
from trytond.pool import Pool
from trytond.transaction import Transaction

STATES = [
    ('done', "Done"),
    ('waiting', "Waiting for Answer"),
    ('answered', "Answered"),
    ('failed', "Failed"),
    ('refused', "Refused"),
    ]


class Exchange(ModelSQL, ModelView):
    "DCI Exchange"
    __string__ = "DCI Exchange"
    __name__ = 'spp.dci.exchange'
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, readonly=True, ondelete='CASCADE')
    direction = fields.Selection([
            ('out', "Sent"),
            ('in', "Received"),
            ], "Direction", required=True, readonly=True)
    action = fields.Char("Action", readonly=True)
    endpoint = fields.Char("Endpoint", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True,
        ondelete='SET NULL')
    timestamp = fields.Timestamp("Time", readonly=True)
    message_id = fields.Char("Message ID", readonly=True)
    transaction_id = fields.Char("Transaction ID", readonly=True)
    asked = fields.Text("Asked", readonly=True,
        help="The query's type and attribute names (no values).")
    records = fields.Integer("Records", readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    http_status = fields.Integer("HTTP Status", readonly=True)
    attempts = fields.Integer("Attempts", readonly=True)
    duration = fields.Integer("Duration (ms)", readonly=True)
    error_code = fields.Char("Error Code", readonly=True)
    error = fields.Text("Error", readonly=True)
    purpose = fields.Char("Purpose", readonly=True,
        help="The record ('model,id') an asynchronous answer belongs to.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('message_unique', Unique(t, t.registry, t.direction,
                    t.message_id),
                'spp_dci_client.msg_exchange_replayed'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.registry, Index.Range()),
                    (t.transaction_id, Index.Equality())),
                Index(t, (t.timestamp, Index.Range(order='DESC'))),
                })
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]

    @staticmethod
    def default_state():
        return 'done'

    @classmethod
    def record(cls, values):
        """Write an outbound exchange in a transaction of its own,
        committed whatever becomes of the caller's."""
        transaction = Transaction()
        values = {**values, 'user': transaction.user,
            'timestamp': dt.datetime.now()}
        if transaction.database.name == ':memory:' or (
                backend.name == 'sqlite'
                and transaction.connection.in_transaction):
            # In-memory SQLite (the unit tests) has one connection; a
            # SQLite file has one writer at a time, and the caller (a
            # queue task that wrote already) holds it: a second
            # transaction would wait for it until "database is locked".
            # The row is written in the caller's transaction.
            return cls.create([values])
        try:
            with transaction.new_transaction() as new, new.set_user(0):
                cls.create([values])
                new.commit()
        except (backend.DatabaseIntegrityError, ForeignKeyError):
            # The registry (or the user) is not committed yet: created in
            # the caller's transaction, its exchanges go with it.
            cls.create([values])

    @classmethod
    def waiting(cls, registry, transaction_id):
        "The outbound exchange awaiting the answer of a transaction."
        exchanges = cls.search([
                ('registry', '=', registry.id),
                ('direction', '=', 'out'),
                ('transaction_id', '=', transaction_id),
                ('state', '=', 'waiting'),
                ], limit=1)
        return exchanges[0] if exchanges else None

    @classmethod
    def purpose_record(cls, exchange):
        "The record an asynchronous answer belongs to, or None."
        if not exchange.purpose:
            return None
        model, _, id_ = exchange.purpose.partition(',')
        try:
            Model = Pool().get(model)
            return Model(int(id_))
        except (KeyError, ValueError):
            return None

