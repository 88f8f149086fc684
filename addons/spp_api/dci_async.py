"""DCI asynchronous search and transaction status.

POST /registry/search       ACK at once (the spec's Response: ack_status,
                            timestamp, correlation_id); the search runs in
                            an ir.queue task and its on-search envelope is
                            POSTed to header.sender_uri (spp.dci.transaction
                            records the delivery and its retries).
POST /registry/txn/status   the same for a status request: ACK, then a
                            txn-on-status callback.
POST /registry/sync/txn/status  the txn-on-status envelope at once.
POST /registry/subscribe    ACK, then an on-subscribe callback with the
                            subscription codes (dci_subscription.py).
POST /registry/unsubscribe  ACK, then an on-unsubscribe callback.

A status request for a transaction this client did not send is answered
like any other (HTTP 200, or ACK and callback): a txn-on-status envelope
whose status is rjct (rjct.reference_id.invalid).

The sender must be registered (spp.dci.sender) for the asynchronous
endpoints: callbacks go only under its callback URL. A message_id the
sender already sent is refused (HTTP 409, ack_status ERR, code
err.request.bad with the header reason rjct.message_id.duplicate) and
nothing is queued again. A status request names a transaction of any kind
recorded here (txn_type `search`, `txn-status`, `subscribe` or
`unsubscribe`). Envelopes that cannot
be processed are answered ack_status ERR with the spec's error code
(HTTP 400, or 401/403 for authentication and signatures)."""
import json
import uuid

from trytond import backend
from trytond.model.exceptions import SQLConstraintError
from trytond.protocols.wrappers import with_transaction
from trytond.transaction import Transaction

from .dci import SCOPE, dci_endpoint
from .dci_envelope import (
    HeaderFault, check_envelope, check_sender, error_body, now_iso,
    read_envelope, rejected)
from .dci_status import find_transactions, status_envelope
from .dci_token import authenticate_dci
from .handlers import ApiError
from .routes import audit_context

SEARCH_PATH = '/registry/search'
STATUS_PATH = '/registry/txn/status'
SYNC_STATUS_PATH = '/registry/sync/txn/status'
SUBSCRIBE_PATH = '/registry/subscribe'
UNSUBSCRIBE_PATH = '/registry/unsubscribe'


def ack(correlation_id, status='ACK', code=None, message=None):
    """The spec's Response body; an ERR one also carries the errors[] and
    error of an HTTP error answer (error_body)."""
    body = {'message': {'ack_status': status, 'timestamp': now_iso(),
            'correlation_id': correlation_id}}
    if code:
        body.update(error_body(code, message))
        body['message']['error'] = dict(body['error'])
    return body


def err(status, code, message):
    return status, ack(uuid.uuid4().hex, 'ERR', code, message)


def callback_url(sender, header):
    "Where the answer goes: sender_uri under the sender's callback URL."
    uri = header.get('sender_uri')
    base = sender['callback_url'] if sender else None
    if not base:
        raise ApiError(400, 'err.sender_uri.invalid',
            "The sender has no callback URL registered.")
    if uri is None:
        return base
    if not isinstance(uri, str) or len(uri) > 1000 or not uri.startswith(
            base):
        raise ApiError(400, 'err.sender_uri.invalid',
            "header.sender_uri must be under the registered callback URL.")
    return uri


def duplicate(header):
    "The ERR answer to a message_id the sender already sent."
    return err(409, 'err.request.bad',
        f"rjct.message_id.duplicate: header.message_id "
        f"{header['message_id']!r} was already received from sender "
        f"{header['sender_id']!r}; send a new message_id.")


def is_duplicate(pool, sender, header):
    "Whether the sender already sent this message_id."
    return bool(pool.get('spp.dci.transaction').search([
                ('sender', '=', sender['id']),
                ('message_id', '=', header['message_id']),
                ], limit=1))


def receive(request, pool, log, action):
    "ACK and queue an asynchronous request (HTTP status, body)."

    @with_transaction(readonly=False)
    def transaction(request, pool):
        client = authenticate_dci(pool, request, SCOPE, log)
        envelope = read_envelope(request)
        try:
            header = check_envelope(envelope, action)
        except HeaderFault as error:
            return err(400, error.error, f"{error.code}: {error.message}")
        try:
            sender = check_sender(pool, client, header, envelope)
            if sender is None:
                raise ApiError(403, 'err.sender_id.invalid',
                    "Asynchronous calls need a registered sender_id.")
            if is_duplicate(pool, sender, header):
                return duplicate(header)
            url = callback_url(sender, header)
            if action == 'txn-status':
                # A malformed request is refused now; an unknown
                # transaction is answered by the callback (rjct).
                find_transactions(pool, client, envelope['message'])
        except ApiError as error:
            return err(error.status, error.code, error.message)
        correlation_id = uuid.uuid4().hex
        try:
            # The queued answer runs in this context: its audit entry
            # names this call's client and request id (X-Request-Id).
            with Transaction().set_context(
                    audit_context(client, log, 'dci')):
                pool.get('spp.dci.transaction').receive({
                        'kind': action,
                        'client': client['id'],
                        'sender': sender['id'],
                        'transaction_id': (
                            envelope['message']['transaction_id']),
                        'message_id': header['message_id'],
                        'correlation_id': correlation_id,
                        'callback_url': url,
                        'request': json.dumps(envelope, ensure_ascii=False),
                        })
        except (SQLConstraintError, backend.DatabaseIntegrityError):
            # The same message received concurrently: the unique key on
            # (sender, message_id) let one of them through.
            Transaction().rollback()
            Transaction().tasks.clear()
            return duplicate(header)
        return 202, ack(correlation_id)
    return transaction(request, pool)


def sync_status(request, pool, log):

    @with_transaction(readonly=True)
    def transaction(request, pool):
        client = authenticate_dci(pool, request, SCOPE, log)
        envelope = read_envelope(request)
        try:
            header = check_envelope(envelope, 'txn-status')
        except HeaderFault as error:
            return 400, rejected(envelope, error, 'txn-on-status')
        check_sender(pool, client, header, envelope)
        return 200, status_envelope(pool, client, header,
            envelope['message'])
    return transaction(request, pool)


registry_search = dci_endpoint(SEARCH_PATH,
    lambda request, pool, log: receive(request, pool, log, 'search'))
registry_txn_status = dci_endpoint(STATUS_PATH,
    lambda request, pool, log: receive(request, pool, log, 'txn-status'))
registry_sync_txn_status = dci_endpoint(SYNC_STATUS_PATH, sync_status)
registry_subscribe = dci_endpoint(SUBSCRIBE_PATH,
    lambda request, pool, log: receive(request, pool, log, 'subscribe'))
registry_unsubscribe = dci_endpoint(UNSUBSCRIBE_PATH,
    lambda request, pool, log: receive(request, pool, log, 'unsubscribe'))
