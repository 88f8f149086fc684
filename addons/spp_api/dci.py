"""DCI Social Registry API: synchronous search (`/registry/sync/search`).

Spec: Digital Convergence Initiative Social Registry API v1.0.0. A request
is an envelope {signature, header, message}; the answer is the envelope of
an `on-search` callback. Header faults reject the whole message (HTTP 400,
header.status `rjct` with a MsgHeaderStatusReasonCode); each search request
gets its own status, so one bad query does not sink the batch.

Supported: `idtype-value` queries (ID type codes of the registry, e.g.
`national_id`), `response_entity` Member (the registrants holding the ID)
or Group (their current groups); `expression` and `predicate` queries over
a whitelist of attributes (dci_query.py); page_size/page_number
pagination. The asynchronous endpoints are in dci_async.py."""
import datetime as dt
import json
import logging
import re
import time
import uuid

from trytond import config
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .client import utcnow
from .dci_signature import (
    SignatureFault, load_public_key, sign_envelope, verify)
from .dci_token import authenticate_dci
from .dci_query import QueryFault, compile_query, compile_sort
from .handlers import ApiError, Scope
from .routes import MAX_BODY, PREFIX, has_model, json_response, write_log

logger = logging.getLogger(__name__)
PATH = '/registry/sync/search'
SCOPE = 'registry:search'
SENDER_ID = 'spp-mis'
MAX_REQUESTS = 20
MAX_PAGE_SIZE = 200
ID_VALUE = re.compile(r'[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63}')


class HeaderFault(Exception):
    "The envelope is unusable: the whole message is rejected."

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def now_iso():
    return dt.datetime.now(dt.timezone.utc).replace(
        microsecond=0).isoformat()


def parse_ts(value):
    if not isinstance(value, str):
        raise ValueError
    instant = dt.datetime.fromisoformat(value.replace('Z', '+00:00'))
    if instant.tzinfo is None:
        raise ValueError("a time zone is required")
    return instant


def check_header(envelope, action='search'):
    "The request header, or a HeaderFault naming the reason code."
    if not isinstance(envelope, dict) or not isinstance(
            envelope.get('header'), dict):
        raise HeaderFault('rjct.action.invalid',
            "The envelope needs a header object.")
    header = envelope['header']
    for name in ['message_id', 'message_ts', 'action', 'sender_id',
            'total_count']:
        if name not in header:
            code = {
                'message_ts': 'rjct.message_ts.invalid',
                'action': 'rjct.action.invalid',
                'total_count': 'rjct.total_count.invalid',
                }.get(name, 'rjct.action.invalid')
            raise HeaderFault(code, f"header.{name} is required.")
    if header.get('version', '1.0.0') != '1.0.0':
        raise HeaderFault('rjct.version.invalid',
            "Only version 1.0.0 is supported.")
    if not isinstance(header['message_id'], str) or not (
            0 < len(header['message_id']) <= 99):
        raise HeaderFault('rjct.action.invalid',
            "header.message_id must be a string.")
    try:
        parse_ts(header['message_ts'])
    except ValueError:
        raise HeaderFault('rjct.message_ts.invalid',
            "header.message_ts must be ISO 8601 with a time zone.")
    if header['action'] != action:
        raise HeaderFault('rjct.action.not_supported',
            f"This endpoint answers the action \"{action}\".")
    if not isinstance(header['sender_id'], str):
        raise HeaderFault('rjct.action.invalid',
            "header.sender_id must be a string.")
    if header.get('is_msg_encrypted'):
        raise HeaderFault('rjct.action.not_supported',
            "Encrypted messages are not supported.")
    message = envelope.get('message')
    if not isinstance(message, dict) or not isinstance(
            message.get('transaction_id'), str) or not (
            0 < len(message['transaction_id']) <= 99):
        raise HeaderFault('rjct.action.invalid',
            "message needs a transaction_id (1 to 99 characters).")
    if action == 'search':
        if not isinstance(message.get('search_request'), list):
            raise HeaderFault('rjct.action.invalid',
                "message needs search_request.")
        count = len(message['search_request'])
    else:
        if not isinstance(message.get('txnstatus_request'), dict):
            raise HeaderFault('rjct.action.invalid',
                "message needs txnstatus_request.")
        count = 1
    if (isinstance(header['total_count'], bool)
            or not isinstance(header['total_count'], int)
            or header['total_count'] != count):
        raise HeaderFault('rjct.total_count.invalid',
            "header.total_count must be the number of requests.")
    if count > MAX_REQUESTS:
        raise HeaderFault('rjct.total_count.limit_exceeded',
            f"At most {MAX_REQUESTS} search requests per message.")
    return header


def response_header(request_header, status, total, completed, code=None,
        message=None, action='on-search'):
    header = {
        'version': '1.0.0',
        'message_id': uuid.uuid4().hex,
        'message_ts': now_iso(),
        'action': action,
        'status': status,
        'total_count': total,
        'completed_count': completed,
        'sender_id': config.get('spp_dci', 'sender_id', default=SENDER_ID),
        }
    if request_header and isinstance(request_header.get('sender_id'), str):
        header['receiver_id'] = request_header['sender_id']
    if code:
        header['status_reason_code'] = code
        header['status_reason_message'] = message[:999]
    return header


class ItemFault(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def search_one(scope, item):
    "Answer one search_request item (a dict of the response array)."
    if not isinstance(item, dict):
        raise ItemFault('rjct.search_criteria.invalid',
            "Each search request must be an object.")
    reference_id = item.get('reference_id')
    if not isinstance(reference_id, str) or not reference_id:
        raise ItemFault('rjct.reference_id.invalid',
            "reference_id is required.")
    try:
        parse_ts(item.get('timestamp'))
    except (ValueError, TypeError):
        raise ItemFault('rjct.timestamp.invalid',
            "timestamp must be ISO 8601 with a time zone.")
    criteria = item.get('search_criteria')
    if not isinstance(criteria, dict):
        raise ItemFault('rjct.search_criteria.invalid',
            "search_criteria is required.")
    query_type = criteria.get('query_type')
    if query_type in {'expression', 'predicate'}:
        return search_query(scope, reference_id, criteria)
    if query_type != 'idtype-value':
        raise ItemFault('rjct.search_criteria.invalid',
            "query_type: idtype-value, expression or predicate.")
    query = criteria.get('query')
    if not isinstance(query, dict) or not isinstance(
            query.get('type'), str):
        raise ItemFault('rjct.search_criteria.invalid',
            "query needs a type and a value.")
    value = query.get('value')
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not ID_VALUE.fullmatch(value):
        raise ItemFault('rjct.search_criteria.invalid',
            "query.value is not a valid identifier.")
    id_type = query['type']
    if not isinstance(id_type, str) or not re.fullmatch(
            r'[a-z][a-z0-9_]{0,63}', id_type):
        raise ItemFault('rjct.search_criteria.invalid',
            f"Unknown identifier type {id_type[:64]!r}.")
    entity = criteria.get('response_entity', 'Member')
    if entity not in {'Member', 'Group'}:
        raise ItemFault('rjct.search_criteria.invalid',
            "response_entity must be Group or Member.")
    page_size, page_number = pagination(criteria.get('pagination'))

    handle = f'{id_type}|{value}'
    # The individuals and groups holding the ID are searched (with the
    # acting user's record rules) and read in one query, the lookup being
    # the most frequent call.
    party = scope.Party.__table__()
    rows = scope.individual_rows(party, party.id.in_(scope.Party.search(
                scope.registrant_domain(('individual', 'group'),
                    {'id': handle}),
                limit=20, order=[('id', 'ASC')], query=True)))
    group_ids = [i for i, r in rows.items()
        if r['registrant_type'] == 'group']
    rows = {i: r for i, r in rows.items()
        if r['registrant_type'] == 'individual'}
    if not rows and not group_ids:
        # An unknown ID type is the sender's mistake, not "no match";
        # checked only when nothing matched, to spare lookups a query.
        from trytond.pool import Pool
        if id_type not in Pool().get('spp.id.type').by_code():
            raise ItemFault('rjct.search_criteria.invalid',
                f"Unknown identifier type {id_type[:64]!r}.")
    records = [('individual', i) for i in rows] + [
        ('group', i) for i in group_ids]
    if entity == 'Group':
        groups = {}
        if rows:
            for membership in scope.Membership.search([
                        ('individual', 'in', list(rows)),
                        ('current', '=', True),
                        ] + scope.area_domain('group.area'),
                    order=[('individual', 'ASC'), ('group', 'ASC'),
                        ('start_date', 'ASC'), ('id', 'ASC')]):
                groups.setdefault(membership.group.id)
        for group_id in group_ids:
            groups.setdefault(group_id)
        records = [('group', g) for g in groups]
    total = len(records)
    start = (page_number - 1) * page_size
    records = records[start:start + page_size]
    return item_response(scope, reference_id, records, page_size,
        page_number, total, rows)


def search_query(scope, reference_id, criteria):
    "Answer an expression or predicate query, one page of it."
    entity = criteria.get('response_entity')
    if entity is not None and entity not in {'Member', 'Group'}:
        raise ItemFault('rjct.search_criteria.invalid',
            "response_entity must be Group or Member.")
    try:
        collection, domain = compile_query(criteria['query_type'],
            criteria.get('query'), entity)
        order = compile_sort(criteria.get('sort'), collection)
    except QueryFault as error:
        raise ItemFault(error.code, error.message)
    page_size, page_number = pagination(criteria.get('pagination'))
    kind = 'individual' if collection == 'Member' else 'group'
    domain = [('registrant_type', '=', kind), *scope.area_domain(), domain]
    total = scope.Party.search_count(domain)
    query = scope.Party.search(domain, order=order, limit=page_size,
        offset=(page_number - 1) * page_size, query=True)
    cursor = Transaction().connection.cursor()
    cursor.execute(*query)
    records = [(kind, id_) for id_, in cursor]
    return item_response(scope, reference_id, records, page_size,
        page_number, total)


def item_response(scope, reference_id, records, page_size, page_number,
        total, rows=None):
    """A succ search_response item for (kind, party id) records of a page
    (`rows`: the individuals already read by `Scope.individual_rows()`)."""
    reg_records = []
    individuals = [p for k, p in records if k == 'individual']
    groups = [p for k, p in records if k == 'group']
    if rows is not None:
        individuals = scope.individual_dicts([rows[i] for i in individuals])
    else:
        individuals = scope.individuals(individuals)
    for record in individuals:
        reg_records.append({'@type': 'Member', **record})
    for record in scope.groups(groups):
        reg_records.append({'@type': 'Group', **record})
    return {
        'reference_id': reference_id,
        'timestamp': now_iso(),
        'status': 'succ',
        'data': {
            'version': '1.0.0',
            'reg_records': reg_records,
            },
        'pagination': {
            'page_size': page_size,
            'page_number': page_number,
            'total_count': total,
            },
        }


def pagination(value):
    if value is None:
        return MAX_PAGE_SIZE, 1
    if not isinstance(value, dict):
        raise ItemFault('rjct.pagination.invalid', "pagination: an object.")
    size = value.get('page_size')
    number = value.get('page_number', 1)
    for item in (size, number):
        if (isinstance(item, bool) or not isinstance(item, (int, float))
                or int(item) != item or item < 1):
            raise ItemFault('rjct.pagination.invalid',
                "page_size and page_number are positive integers.")
    if size > MAX_PAGE_SIZE:
        raise ItemFault('rjct.pagination.invalid',
            f"page_size: at most {MAX_PAGE_SIZE}.")
    return int(size), int(number)


def read_envelope(request):
    "The decoded JSON body, or None (also for a body over MAX_BODY)."
    if (request.content_length or 0) > MAX_BODY:
        return None
    try:
        return json.loads(request.get_data(cache=True).decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def header_of(envelope):
    if isinstance(envelope, dict) and isinstance(
            envelope.get('header'), dict):
        return envelope['header']
    return None


def check_envelope(envelope, action):
    "The header, or a HeaderFault for an envelope to reject at once."
    if envelope is None:
        raise HeaderFault('rjct.action.invalid',
            "The body is not valid JSON.")
    return check_header(envelope, action)


def check_sender(pool, client, header, envelope):
    """The registered sender of header.sender_id (a dict) or None.

    A registered sender must belong to the calling client (403
    err.sender_id.invalid); when it has a public key, a signature is
    verified (401 err.signature.invalid) and, if the sender must sign,
    required (401 err.signature.missing)."""
    sender = pool.get('spp.dci.sender').lookup(header.get('sender_id'))
    if sender is None:
        return None
    if sender['client'] != client['id']:
        raise ApiError(403, 'err.sender_id.invalid',
            "This sender_id is registered for another API client.")
    if sender['public_key'] and (envelope.get('signature')
            or sender['signature_required']):
        key, algorithm = load_public_key(sender['public_key'])
        try:
            verify(envelope, key, algorithm)
        except SignatureFault as error:
            raise ApiError(401, error.code, error.message)
    return sender


def search_responses(scope, search_request):
    "The search_response items of a list of search requests."
    responses = []
    for item in search_request:
        try:
            responses.append(search_one(scope, item))
        except ItemFault as error:
            reference = (item.get('reference_id')
                if isinstance(item, dict) else None)
            responses.append({
                    'reference_id': (reference[:99]
                        if isinstance(reference, str) and reference
                        else 'unknown'),
                    'timestamp': now_iso(),
                    'status': 'rjct',
                    'status_reason_code': error.code,
                    'status_reason_message': error.message,
                    })
    return responses


def on_search_envelope(header, transaction_id, correlation_id, responses):
    "The on-search envelope (sync answer and async callback), signed."
    total = len(responses)
    succeeded = sum(1 for r in responses if r['status'] == 'succ')
    return sign_envelope({
            'header': response_header(header,
                'succ' if succeeded or not total else 'rjct', total, total),
            'message': {
                'transaction_id': transaction_id,
                'correlation_id': correlation_id,
                'search_response': responses,
                },
            })


def sync_search(request, pool, log):
    """The response envelope of a sync search (HTTP status, body).

    The call is logged in the search's own transaction (one transaction
    and one commit per call); a failed call is rolled back and logged by
    `dci_endpoint()`."""

    @with_transaction(readonly=False)
    def search(request, pool):
        status, body = answer(pool, request)
        record_call(pool, request, log, status)
        return status, body

    def answer(pool, request):
        client = authenticate_dci(pool, request, SCOPE, log)
        envelope = read_envelope(request)
        try:
            header = check_envelope(envelope, 'search')
        except HeaderFault as error:
            return 400, sign_envelope({'header': response_header(
                        header_of(envelope), 'rjct', 0, 0, error.code,
                        error.message)})
        check_sender(pool, client, header, envelope)
        with Transaction().set_user(client['user']):
            responses = search_responses(Scope(client),
                envelope['message']['search_request'])
        return 200, on_search_envelope(header,
            envelope['message']['transaction_id'], uuid.uuid4().hex,
            responses)
    result = search(request, pool)
    log['written'] = True
    return result


def log_entry(request, log, status):
    "The spp.api.log row of a DCI call."
    return {'client': log['client'], 'timestamp': utcnow(),
        'method': request.method, 'endpoint': log['endpoint'],
        'status': status, 'request_id': log['request_id'],
        'duration': int((time.monotonic() - log['started']) * 1000)}


def record_call(pool, request, log, status):
    "Log the call in the current transaction."
    pool.get('spp.api.log').record([log_entry(request, log, status)])


def dci_error(status, code, message):
    "The spec's HttpErrorResponse body."
    return json_response(status, {'errors': [
                {'code': code, 'message': message}]})


def dci_endpoint(path, answer):
    """Answer a DCI call with answer(request, pool, log) -> (status, body):
    errors as the spec's HttpErrorResponse, every call logged."""

    @with_pool
    def endpoint(request, pool):
        request_id = uuid.uuid4().hex
        # An answer that logs the call itself sets 'written'.
        log = {'client': None, 'request_id': request_id, 'endpoint': path,
            'started': time.monotonic(), 'written': False}
        try:
            if not has_model(pool, 'spp.dci.sender'):
                response = dci_error(404, 'err.request.not_found',
                    "The API is not active.")
            else:
                status, body = answer(request, pool, log)
                response = json_response(status, body)
        except ApiError as error:
            response = dci_error(error.status, error.code, error.message)
            for name, value in error.headers.items():
                response.headers[name] = value
        except Exception:
            logger.exception("DCI %s failed", request_id)
            response = dci_error(500, 'internal_error',
                f"Internal error; request id {request_id}.")
        response.headers['X-Request-Id'] = request_id
        if not log['written'] and has_model(pool, 'spp.api.log'):
            write_log(request, pool,
                log_entry(request, log, response.status_code))
        return response
    endpoint.__name__ = 'dci' + path.replace('/', '_').replace('-', '_')
    app.route(PREFIX + path, methods=['POST'])(endpoint)
    return endpoint


registry_sync_search = dci_endpoint(PATH, sync_search)
