"""Asynchronous DCI transactions: a search, a status request, a
subscribe or unsubscribe request received, answered in an `ir.queue` task
and delivered to the sender's callback; and the notifications to
subscribers (kind `notify`, dci_subscription.py), queued with their
envelope and delivered the same way.

Life cycle: `queued` when the request is acknowledged; the task computes
the answer and POSTs it to the callback URL (`on-search`,
`txn-on-status`, `on-subscribe`, `on-unsubscribe`, `notify`);
`delivered` on a 2xx answer, else `retrying` with the next attempt after
`[spp_dci] retry_delays` (seconds, default 30 120 600 1800 3600: one
delay per retry), then `failed`. Retries are queued with a schedule when
a worker runs, and the `deliver_due` cron job sends whatever is due in
any case (deployments without a worker).

Privacy: the request and the answer (personal data) are kept only until
the answer is delivered or given up; what stays is the status of each
reference id, which is what /registry/txn/status reports, for every kind.

A sender's message_id is recorded once (unique with the sender): a message
sent again is refused (`rjct.message_id.duplicate`), never processed
twice."""
import datetime as dt
import json

import requests

from trytond import config
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .client import utcnow
from .dci_status import answer_transaction, reference_statuses

STATES = [
    ('queued', "Queued"),
    ('retrying', "Retrying"),
    ('delivered', "Delivered"),
    ('failed', "Failed"),
    ]


def retry_delays():
    text = config.get('spp_dci', 'retry_delays',
        default='30 120 600 1800 3600')
    return [int(d) for d in text.replace(',', ' ').split()]


class DciTransaction(ModelSQL, ModelView):
    "DCI Transaction"
    __string__ = "DCI Transaction"
    __name__ = 'spp.dci.transaction'
    kind = fields.Selection([
            ('search', "Search"),
            ('txn-status', "Status Request"),
            ('subscribe', "Subscribe"),
            ('unsubscribe', "Unsubscribe"),
            ('notify', "Notification"),
            ], "Kind", required=True, readonly=True)
    client = fields.Many2One('spp.api.client', "API Client", required=True,
        readonly=True, ondelete='CASCADE')
    sender = fields.Many2One('spp.dci.sender', "Sender", readonly=True,
        ondelete='SET NULL')
    transaction_id = fields.Char("Transaction ID", required=True,
        readonly=True)
    message_id = fields.Char("Message ID", readonly=True)
    correlation_id = fields.Char("Correlation ID", required=True,
        readonly=True)
    callback_url = fields.Char("Callback URL", required=True, readonly=True)
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    request = fields.Text("Request", readonly=True)
    response = fields.Text("Response", readonly=True)
    references = fields.Text("Reference Statuses", readonly=True,
        help="JSON: the status of each reference id of the request.")
    attempts = fields.Integer("Attempts", readonly=True)
    last_attempt = fields.DateTime("Last Attempt", readonly=True)
    next_attempt = fields.DateTime("Next Attempt", readonly=True,
        states={'invisible': Eval('state') != 'retrying'})
    last_error = fields.Char("Last Error", readonly=True)
    delivered = fields.DateTime("Delivered", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sender_message_unique', Unique(t, t.sender, t.message_id),
                'spp_api.msg_dci_message_id_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.client, Index.Range()),
                    (t.transaction_id, Index.Equality())),
                Index(t, (t.correlation_id, Index.Equality())),
                Index(t, (t.state, Index.Equality()),
                    (t.next_attempt, Index.Range()),
                    where=t.state == 'retrying'),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'retry': {
                    'invisible': ~Eval('state').in_(['retrying', 'failed'])
                    | ~Eval('response'),
                    'depends': ['state', 'response'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def receive(cls, values):
        """Record a request and queue its processing; the caller's
        transaction commits both, so an ACK is never lost."""
        transaction, = cls.create([values])
        cls.__queue__.process([transaction])
        return transaction

    @classmethod
    def queue_notification(cls, values):
        """Record a notification (its envelope in `response`) and queue its
        delivery, which the caller's commit releases."""
        transaction, = cls.create([{**values, 'state': 'queued'}])
        cls.__queue__.deliver([transaction])
        return transaction

    @classmethod
    def process(cls, transactions):
        "Compute the answers (queued task), then deliver them."
        for transaction in transactions:
            if transaction.state != 'queued':
                continue
            envelope = answer_transaction(transaction)
            transaction.response = json.dumps(envelope, ensure_ascii=False)
            transaction.references = json.dumps(reference_statuses(
                    transaction.kind, json.loads(transaction.request),
                    envelope), ensure_ascii=False)
            transaction.request = None
        cls.save(transactions)
        cls.deliver([t for t in transactions if t.response])

    @classmethod
    def deliver(cls, transactions, due_only=False):
        """POST each answer to its callback URL; schedule a retry on
        failure (see the module docstring).

        The rows are locked first and read after, so the worker's retry
        and the cron job never send the same answer twice."""
        from .dci_signature import sign_envelope
        if not transactions:
            return
        cls.lock(transactions)
        transactions = cls.browse([t.id for t in transactions])
        delays = retry_delays()
        timeout = config.getfloat('spp_dci', 'callback_timeout', default=10)
        retry_later = []
        for transaction in transactions:
            if transaction.state not in {'queued', 'retrying', 'failed'} \
                    or not transaction.response:
                continue
            if due_only and (transaction.state != 'retrying'
                    or transaction.next_attempt > utcnow()):
                continue
            envelope = json.loads(transaction.response)
            envelope.pop('signature', None)
            # Signed at each attempt: a signature expires.
            body = sign_envelope(envelope)
            now = utcnow()
            transaction.attempts = (transaction.attempts or 0) + 1
            transaction.last_attempt = now
            try:
                answer = requests.post(transaction.callback_url, json=body,
                    timeout=timeout, allow_redirects=False)
                error = (None if 200 <= answer.status_code < 300
                    else f"HTTP {answer.status_code}")
            except requests.RequestException as exception:
                error = type(exception).__name__
            if error is None:
                transaction.state = 'delivered'
                transaction.delivered = now
                transaction.next_attempt = None
                transaction.last_error = None
                transaction.response = None
            elif transaction.attempts <= len(delays):
                delay = delays[transaction.attempts - 1]
                transaction.state = 'retrying'
                # From the failure, not the attempt's start: an attempt
                # that waited for its timeout is not retried at once.
                transaction.next_attempt = utcnow() + dt.timedelta(
                    seconds=delay)
                transaction.last_error = error[:200]
                retry_later.append((transaction, delay))
            else:
                transaction.state = 'failed'
                transaction.next_attempt = None
                transaction.last_error = error[:200]
                transaction.response = None
        cls.save(transactions)
        if config.getboolean('queue', 'worker', default=False):
            # Without a worker a queued task runs at once: the cron job
            # (deliver_due) takes the retries instead.
            for transaction, delay in retry_later:
                with Transaction().set_context(
                        queue_scheduled_at=dt.timedelta(seconds=delay)):
                    cls.__queue__.deliver_if_due([transaction])

    @classmethod
    def deliver_if_due(cls, transactions):
        "Queued retry: deliver unless the cron job did it meanwhile."
        cls.deliver(transactions, due_only=True)

    @classmethod
    def deliver_due(cls):
        "Cron: send the callbacks whose next attempt is due."
        due = cls.search([
                ('state', '=', 'retrying'),
                ('next_attempt', '<=', utcnow()),
                ], order=[('next_attempt', 'ASC')], limit=200)
        cls.deliver(due, due_only=True)

    @classmethod
    @ModelView.button
    def retry(cls, transactions):
        "Send the answer again now (an administrator's retry)."
        cls.deliver([t for t in transactions if t.response])


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('spp.dci.transaction|deliver_due', "Deliver DCI Callbacks"))
