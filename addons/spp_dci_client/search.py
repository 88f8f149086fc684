"""DCI searches we send: synchronous, asynchronous (the answer comes to our
on-search route, correlated by transaction id) and transaction status.

A search request item is built by `request_item()` from a query type and
query (idtype-value {type, value}, expression or predicate lists); what is
logged of it is its query type and the attribute names (`asked_of()`),
never a value."""
import uuid

from .transport import RegistryError, now_iso, send

SYNC_SEARCH = '/registry/sync/search'
ASYNC_SEARCH = '/registry/search'
SYNC_STATUS = '/registry/sync/txn/status'
# Our server's limit of search requests per message (and a common one).
MAX_REQUESTS = 20


def request_item(query_type, query, reference_id=None, entity=None,
        page_size=None, page_number=1, reg_event_type=None):
    "A search_request item."
    criteria = {'version': '1.0.0', 'query_type': query_type,
        'query': query}
    if entity:
        criteria['response_entity'] = entity
    if reg_event_type:
        criteria['reg_event_type'] = reg_event_type
    if page_size:
        criteria['pagination'] = {'page_size': page_size,
            'page_number': page_number}
    return {'reference_id': reference_id or str(uuid.uuid4()),
        'timestamp': now_iso(), 'search_criteria': criteria}


def attributes(query):
    "The attribute names of a query (no values)."
    names = set()
    if isinstance(query, dict):
        for key, value in query.items():
            if key in {'attribute_name', 'type'} and isinstance(value, str):
                names.add(value)
            elif isinstance(value, (dict, list)):
                names |= attributes(value)
            elif key not in {'attribute_value', 'value', 'operator',
                    'condition', 'seq_num'} and not key.startswith('$'):
                names.add(key)
    elif isinstance(query, list):
        for item in query:
            names |= attributes(item)
    return names


def asked_of(items):
    "What the exchange log keeps of search request items."
    return {'requests': len(items),
        'query_types': sorted({i['search_criteria']['query_type']
                for i in items}),
        'attributes': sorted(set().union(*(
                    attributes(i['search_criteria']['query'])
                    for i in items)))}


def count_records(answer):
    return sum(len(((r.get('data') or {}).get('reg_records') or []))
        for r in responses_of(answer.get('message') or {}))


def responses_of(message):
    responses = message.get('search_response')
    return [r for r in responses if isinstance(r, dict)] if isinstance(
        responses, list) else []


def search(registry, items):
    """The search_response items of a synchronous search, in the order of
    `items` (matched by reference_id). A message carries at most
    MAX_REQUESTS items."""
    if not 0 < len(items) <= MAX_REQUESTS:
        raise ValueError(f"1 to {MAX_REQUESTS} search requests a message")
    message = {'transaction_id': str(uuid.uuid4()),
        'search_request': items}
    answer = send(registry, SYNC_SEARCH, 'search', message,
        total_count=len(items), asked=asked_of(items),
        records=count_records)
    by_reference = {r.get('reference_id'): r
        for r in responses_of(answer['message'])}
    result = []
    for item in items:
        response = by_reference.get(item['reference_id'])
        if response is None:
            raise RegistryError('garbage',
                "The answer lacks a search response we asked for.")
        result.append(response)
    return result


def search_async(registry, items, purpose):
    """Send an asynchronous search; the answer is handed to the purpose
    record's `dci_answer()` when it arrives. The transaction id."""
    if not registry.callback_base:
        raise RegistryError('config.callback',
            "Our public address is not set on this registry: it cannot "
            "send us answers.")
    transaction_id = str(uuid.uuid4())
    send(registry, ASYNC_SEARCH, 'search', {
            'transaction_id': transaction_id, 'search_request': items},
        total_count=len(items), asked=asked_of(items),
        purpose=purpose, expect_envelope=False)
    return transaction_id


def transaction_status(registry, transaction_id):
    "The txnstatus_response of a transaction of ours (synchronous)."
    answer = send(registry, SYNC_STATUS, 'txn-status', {
            'transaction_id': str(uuid.uuid4()),
            'txnstatus_request': {
                'reference_id': str(uuid.uuid4()),
                'txn_type': 'search',
                'attribute_type': 'transaction_id',
                'attribute_value': transaction_id}},
        asked={'attribute_type': 'transaction_id'})
    return answer['message'].get('txnstatus_response')
