"""DCI envelopes: the header checked (a fault rejects the whole message,
HTTP 400, header.status `rjct` with the spec's reason code), the answer's
header, the body read (text that is not Unicode refused, naming the
field) and the sender checked (registered to the calling client, its
signature verified). Used by every DCI endpoint (dci.py, dci_async.py)."""
import datetime as dt
import json
import uuid

from trytond import config

from .dci_signature import (
    SignatureFault, load_public_key, sign_envelope, verify)
from .handlers import ApiError
from .routes import MAX_BODY
from .validation import surrogate_message, unpaired_surrogate

SENDER_ID = 'spp-mis'
MAX_REQUESTS = 20


class HeaderFault(Exception):
    "The envelope is unusable: the whole message is rejected."

    def __init__(self, code, message, error='err.request.bad'):
        super().__init__(message)
        self.code = code
        self.message = message
        # The spec's Error code of the HTTP answer.
        self.error = error


# The codes of authenticate() (the REST API's) as the spec's Error codes.
SPEC_CODES = {
    'unauthorized': 'err.request.unauthorized',
    'forbidden_scope': 'err.request.forbidden',
    'rate_limited': 'err.request.too_many_requests',
    }

# The list of requests of a message, by action (txn-status: one object).
REQUESTS = {
    'search': 'search_request',
    'subscribe': 'subscribe_request',
    'unsubscribe': 'subscription_codes',
    }


def error_body(code, message):
    """The spec's HttpErrorResponse body (errors[]) with the top-level
    error object that common DCI clients read."""
    code = SPEC_CODES.get(code, code)
    error = {'code': code, 'message': message[:999]}
    return {'errors': [error], 'error': dict(error)}


def registry_id():
    "This registry's sender id (the receiver_id senders address)."
    return config.get('spp_dci', 'sender_id', default=SENDER_ID)


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
    receiver = header.get('receiver_id')
    if receiver not in (None, '') and receiver != registry_id():
        raise HeaderFault('rjct.action.invalid',
            f"header.receiver_id {str(receiver)[:64]!r} is not this "
            f"registry ({registry_id()!r}).", 'err.receiver_id.invalid')
    if header.get('is_msg_encrypted'):
        raise HeaderFault('rjct.action.not_supported',
            "Encrypted messages are not supported.")
    message = envelope.get('message')
    if not isinstance(message, dict) or not isinstance(
            message.get('transaction_id'), str) or not (
            0 < len(message['transaction_id']) <= 99):
        raise HeaderFault('rjct.action.invalid',
            "message needs a transaction_id (1 to 99 characters).")
    if action in REQUESTS:
        name = REQUESTS[action]
        if not isinstance(message.get(name), list):
            raise HeaderFault('rjct.action.invalid',
                f"message needs {name}.")
        count = len(message[name])
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
            f"At most {MAX_REQUESTS} requests per message.")
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
        'sender_id': registry_id(),
        }
    if request_header and isinstance(request_header.get('sender_id'), str):
        header['receiver_id'] = request_header['sender_id']
    if code:
        header['status_reason_code'] = code
        header['status_reason_message'] = message[:999]
    return header


def rejected(envelope, fault, action):
    """The signed answer to an envelope rejected at once (HTTP 400): the
    header rjct, with the spec's errors[] and error."""
    answer = sign_envelope({'header': response_header(header_of(envelope),
                'rjct', 0, 0, fault.code, fault.message, action=action)})
    answer.update(error_body(fault.error, f"{fault.code}: {fault.message}"))
    return answer


def read_envelope(request):
    """The decoded JSON body, or None (also for a body over MAX_BODY); 422
    err.request.bad naming the field of text that is not Unicode."""
    if (request.content_length or 0) > MAX_BODY:
        return None
    try:
        envelope = json.loads(request.get_data(cache=True).decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    path = unpaired_surrogate(envelope, root='')
    if path:
        raise ApiError(422, 'err.request.bad', surrogate_message(path))
    return envelope


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
