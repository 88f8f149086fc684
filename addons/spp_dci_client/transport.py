"""The DCI client's wire: envelopes built and signed, POSTed with retries,
answers checked, every call recorded.

`send(registry, path, action, message)` is the one way out. It

- wraps the message in the DCI envelope (header with a new message_id,
  our sender id, its receiver id, total_count) and signs it with the
  server's `[spp_dci] signing_key` when one is configured;
- authenticates with an OAuth2 client-credentials token, fetched from the
  registry's token URL, kept per process until shortly before it expires
  and fetched again on a 401;
- retries a registry that is down, slow, answers 5xx (or 429), garbage
  (not JSON, not an envelope) or a signature that does not verify with
  its key, up to the registry's attempts, resending the *same* envelope
  (same message_id: the registry can tell a retry from a new request);
- refuses the answer when the last attempt is still one of those;
- records the exchange (spp.dci.exchange: who, when, what was asked, how
  many records came back, never a name nor a number) in a transaction of
  its own, so a failed call is recorded even when the caller's work is
  rolled back.

A failure raises RegistryError(code, message) after it is recorded; the
caller writes nothing of the call."""
import datetime as dt
import json
import logging
import threading
import time
import uuid

import requests

from trytond import config
from trytond.modules.spp_api.dci_signature import (
    SignatureFault, sign_envelope, verify)
from trytond.pool import Pool
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)
RETRIED_STATUSES = {429, 500, 502, 503, 504}
# Our route of the asynchronous answer of each action (inbound.py).
CALLBACKS = {
    'search': '/registry/on-search',
    'txn-status': '/registry/txn/on-status',
    'subscribe': '/registry/on-subscribe',
    'unsubscribe': '/registry/on-unsubscribe',
    }
# Renew a token this many seconds before it expires.
TOKEN_MARGIN = 30


class RegistryError(Exception):
    "A call that failed: code (machine) and message (for the user)."

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def now_iso():
    return dt.datetime.now(dt.timezone.utc).isoformat(
        timespec='milliseconds').replace('+00:00', 'Z')


def retry_pause():
    "Seconds between attempts (first pause; doubles each time)."
    return config.getfloat('spp_dci_client', 'retry_pause', default=1)


class TokenCache:
    "Access tokens by (database, registry id, client id), per process."

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}

    def get(self, key):
        entry = self.tokens.get(key)
        if entry and entry[1] - TOKEN_MARGIN > time.monotonic():
            return entry[0]

    def put(self, key, token, lifetime):
        with self.lock:
            self.tokens[key] = (token, time.monotonic() + lifetime)

    def drop(self, key):
        with self.lock:
            self.tokens.pop(key, None)


tokens = TokenCache()


def token_key(registry):
    return (Transaction().database.name, registry.id, registry.client_id)


def fetch_token(registry, session):
    "A new access token of the registry's OAuth2 token endpoint."
    url = registry.token_url or (
        registry.base_url.rstrip('/') + '/oauth2/client/token')
    try:
        response = session.post(url, data={
                'grant_type': 'client_credentials',
                'client_id': registry.client_id or registry.sender_id,
                'client_secret': registry.client_secret or ''},
            timeout=registry.timeout)
    except requests.RequestException as error:
        raise RegistryError('token.unreachable',
            f"The token endpoint did not answer: {type(error).__name__}.")
    try:
        body = response.json()
        token = body['access_token']
        lifetime = float(body.get('expires_in') or 300)
    except (ValueError, KeyError, TypeError):
        raise RegistryError('token.refused',
            f"The token endpoint refused our credentials "
            f"(HTTP {response.status_code}).", response.status_code)
    if response.status_code != 200 or not isinstance(token, str):
        raise RegistryError('token.refused',
            f"The token endpoint refused our credentials "
            f"(HTTP {response.status_code}).", response.status_code)
    tokens.put(token_key(registry), token, lifetime)
    return token


def authorization(registry, session, renew=False):
    "The Authorization header value, or None."
    if registry.auth_method == 'bearer':
        return f'Bearer {registry.client_secret}'
    if registry.auth_method != 'oauth2':
        return None
    token = None if renew else tokens.get(token_key(registry))
    return f'Bearer {token or fetch_token(registry, session)}'


def envelope(registry, action, message, total_count=None, message_id=None,
        header_extra=None):
    """A signed DCI request envelope (`header_extra`: more header fields,
    e.g. the status a notify header carries)."""
    header = {
        'version': '1.0.0',
        'message_id': message_id or str(uuid.uuid4()),
        'message_ts': now_iso(),
        'action': action,
        'sender_id': registry.sender_id,
        'receiver_id': registry.receiver_id,
        'total_count': total_count if total_count is not None else 1,
        'is_msg_encrypted': False,
        }
    # sender_uri is where the answer of this message goes (the spec's
    # examples: the on-search endpoint itself).
    callback = registry.callback_url(CALLBACKS.get(action, '/registry'))
    if callback:
        header['sender_uri'] = callback
    header.update(header_extra or {})
    return sign_envelope({'header': header, 'message': message})


def check_signature(registry, body, required=None):
    """Verify the envelope's signature with the registry's key:
    RegistryError when it does not match, or is missing and required."""
    required = registry.signature_required if required is None else required
    key = registry.verifying_key
    if key is None:
        if required:
            raise RegistryError('err.signature.invalid',
                "No public key is configured for this registry.")
        return
    if not body.get('signature') and not required:
        return
    try:
        verify(body, *key)
    except SignatureFault as error:
        raise RegistryError(error.code, error.message)


def post(registry, path, body, session, check=None):
    """(HTTP status, decoded body, attempts) of a POST, retried.

    `check(status, answer)` raises RegistryError for an answer that is not
    what a registry sends (not an envelope, wrongly signed): such an
    answer, one that is not JSON, a timeout, a refused connection, 429 and
    5xx are tried again, up to the registry's attempts."""
    url = registry.base_url.rstrip('/') + path
    pause = retry_pause()
    renewed = False
    attempt = 0
    while True:
        attempt += 1
        try:
            headers = {'Content-Type': 'application/json'}
            auth = authorization(registry, session)
            if auth:
                headers['Authorization'] = auth
            response = session.post(url, data=json.dumps(body),
                headers=headers, timeout=registry.timeout)
        except RegistryError:
            raise
        except requests.Timeout:
            failure = RegistryError('timeout',
                f"No answer within {registry.timeout} s.")
        except requests.RequestException as error:
            failure = RegistryError('unreachable',
                f"The registry did not answer ({type(error).__name__}).")
        else:
            status = response.status_code
            if status == 401 and not renewed and (
                    registry.auth_method == 'oauth2'):
                # Expired or revoked token: one new one, the same message.
                tokens.drop(token_key(registry))
                renewed = True
                attempt -= 1
                continue
            if status in RETRIED_STATUSES:
                failure = RegistryError('unavailable',
                    f"The registry answered HTTP {status}.", status)
            else:
                try:
                    answer = response.json()
                except ValueError:
                    failure = RegistryError('garbage',
                        f"The answer is not JSON (HTTP {status}).", status)
                else:
                    try:
                        if check and status < 400:
                            check(status, answer)
                        return status, answer, attempt
                    except RegistryError as error:
                        failure = error
        if attempt >= registry.attempts:
            failure.attempts = attempt
            raise failure
        time.sleep(pause)
        pause *= 2


def error_of(status, body):
    "(code, message) of a DCI error answer."
    errors = body.get('errors') if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return (str(errors[0].get('code'))[:100],
            str(errors[0].get('message'))[:500])
    error = body.get('error') if isinstance(body, dict) else None
    if isinstance(error, dict):
        return (str(error.get('code'))[:100],
            str(error.get('message'))[:500])
    header = body.get('header') if isinstance(body, dict) else None
    if isinstance(header, dict) and header.get('status_reason_code'):
        return (str(header['status_reason_code'])[:100],
            str(header.get('status_reason_message'))[:500])
    return 'refused', f"HTTP {status}"


def send(registry, path, action, message, *, total_count=None, asked=None,
        records=None, purpose=None, expect_envelope=True, session=None,
        header_extra=None):
    """POST a DCI message to the registry: the answer's body (a dict).

    `asked`: what was asked, without personal data (a query type and
    attribute names), for the exchange log; `records(body)` counts the
    records of the answer for the log; `purpose`: 'model,id' of the
    record an asynchronous answer belongs to."""
    pool = Pool()
    Exchange = pool.get('spp.dci.exchange')
    body = envelope(registry, action, message, total_count,
        header_extra=header_extra)
    header = body['header']
    started = time.monotonic()
    values = {
        'registry': registry.id, 'direction': 'out', 'action': action,
        'endpoint': path, 'message_id': header['message_id'],
        'transaction_id': (message.get('transaction_id')
            if isinstance(message, dict) else None),
        'asked': json.dumps(asked, sort_keys=True) if asked else None,
        'purpose': purpose,
        }
    session = session or requests.Session()

    def check(status, answer):
        if expect_envelope:
            if not isinstance(answer, dict) or not isinstance(
                    answer.get('message'), dict):
                raise RegistryError('garbage',
                    "The answer is not a DCI envelope.", status)
            check_signature(registry, answer)
    try:
        status, answer, attempts = post(registry, path, body, session,
            check)
        values.update(http_status=status, attempts=attempts)
        if status >= 400:
            code, text = error_of(status, answer)
            raise RegistryError(code, text, status)
        if expect_envelope:
            answer_header = answer.get('header') or {}
            if answer_header.get('status') == 'rjct':
                raise RegistryError(
                    str(answer_header.get('status_reason_code')
                        or 'rjct')[:100],
                    str(answer_header.get('status_reason_message')
                        or "The message was rejected.")[:500], status)
        else:
            ack = (answer.get('message') if isinstance(answer, dict)
                else None) or {}
            if isinstance(ack, dict) and ack.get('ack_status') == 'ERR':
                error = ack.get('error') or {}
                raise RegistryError(
                    str(error.get('code') or 'ack.err')[:100],
                    str(error.get('message')
                        or "The message was not acknowledged.")[:500],
                    status)
        values['records'] = records(answer) if records else None
        values['state'] = 'waiting' if purpose else 'done'
        return answer
    except RegistryError as error:
        values.setdefault('attempts', getattr(error, 'attempts', 1))
        values.update(state='failed', error_code=error.code,
            error=error.message, http_status=error.status
            or values.get('http_status'))
        raise
    finally:
        values['duration'] = int((time.monotonic() - started) * 1000)
        Exchange.record(values)
