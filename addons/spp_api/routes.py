"""The REST API's WSGI routes under /<database>/api/v1/.

Every call goes through `handle()`: request id, authentication by key,
expiry/revocation, rate limit, scope, validation, the operation in one
transaction (rolled back on any error), a JSON answer, and a row in
spp.api.log: in the same transaction when the call succeeds, in one of its
own when it fails, so failures are logged too."""
import json
import logging
import time
import uuid

from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.protocols.wrappers import Response, with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import operations
from .client import authenticate_cached, utcnow
from .handlers import ApiError, Scope
from .rate_limits import (
    check_unique_refusals, is_unique_refusal, rate_limiter,
    unique_refusal_limit, unique_refusals)
from .resources import AVAILABLE, OPERATIONS, OPTIONAL_MODELS
from .validation import (
    ValidationFailure, check_param, surrogate_message, unpaired_surrogate,
    validate_body, validate_query)

logger = logging.getLogger(__name__)
PREFIX = '/<database_name>/api/v1'
METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
MAX_BODY = 1024 * 1024


def json_response(status, body, headers=None):
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(',', ':')),
        status=status, content_type='application/json')
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_body(code, message, request_id):
    return {'error': {
            'code': code, 'message': message, 'request_id': request_id}}


def bearer_key(request):
    header = request.headers.get('Authorization', '')
    parts = header.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == 'bearer':
        return parts[1].strip()
    return request.headers.get('X-API-Key', '').strip() or None


def authenticate(pool, request, operation_scope, log):
    "The calling client (a dict), or an ApiError 401/403/429."
    key = bearer_key(request)
    if not key:
        raise ApiError(401, 'unauthorized',
            "An API key is required: Authorization: Bearer <key>.",
            {'WWW-Authenticate': 'Bearer'})
    client = authenticate_cached(key)
    if not client:
        raise ApiError(401, 'unauthorized', "Invalid API key.",
            {'WWW-Authenticate': 'Bearer error="invalid_token"'})
    log['client'] = client['id']
    if client['revoked']:
        raise ApiError(401, 'unauthorized', "This API key was revoked.",
            {'WWW-Authenticate': 'Bearer error="invalid_token"'})
    if client['expires'] and client['expires'] <= utcnow():
        raise ApiError(401, 'unauthorized', "This API key has expired.",
            {'WWW-Authenticate': 'Bearer error="invalid_token"'})
    allowed, retry = rate_limiter.allow(client['id'], client['rate_limit'])
    if not allowed:
        raise ApiError(429, 'rate_limited',
            f"More than {client['rate_limit']} requests this minute.",
            {'Retry-After': str(retry)})
    if operation_scope and operation_scope not in client['scopes']:
        raise ApiError(403, 'forbidden_scope',
            f"This key lacks the scope {operation_scope}.")
    return client


def body_limit(operation):
    "Bytes the operation's body may hold."
    limit = operation.max_body
    if callable(limit):
        limit = limit()
    return limit or MAX_BODY


def read_body(request, schema, limit=MAX_BODY):
    if schema is None:
        return None
    if request.content_length and request.content_length > limit:
        raise ApiError(413, 'too_large', "The body is too large.")
    # trytond's own limit ([request] max_size) would cut a larger body
    # off, or let a body without Content-Length grow past ours.
    request.max_content_length = limit
    content_type = request.mimetype or ''
    if content_type != 'application/json':
        raise ApiError(415, 'unsupported_media_type',
            "Send the body as application/json.")
    data = request.get_data(cache=True)
    try:
        body = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, 'malformed_json', "The body is not valid JSON.")
    path = unpaired_surrogate(body)
    if path:
        raise ValidationFailure(surrogate_message(path))
    return validate_body(body, schema)


def run_operation(pool, request, operation, path_args, log):
    """Authenticate and run one operation in a transaction.

    A successful call is logged in the same transaction (one commit per
    call: reads run in read-write transactions for that); a failed one is
    rolled back and logged by `handle()` in a transaction of its own."""

    @with_transaction(readonly=False)
    def transaction(request, pool):
        client = authenticate(pool, request, operation.scope, log)
        check_unique_refusals(client, operation)
        query = validate_query(request.args, operation.params,
            pool.get('spp.id.type').by_code)
        args = {p.name: check_param(path_args[p.name], p)
            for p in operation.path_params}
        body = read_body(request, operation.request,
            body_limit(operation))
        handler = getattr(operations, operation.handler)
        scope = Scope(client)
        Log = pool.get('spp.api.log')
        with Transaction().set_user(client['user']), \
                Transaction().set_context(audit_context(client, log),
                    active_test=True):
            try:
                status, result = handler(scope, query, body, **args)
            except UserError as error:
                if operation.unique_ids and is_unique_refusal(error):
                    unique_refusals.record(client['id'],
                        *unique_refusal_limit())
                raise
            found = served_query(operation, args, query, body)
            for model, ids in scope.served.items():
                Log.served(model, ids, query=found)
        Log.record([log_entry(request, log, status)])
        return status, result
    result = transaction(request, pool)
    log['written'] = True
    return result


def audit_context(client, log, channel='rest'):
    "What the audit trail records of a call's changes and answers."
    return {'spp_audit_channel': channel, 'spp_api_client': client['id'],
        'spp_request_id': log['request_id']}


def served_query(operation, args, query, body):
    """What found an answer: the endpoint, its path and query parameters,
    and a lookup's body (an ID, kept out of URLs); never a written body."""
    params = {**args, **query}
    if body and (operation.scope or '').endswith(':read'):
        params.update(body)
    return {'endpoint': f'{operation.method} {operation.path}',
        'params': params}


def log_entry(request, log, status):
    "A spp.api.log row: the route template, never the path as sent."
    return {
        'client': log['client'],
        'timestamp': utcnow(),
        'method': request.method,
        'endpoint': log['endpoint'],
        'status': status,
        'request_id': log['request_id'],
        'duration': int((time.monotonic() - log['started']) * 1000),
        }


def has_model(pool, name):
    "Whether the database has the model (spp_api may not be activated)."
    try:
        pool.get(name)
    except KeyError:
        return False
    return True


def available_models(pool):
    "The optional models (extras) activated on this database."
    return frozenset(m for m in OPTIONAL_MODELS if has_model(pool, m))


def write_log(request, pool, entry):
    try:
        @with_transaction(readonly=False)
        def transaction(request, pool):
            pool.get('spp.api.log').record([entry])
        transaction(request, pool)
    except Exception:
        logger.exception("could not log API call %s", entry['request_id'])


def handle(request, pool, path, operations_by_method, path_args):
    "Answer one API call (see the module docstring)."
    started = time.monotonic()
    request_id = uuid.uuid4().hex
    log = {'client': None, 'request_id': request_id, 'started': started,
        'endpoint': path, 'written': False}
    models = available_models(pool)
    AVAILABLE.set(models)
    operations_by_method = {m: o for m, o in (
            operations_by_method or {}).items()
        if not o.requires or o.requires in models} or None
    operation = (operations_by_method or {}).get(request.method)
    try:
        if not has_model(pool, 'spp.api.client'):
            raise ApiError(404, 'not_found',
                "The API is not activated on this database.")
        if operations_by_method is None:
            raise ApiError(404, 'not_found', "No such API endpoint.")
        if operation is None:
            raise ApiError(405, 'method_not_allowed',
                f"{request.method} is not allowed here.",
                {'Allow': ', '.join(sorted(operations_by_method))})
        status, body = run_operation(pool, request, operation, path_args,
            log)
        response = json_response(status, body)
    except ApiError as error:
        response = json_response(error.status,
            error_body(error.code, error.message, request_id), error.headers)
    except ValidationFailure as error:
        response = json_response(error.status,
            error_body(error.code, error.message, request_id))
    except (UserError, UserWarning) as error:
        # Business rules of the registry (duplicate ID, two heads...).
        response = json_response(422,
            error_body('rejected', error.message, request_id))
    except backend.DatabaseOperationalError:
        logger.warning("API %s: database busy", request_id, exc_info=True)
        response = json_response(503,
            error_body('unavailable', "Busy, retry later.", request_id),
            {'Retry-After': '1'})
    except HTTPException as error:
        response = json_response(error.code or 400,
            error_body('bad_request', error.description or error.name,
                request_id))
    except Exception:
        logger.exception("API %s failed", request_id)
        response = json_response(500,
            error_body('internal_error',
                "Internal error; quote the request id.", request_id))
    response.headers['X-Request-Id'] = request_id
    response.headers['Cache-Control'] = 'no-store'
    if not log['written'] and has_model(pool, 'spp.api.log'):
        write_log(request, pool,
            log_entry(request, log, response.status_code))
    return response


class AnyPathConverter(PathConverter):
    """werkzeug's path, newlines included: its `.` stops at a newline, so
    `/individuals/a%0Ab` matched no route (not even the catch-all) and got
    werkzeug's HTML 404 instead of the API's JSON answer."""
    regex = '[^/](?s:.*?)'


app.url_map.converters['spp_path'] = AnyPathConverter


def _register(path, by_method):
    rule = PREFIX + path.replace('{', '<spp_path:').replace('}', '>')

    @with_pool
    def view(request, pool, **path_args):
        return handle(request, pool, path, by_method, path_args)
    view.__name__ = 'spp_api' + path.replace('/', '_').replace(
        '{', '').replace('}', '')
    app.route(rule, methods=METHODS)(view)


def register_routes():
    paths = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation
    for path, by_method in paths.items():
        _register(path, by_method)


register_routes()


@app.route(PREFIX + '/openapi.json', methods=['GET'])
@with_pool
def openapi(request, pool):
    from .openapi import database_data, document

    # The ID types and custom fields are the database's: read for each
    # call (cached by the models), the document built once for each set.
    @with_transaction()
    def data(request, pool):
        return database_data(pool)
    try:
        id_types, custom = data(request, pool)
    except backend.DatabaseOperationalError:
        return json_response(503, error_body('unavailable',
                "Busy, retry later.", None), {'Retry-After': '1'})
    return json_response(200, document(
            request.view_args['database_name'], available_models(pool),
            id_types, custom),
        {'Access-Control-Allow-Origin': '*'})


@app.route(PREFIX + '/<spp_path:rest>', methods=METHODS)
@with_pool
def unknown(request, pool, rest):
    # The path is not logged as sent: it may hold personal data.
    return handle(request, pool, '(unknown)', None, {})
