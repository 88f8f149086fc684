"""DCI asynchronous search and transaction status.

POST /registry/search       ACK at once (the spec's Response: ack_status,
                            timestamp, correlation_id); the search runs in
                            an ir.queue task and its on-search envelope is
                            POSTed to header.sender_uri (spp.dci.transaction
                            records the delivery and its retries).
POST /registry/txn/status   the same for a status request: ACK, then a
                            txn-on-status callback.
POST /registry/sync/txn/status  the txn-on-status envelope at once.

The sender must be registered (spp.dci.sender) for the asynchronous
endpoints: callbacks go only under its callback URL. A message_id the
sender already sent is refused (HTTP 409, ack_status ERR, code
err.request.bad with the header reason rjct.message_id.duplicate) and
nothing is queued again. A status request names a transaction of any kind
recorded here (txn_type `search` or `txn-status`). Envelopes that cannot
be processed are answered ack_status ERR with the spec's error code
(HTTP 400, or 401/403 for authentication and signatures)."""
import json
import uuid

from trytond import backend
from trytond.model.exceptions import SQLConstraintError
from trytond.protocols.wrappers import with_transaction
from trytond.transaction import Transaction

from .dci import (
    SCOPE, HeaderFault, check_envelope, check_sender, dci_endpoint,
    header_of, now_iso, on_search_envelope, read_envelope, response_header,
    search_responses)
from .dci_signature import sign_envelope
from .dci_token import authenticate_dci
from .dci_transaction import load_client, request_references
from .handlers import ApiError, Scope

SEARCH_PATH = '/registry/search'
STATUS_PATH = '/registry/txn/status'
SYNC_STATUS_PATH = '/registry/sync/txn/status'
REFERENCE_TYPES = {'transaction_id', 'reference_id_list', 'correlation_id'}


def ack(correlation_id, status='ACK', code=None, message=None):
    "The spec's Response body."
    body = {'message': {'ack_status': status, 'timestamp': now_iso(),
            'correlation_id': correlation_id}}
    if code:
        body['message']['error'] = {'code': code, 'message': message[:999]}
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
            return err(400, 'err.request.bad',
                f"{error.code}: {error.message}")
        try:
            sender = check_sender(pool, client, header, envelope)
            if sender is None:
                raise ApiError(403, 'err.sender_id.invalid',
                    "Asynchronous calls need a registered sender_id.")
            if is_duplicate(pool, sender, header):
                return duplicate(header)
            url = callback_url(sender, header)
            if action == 'txn-status':
                # An unknown transaction is known now: no callback.
                find_transactions(pool, client, envelope['message'])
        except ApiError as error:
            return err(error.status, error.code, error.message)
        correlation_id = uuid.uuid4().hex
        try:
            pool.get('spp.dci.transaction').receive({
                    'kind': 'search' if action == 'search' else 'txn-status',
                    'client': client['id'],
                    'sender': sender['id'],
                    'transaction_id': envelope['message']['transaction_id'],
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


def answer_transaction(transaction):
    "The envelope answering a queued transaction (in the queued task)."
    envelope = json.loads(transaction.request)
    header = envelope['header']
    client = load_client(transaction.client.id)
    with Transaction().set_user(client['user']), \
            Transaction().set_context(active_test=True):
        if transaction.kind == 'search':
            if client['revoked']:
                responses = []
            else:
                responses = search_responses(Scope(client),
                    envelope['message']['search_request'])
            return on_search_envelope(header, transaction.transaction_id,
                transaction.correlation_id, responses)
        from trytond.pool import Pool
        return status_envelope(Pool(), client, header, envelope['message'],
            transaction.correlation_id)


def recorded_kinds(pool):
    "The transaction kinds recorded (txn_type values of a status request)."
    Transactions = pool.get('spp.dci.transaction')
    return [k for k, _ in Transactions.kind.selection]


def find_transactions(pool, client, message):
    "The client's transactions of the kind a status request names, or 404."
    request = message['txnstatus_request']
    for name in ['reference_id', 'txn_type', 'attribute_type',
            'attribute_value']:
        if name not in request:
            raise ApiError(400, 'err.request.bad',
                f"txnstatus_request.{name} is required.")
    kinds = recorded_kinds(pool)
    if request['txn_type'] not in kinds:
        raise ApiError(400, 'err.request.bad',
            f"txn_type {str(request['txn_type'])[:40]!r}: the transactions "
            f"recorded here are {', '.join(kinds)}.")
    kind, value = request['attribute_type'], request['attribute_value']
    if kind not in REFERENCE_TYPES:
        raise ApiError(400, 'err.request.bad',
            "attribute_type: transaction_id, reference_id_list or "
            "correlation_id.")
    Transactions = pool.get('spp.dci.transaction')
    domain = [('client', '=', client['id']),
        ('kind', '=', request['txn_type'])]
    if kind == 'correlation_id':
        if not isinstance(value, str):
            raise ApiError(400, 'err.request.bad',
                "attribute_value: a correlation id.")
        domain.append(('correlation_id', '=', value[:99]))
    elif kind == 'transaction_id':
        if not isinstance(value, str):
            raise ApiError(400, 'err.request.bad',
                "attribute_value: a transaction id.")
        domain.append(('transaction_id', '=', value[:99]))
    else:
        if not isinstance(value, list) or not value or len(value) > 100 \
                or not all(isinstance(v, str) for v in value):
            raise ApiError(400, 'err.request.bad',
                "attribute_value: a list of 1 to 100 reference ids.")
        domain.append(('transaction_id', '=', message['transaction_id']))
    found = Transactions.search(domain, limit=50,
        order=[('create_date', 'DESC'), ('id', 'DESC')])
    if not found:
        raise ApiError(404, 'err.request.not_found',
            f"No {request['txn_type']} transaction of this client matches.")
    return found


def status_items(pool, client, message):
    "(correlation id, search_response items) for a status request."
    found = find_transactions(pool, client, message)
    request = message['txnstatus_request']
    wanted = (set(request['attribute_value'])
        if request['attribute_type'] == 'reference_id_list' else None)
    items = []
    for transaction in found:
        if transaction.references:
            statuses = json.loads(transaction.references)
        else:
            # Not answered yet: each reference is pending.
            statuses = [{'reference_id': r, 'status': 'pdng'}
                for r in request_references(transaction.kind,
                    json.loads(transaction.request or '{}'))]
        for status in statuses:
            if wanted is None or status['reference_id'] in wanted:
                items.append({**status, 'timestamp': now_iso()})
    return found[0].correlation_id, items


def status_envelope(pool, client, header, message, correlation_id=None):
    "The txn-on-status envelope answering a status request."
    searched_correlation, items = status_items(pool, client, message)
    return sign_envelope({
            'header': response_header(header, 'succ', 1, 1,
                action='txn-on-status'),
            'message': {
                'transaction_id': message['transaction_id'],
                'correlation_id': correlation_id or uuid.uuid4().hex,
                'txnstatus_response': {
                    'txn_type': message['txnstatus_request']['txn_type'],
                    'txn_status': {
                        'transaction_id': message['transaction_id'],
                        'correlation_id': searched_correlation,
                        'search_response': items,
                        },
                    },
                },
            })


def sync_status(request, pool, log):

    @with_transaction(readonly=True)
    def transaction(request, pool):
        client = authenticate_dci(pool, request, SCOPE, log)
        envelope = read_envelope(request)
        try:
            header = check_envelope(envelope, 'txn-status')
        except HeaderFault as error:
            return 400, sign_envelope({'header': response_header(
                        header_of(envelope), 'rjct', 0, 0, error.code,
                        error.message, action='txn-on-status')})
        check_sender(pool, client, header, envelope)
        return 200, status_envelope(pool, client, header,
            envelope['message'])
    return transaction(request, pool)


registry_search = dci_endpoint(SEARCH_PATH,
    lambda request, pool, log: receive(request, pool, log, 'search'))
registry_txn_status = dci_endpoint(STATUS_PATH,
    lambda request, pool, log: receive(request, pool, log, 'txn-status'))
registry_sync_txn_status = dci_endpoint(SYNC_STATUS_PATH, sync_status)
