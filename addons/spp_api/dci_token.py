"""OAuth2 client credentials for DCI callers (RFC 6749 section 4.4).

POST /<db>/api/v1/oauth2/client/token with grant_type=client_credentials,
client_id = the DCI sender id, client_secret = its API client's key (form
fields or HTTP Basic), optional scope. The answer is a bearer token that
lives `[spp_dci] token_lifetime` seconds (default 300), bound to the API
client and to the scopes granted; only its SHA-256 is stored. It stops
working when the client is revoked or expires, like the key itself."""
import base64
import datetime as dt
import json
import secrets
import time
import uuid

from sql import Null

from trytond import backend, config
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .client import hash_key, utcnow
from .handlers import ApiError
from .rate_limits import rate_limiter
from .routes import (
    PREFIX, authenticate, bearer_key, has_model, json_response, write_log)
from .validation import unpaired_surrogate

TOKEN_PREFIX = 'dci_'
TOKEN_PATH = '/oauth2/client/token'
DCI_SCOPES = {'registry:search'}


def token_lifetime():
    return config.getint('spp_dci', 'token_lifetime', default=300)


class Token(ModelSQL, ModelView):
    "DCI Access Token"
    __string__ = "DCI Access Token"
    __name__ = 'spp.dci.token'
    client = fields.Many2One('spp.api.client', "API Client", required=True,
        readonly=True, ondelete='CASCADE')
    sender = fields.Many2One('spp.dci.sender', "Sender", readonly=True,
        ondelete='CASCADE')
    token_hash = fields.Char("Token Hash", required=True, readonly=True)
    scopes = fields.Char("Scopes", readonly=True)
    expires = fields.DateTime("Expires", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.token_hash, Index.Equality())),
                Index(t, (t.expires, Index.Range())),
                })
        cls._order = [('expires', 'DESC'), ('id', 'DESC')]

    @classmethod
    def issue(cls, client_id, sender_id, scopes):
        "A new token for the client (returned once, stored hashed)."
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        table = cls.__table__()
        now = utcnow()
        cursor = Transaction().connection.cursor()
        # Expired tokens of the client are useless: cleaned as we go.
        cursor.execute(*table.delete(
                where=(table.client == client_id) & (table.expires < now)))
        cursor.execute(*table.insert(
                [table.client, table.sender, table.token_hash, table.scopes,
                    table.expires, table.create_uid, table.create_date],
                [[client_id, sender_id, hash_key(token),
                        ' '.join(sorted(scopes)),
                        now + dt.timedelta(seconds=token_lifetime()),
                        0, now]]))
        return token

    @classmethod
    def authenticate(cls, token):
        "The API client of a valid token (dict, scopes narrowed), or None."
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        from trytond.pool import Pool
        pool = Pool()
        Client = pool.get('spp.api.client')
        ClientArea = pool.get('spp.api.client-spp.area')
        table = cls.__table__()
        client = Client.__table__()
        relation = ClientArea.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table
            .join(client, condition=client.id == table.client)
            .join(relation, 'LEFT', condition=relation.client == client.id)
            .select(client.id, client.user, client.scopes, client.expires,
                client.revoked, client.rate_limit, table.scopes,
                relation.area,
                where=(table.token_hash == hash_key(token))
                & (table.expires > utcnow())
                & (client.key_hash != Null)))
        rows = cursor.fetchall()
        if not rows:
            return None
        (id_, user, scopes, expires, revoked, rate_limit, granted,
            _) = rows[0]
        return {
            'id': id_,
            'user': user,
            'scopes': set(Client._decode_scopes(scopes)) & set(
                (granted or '').split()),
            'expires': expires,
            'revoked': revoked,
            'rate_limit': rate_limit or 0,
            'areas': sorted(r[-1] for r in rows if r[-1] is not None),
            **Client.sharing_values(id_),
            }


def authenticate_dci(pool, request, scope, log):
    """The calling client: by a DCI access token, or by an API key as the
    REST API. 401 for a bad/expired token, 403 without the scope."""
    key = bearer_key(request)
    if not key or not key.startswith(TOKEN_PREFIX):
        return authenticate(pool, request, scope, log)
    client = pool.get('spp.dci.token').authenticate(key)
    invalid = {'WWW-Authenticate': 'Bearer error="invalid_token"'}
    if not client:
        raise ApiError(401, 'err.request.unauthorized',
            "Invalid or expired access token.", invalid)
    log['client'] = client['id']
    if client['revoked'] or (
            client['expires'] and client['expires'] <= utcnow()):
        raise ApiError(401, 'err.request.unauthorized',
            "The API client of this token is revoked or expired.", invalid)
    allowed, retry = rate_limiter.allow(client['id'], client['rate_limit'])
    if not allowed:
        raise ApiError(429, 'err.request.too_many_requests',
            f"More than {client['rate_limit']} requests this minute.",
            {'Retry-After': str(retry)})
    if scope not in client['scopes']:
        raise ApiError(403, 'err.request.forbidden',
            f"This token lacks the scope {scope}.")
    return client


def credentials(request):
    "(grant_type, client_id, client_secret, scope) from form/JSON/Basic."
    if request.mimetype == 'application/json':
        try:
            values = json.loads(request.get_data(cache=True) or b'{}')
        except (ValueError, RecursionError):
            values = None
        if not isinstance(values, dict):
            raise ApiError(400, 'invalid_request', "The body is not a JSON "
                "object.")
    else:
        values = request.form
    values = {k: values.get(k) for k in ['grant_type', 'client_id',
            'client_secret', 'scope']}
    header = request.headers.get('Authorization', '')
    if header[:6].lower() == 'basic ':
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
            values['client_id'], values['client_secret'] = decoded.split(
                ':', 1)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(401, 'invalid_client', "Malformed Basic "
                "credentials.")
    for name, value in values.items():
        if value is not None and (not isinstance(value, str)
                or len(value) > 500 or unpaired_surrogate(value)):
            raise ApiError(400, 'invalid_request', f"{name}: a string.")
    return values


def issue_token(request, pool, log):

    @with_transaction(readonly=False)
    def transaction(request, pool):
        values = credentials(request)
        if values['grant_type'] != 'client_credentials':
            raise ApiError(400, 'unsupported_grant_type',
                "grant_type must be client_credentials.")
        if not values['client_id'] or not values['client_secret']:
            raise ApiError(401, 'invalid_client',
                "client_id and client_secret are required.",
                {'WWW-Authenticate': 'Basic'})
        Client = pool.get('spp.api.client')
        sender = pool.get('spp.dci.sender').lookup(values['client_id'])
        client = Client.authenticate(values['client_secret'])
        # One answer for every kind of bad credentials: no oracle.
        if (not sender or not client or client['id'] != sender['client']
                or client['revoked'] or (client['expires']
                    and client['expires'] <= utcnow())):
            raise ApiError(401, 'invalid_client', "Invalid client "
                "credentials.", {'WWW-Authenticate': 'Basic'})
        log['client'] = client['id']
        available = client['scopes'] & DCI_SCOPES
        requested = set((values['scope'] or ' '.join(available)).split())
        if not requested or not requested <= available:
            raise ApiError(400, 'invalid_scope',
                "scope: this client may ask for "
                f"{' '.join(sorted(available)) or 'nothing'}.")
        token = pool.get('spp.dci.token').issue(client['id'],
            sender['id'], requested)
        return {'access_token': token, 'token_type': 'Bearer',
            'expires_in': token_lifetime(),
            'scope': ' '.join(sorted(requested))}
    return transaction(request, pool)


@app.route(PREFIX + TOKEN_PATH, methods=['POST'])
@with_pool
def oauth2_token(request, pool):
    started = time.monotonic()
    request_id = uuid.uuid4().hex
    log = {'client': None}
    headers = {'Cache-Control': 'no-store', 'Pragma': 'no-cache'}
    try:
        if not has_model(pool, 'spp.dci.token'):
            raise ApiError(404, 'not_found', "The API is not active.")
        response = json_response(200, issue_token(request, pool, log),
            headers)
    except ApiError as error:
        response = json_response(error.status, {'error': error.code,
                'error_description': error.message},
            {**headers, **error.headers})
    except backend.DatabaseOperationalError:
        response = json_response(503, {'error': 'temporarily_unavailable',
                'error_description': "Busy, retry later."},
            {**headers, 'Retry-After': '1'})
    response.headers['X-Request-Id'] = request_id
    if has_model(pool, 'spp.api.log'):
        write_log(request, pool, {
                'client': log['client'], 'timestamp': utcnow(),
                'method': request.method, 'endpoint': TOKEN_PATH,
                'status': response.status_code, 'request_id': request_id,
                'duration': int((time.monotonic() - started) * 1000)})
    return response
