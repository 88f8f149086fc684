"""What answers a DCI transaction: the search responses or the status of
earlier transactions (txn-status), and the reference statuses kept once
the answer is delivered.

Shared by the endpoints (dci_async.py: a sync status request, the check of
an async one) and the queued task (dci_transaction.py, which records and
delivers): it imports neither, so they do not import each other."""
import json
import uuid

from trytond.pool import Pool
from trytond.transaction import Transaction

from .dci import on_search_envelope, search_responses, served
from .dci_envelope import now_iso, response_header
from .dci_signature import sign_envelope
from .handlers import ApiError, Scope

REFERENCE_TYPES = {'transaction_id', 'reference_id_list', 'correlation_id'}


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
                scope = Scope(client)
                items = envelope['message']['search_request']
                responses = search_responses(scope, items)
                # The context of the call that queued it: channel, client
                # and request id (dci_async.receive).
                served(Pool(), scope, '/registry/search', items)
            return on_search_envelope(header, transaction.transaction_id,
                transaction.correlation_id, responses)
        if transaction.kind in {'subscribe', 'unsubscribe'}:
            # Imported here: dci_subscribe imports dci, as this module.
            from .dci_subscribe import (
                subscribe_envelope, unsubscribe_envelope)
            answer = (subscribe_envelope if transaction.kind == 'subscribe'
                else unsubscribe_envelope)
            return answer(transaction, client, header, envelope['message'])
        return status_envelope(Pool(), client, header, envelope['message'],
            transaction.correlation_id)


def recorded_kinds(pool):
    """The transaction kinds recorded that a status request may name
    (txn_type): not the notifications, which the registry sends."""
    Transactions = pool.get('spp.dci.transaction')
    return [k for k, _ in Transactions.kind.selection if k != 'notify']


def find_transactions(pool, client, message):
    """The client's transactions of the kind a status request names (none
    for an unknown one); 400 for a malformed request."""
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
    return Transactions.search(domain, limit=50,
        order=[('create_date', 'DESC'), ('id', 'DESC')])


def status_items(pool, client, message):
    """(correlation id, search_response items) for a status request; (None,
    one rjct item) when no transaction of the client matches, which does
    not tell another client's transaction from none."""
    found = find_transactions(pool, client, message)
    request = message['txnstatus_request']
    if not found:
        return None, [{'reference_id': str(request['reference_id'])[:99],
                'timestamp': now_iso(), 'status': 'rjct',
                'status_reason_code': 'rjct.reference_id.invalid',
                'status_reason_message': (f"No {request['txn_type']} "
                    "transaction of this client matches.")}]
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
    correlation_id = correlation_id or uuid.uuid4().hex
    return sign_envelope({
            'header': response_header(header,
                'succ' if searched_correlation else 'rjct', 1, 1,
                action='txn-on-status'),
            'message': {
                'transaction_id': message['transaction_id'],
                'correlation_id': correlation_id,
                'txnstatus_response': {
                    'txn_type': message['txnstatus_request']['txn_type'],
                    'txn_status': {
                        'transaction_id': message['transaction_id'],
                        'correlation_id': (
                            searched_correlation or correlation_id),
                        'search_response': items,
                        },
                    },
                },
            })


def request_references(kind, request):
    "The reference ids of a request of `kind` (a decoded envelope)."
    message = (request or {}).get('message') or {}
    if kind == 'search':
        items = message.get('search_request') or []
    elif kind == 'subscribe':
        items = message.get('subscribe_request') or []
    elif kind in {'unsubscribe', 'notify'}:
        items = [{'reference_id': message.get('transaction_id')}]
    else:
        items = [message.get('txnstatus_request') or {}]
    return [i['reference_id'] for i in items if isinstance(i, dict)
        and isinstance(i.get('reference_id'), str)]


def reference_statuses(kind, request, answer):
    """[{reference_id, status, status_reason_code?}] of an answered
    request: each search request's own status; a status request, succ."""
    message = answer.get('message') or {}
    if kind == 'unsubscribe':
        return [{'reference_id': message.get('transaction_id'),
                'status': message.get('status', 'succ')}]
    if kind not in {'search', 'subscribe'}:
        return [{'reference_id': r, 'status': 'succ'}
            for r in request_references(kind, request)]
    items = message.get(f'{kind}_response') or []
    return [{k: item[k] for k in ('reference_id', 'status',
                'status_reason_code') if k in item} for item in items]


def load_client(client_id):
    "The API client as authenticate() gives it, by id (queued tasks)."
    pool = Pool()
    Client = pool.get('spp.api.client')
    with Transaction().set_context(active_test=False):
        client = Client(client_id)
        return {
            'id': client.id,
            'user': client.user.id,
            'scopes': set(client.scopes or []),
            'expires': client.expires,
            'revoked': client.revoked,
            'rate_limit': client.rate_limit or 0,
            'areas': sorted(a.id for a in client.areas),
            **Client.sharing_values(client.id),
            }
