"""DCI Social Registry API: synchronous search (`/registry/sync/search`).

Spec: Digital Convergence Initiative Social Registry API v1.0.0. A request
is an envelope {signature, header, message}; the answer is the envelope of
an `on-search` callback. Header faults reject the whole message (HTTP 400,
header.status `rjct` with a MsgHeaderStatusReasonCode); each search request
gets its own status, so one bad query does not sink the batch.

Supported: `idtype-value` queries (the DCI code directory's types, UIN,
BRN, MOBILE…, mapped to ours by the ID types' `dci_codes`, or our own
codes, e.g. `national_id`; a type we do not hold matches nothing),
`response_entity` Member (the registrants holding the ID) or Group (their
current groups); `expression` and `predicate` queries over a whitelist of
attributes (dci_query.py); page_size/page_number pagination; `locale`
echoed, `consent` / `authorize` checked. Records are in the spec's
Member / Group model (dci_record.py). Envelopes (header, receiver,
sender, signature) are checked by dci_envelope.py; the asynchronous
endpoints are in dci_async.py. Error answers carry the spec's errors[]
and a top-level error (dci_envelope.error_body)."""
import logging
import re
import time
import uuid

from trytond import backend
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .client import utcnow
from .dci_envelope import (
    HeaderFault, check_envelope, check_sender, error_body, now_iso, parse_ts,
    read_envelope, rejected, response_header)
from .dci_query import QueryFault, compile_query, compile_sort
from .dci_record import reg_records, resolve_id_type
from .dci_signature import sign_envelope
from .dci_token import authenticate_dci
from .handlers import ApiError, Scope
from .routes import (
    PREFIX, audit_context, has_model, json_response, write_log)

logger = logging.getLogger(__name__)
PATH = '/registry/sync/search'
SCOPE = 'registry:search'
MAX_PAGE_SIZE = 200
ID_VALUE = re.compile(r'[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63}')
PHONE_VALUE = re.compile(r'\+[0-9][0-9 .\-]{3,30}')
LOCALE = re.compile(r'[a-z]{2,3}(-[A-Za-z0-9]{2,8})?')


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
    check_extras(item, criteria, 'rjct.search_criteria.invalid')
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
    if not isinstance(value, str) or not (ID_VALUE.fullmatch(value)
            or PHONE_VALUE.fullmatch(value)):
        raise ItemFault('rjct.search_criteria.invalid',
            "query.value is not a valid identifier.")
    entity = criteria.get('response_entity', 'Member')
    if entity not in {'Member', 'Group'}:
        raise ItemFault('rjct.search_criteria.invalid',
            "response_entity must be Group or Member.")
    page_size, page_number = pagination(criteria.get('pagination'))
    id_type = resolve_id_type(query['type'])
    if id_type is None:
        # A type of the DCI code directory this registry does not hold
        # is "no match", not a fault of the sender.
        return item_response(scope, reference_id, [], page_size,
            page_number, 0, {})
    # The individuals and groups holding the ID are searched (with the
    # acting user's record rules) and read in one query, the lookup being
    # the most frequent call.
    party = scope.Party.__table__()
    rows = scope.individual_rows(party, party.id.in_(scope.Party.search(
                id_domain(scope, id_type, value),
                limit=20, order=[('id', 'ASC')], query=True)))
    group_ids = [i for i, r in rows.items()
        if r['registrant_type'] == 'group']
    rows = {i: r for i, r in rows.items()
        if r['registrant_type'] == 'individual'}
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


def id_domain(scope, id_type, value):
    "Domain of the visible registrants holding an ID (or a phone number)."
    if id_type == 'MOBILE':
        scope.check_search({'contact_mechanisms'})
        return [('registrant_type', 'in', ['individual', 'group']),
            *scope.area_domain(),
            ('contact_mechanisms', 'where', [
                    ('type', 'in', ['mobile', 'phone']),
                    ['OR', ('value', '=', value),
                        ('value_compact', '=', value)],
                    ])]
    return scope.registrant_domain(('individual', 'group'),
        {'id': f'{id_type}|{value}'})


def check_extras(item, criteria, code):
    """Check the optional locale, consent and authorize of a request item
    (an ItemFault with `code` when malformed); "" is absent, as in the
    standard's examples."""
    locale = item.get('locale')
    if locale not in (None, '') and (not isinstance(locale, str)
            or not LOCALE.fullmatch(locale)):
        raise ItemFault(code, "locale: an ISO 639-3 language code.")
    for name in ['consent', 'authorize']:
        value = criteria.get(name)
        if value in (None, ''):
            continue
        if not isinstance(value, dict):
            raise ItemFault(code, f"{name}: an object.")
        if 'ts' in value:
            try:
                parse_ts(value['ts'])
            except (ValueError, TypeError):
                raise ItemFault(code,
                    f"{name}.ts: ISO 8601 with a time zone.")
        purpose = value.get('purpose')
        if purpose is not None and (not isinstance(purpose, dict) or any(
                    not isinstance(purpose.get(k, ''), str)
                    or len(purpose.get(k, '')) > 999
                    for k in ('text', 'code', 'ref_uri'))):
            raise ItemFault(code,
                f"{name}.purpose: an object of text, code and ref_uri.")


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
    scope.check_search(domain_fields(domain) | {f for f, _ in order})
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


def domain_fields(domain):
    "The party.party fields that the clauses of a domain test."
    if isinstance(domain, tuple):
        return {domain[0].split('.')[0]}
    if isinstance(domain, list):
        return set().union(*(domain_fields(d) for d in domain))
    return set()


def item_response(scope, reference_id, records, page_size, page_number,
        total, rows=None):
    """A succ search_response item for (kind, party id) records of a page
    (`rows`: the individuals already read by `Scope.individual_rows()`)."""
    return {
        'reference_id': reference_id,
        'timestamp': now_iso(),
        'status': 'succ',
        'data': {
            'version': '1.0.0',
            'reg_records': reg_records(scope, records, rows),
            },
        'pagination': {
            'page_size': page_size,
            'page_number': page_number,
            'total_count': total,
            },
        }


def searched(items):
    "The criteria of search requests (the query that found an answer)."
    result = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        criteria = item.get('search_criteria')
        result.append({'reference_id': item.get('reference_id'), **{
                    k: v for k, v in (criteria.items()
                        if isinstance(criteria, dict) else ())
                    if k in {'query_type', 'query', 'response_entity',
                        'sort', 'pagination'}},
                # That consent was presented, not what it holds.
                **({'consent': True} if isinstance(criteria, dict)
                    and criteria.get('consent') else {})})
    return result


def served(pool, scope, endpoint, items):
    "Tell spp.api.log what the answer to search requests holds."
    Log = pool.get('spp.api.log')
    query = {'endpoint': f'POST {endpoint}', 'search': searched(items)}
    for model, ids in scope.served.items():
        Log.served(model, ids, query=query)


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


def search_responses(scope, search_request):
    "The search_response items of a list of search requests."
    responses = []
    for item in search_request:
        try:
            response = search_one(scope, item)
            if item.get('locale'):
                response['locale'] = item['locale']
            responses.append(response)
        except (ItemFault, ApiError) as error:
            # A search the client may not make (403) is refused by item.
            if isinstance(error, ApiError) and error.status != 403:
                raise
            reference = (item.get('reference_id')
                if isinstance(item, dict) else None)
            responses.append({
                    'reference_id': (reference[:99]
                        if isinstance(reference, str) and reference
                        else 'unknown'),
                    'timestamp': now_iso(),
                    'status': 'rjct',
                    'status_reason_code': (error.code
                        if isinstance(error, ItemFault)
                        else 'rjct.search_criteria.invalid'),
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
            return 400, rejected(envelope, error, 'on-search')
        check_sender(pool, client, header, envelope)
        scope = Scope(client)
        items = envelope['message']['search_request']
        with Transaction().set_user(client['user']), \
                Transaction().set_context(
                    audit_context(client, log, 'dci')):
            responses = search_responses(scope, items)
            served(pool, scope, PATH, items)
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
    "An HTTP error answer of a DCI endpoint."
    return json_response(status, error_body(code, message))


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
        except backend.DatabaseOperationalError:
            # Locked or overloaded after trytond's retries: as the REST
            # API, a 503 to retry, not an internal error.
            logger.warning("DCI %s: database busy", request_id,
                exc_info=True)
            response = dci_error(503, 'err.service.unavailable',
                "Busy, retry later.")
            response.headers['Retry-After'] = '1'
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
