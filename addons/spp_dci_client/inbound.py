"""What external registries send us: asynchronous answers and
notifications, at `/<db>/dci/<registry code>/registry/<action>`.

| route | message |
| --- | --- |
| `on-search` | the answer of an asynchronous search we sent |
| `txn/on-status` | the answer of a transaction status request |
| `on-subscribe`, `on-unsubscribe` | a subscription confirmed or refused |
| `notify` | records of an event we subscribed to |

Every message must come from the registry it is addressed as: signed by
its public key (an unsigned message, or a registry without a key, is
refused), with its sender id, our receiver id and the action of the
route. Its message_id may be used once (a replay is refused). An answer
must belong to a transaction we are waiting for, a notification to one of
our active subscriptions. A refused message changes nothing; the refusal
is recorded. The answer is the spec's Ack: `ACK`, or `ERR` with the
error, and an HTTP 4xx status."""
import json
import logging
import time
import uuid

from trytond import backend
from trytond.exceptions import UserError
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from trytond.modules.spp_api.dci_envelope import now_iso
from trytond.modules.spp_api.routes import MAX_BODY, has_model, json_response

from .transport import RegistryError, check_signature

logger = logging.getLogger(__name__)
PREFIX = '/<database_name>/dci/<code>/registry/'
ACTIONS = {
    'on-search': 'on-search',
    'txn/on-status': 'txn-on-status',
    'on-subscribe': 'on-subscribe',
    'on-unsubscribe': 'on-unsubscribe',
    'notify': 'notify',
    }


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def ack(correlation_id):
    return {'message': {'ack_status': 'ACK', 'timestamp': now_iso(),
            'correlation_id': correlation_id}}


def nack(error):
    body = {'code': error.code, 'message': error.message}
    return {'message': {'ack_status': 'ERR', 'timestamp': now_iso(),
            'error': body}, 'errors': [body], 'error': body}


def read_body(request):
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(413, 'err.request.too_large', "The body is too large.")
    try:
        body = json.loads(request.get_data(cache=True).decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict) or not isinstance(
            body.get('header'), dict) or not isinstance(
            body.get('message'), dict):
        raise Refused(400, 'err.request.bad',
            "The body is not a DCI envelope.")
    return body


def check_origin(registry, body, action):
    "The envelope comes from the registry, for this route: or Refused."
    header = body['header']
    try:
        check_signature(registry, body, required=True)
    except RegistryError as error:
        raise Refused(401, error.code, error.message)
    if header.get('sender_id') != registry.receiver_id:
        raise Refused(403, 'err.sender_id.invalid',
            "header.sender_id is not this registry's.")
    if header.get('receiver_id') not in {None, '', registry.sender_id}:
        raise Refused(403, 'err.receiver_id.invalid',
            "header.receiver_id is not ours.")
    if header.get('action') != action:
        raise Refused(400, 'rjct.action.invalid',
            f"header.action must be {action} here.")
    message_id = header.get('message_id')
    if not isinstance(message_id, str) or not message_id or len(
            message_id) > 100:
        raise Refused(400, 'rjct.message_id.invalid',
            "header.message_id is required.")


def replayed(pool, registry, message_id):
    Exchange = pool.get('spp.dci.exchange')
    return bool(Exchange.search([
                ('registry', '=', registry.id),
                ('direction', '=', 'in'),
                ('message_id', '=', message_id),
                ], limit=1))


def records_of(message):
    "The reg_records of every notify_event, in order."
    records = []
    for event in message.get('notify_event') or []:
        data = event.get('data') if isinstance(event, dict) else None
        found = data.get('reg_records') if isinstance(data, dict) else None
        if isinstance(found, dict):
            found = [found]
        records.extend(r for r in found or [] if isinstance(r, dict))
    return records


def dispatch(pool, registry, action, message, exchange):
    "Hand the message to what it belongs to: the number of records."
    Exchange = pool.get('spp.dci.exchange')
    Subscription = pool.get('spp.dci.client.subscription')
    if action == 'notify':
        subscription = Subscription.of_notification(registry, message)
        if subscription is None:
            raise Refused(404, 'rjct.subscription.invalid',
                "No active subscription of ours matches this "
                "notification.")
        return Subscription.receive_notification(subscription, exchange,
            records_of(message))
    transaction_id = message.get('transaction_id')
    waiting = Exchange.waiting(registry, transaction_id) if isinstance(
        transaction_id, str) else None
    if waiting is None:
        raise Refused(404, 'rjct.transaction_id.invalid',
            "We are not waiting for an answer of this transaction.")
    waiting.state = 'answered'
    waiting.save()
    target = Exchange.purpose_record(waiting)
    if action == 'on-subscribe':
        Subscription.confirm(target, message)
        return len(message.get('subscribe_response') or [])
    if target is not None and hasattr(target, 'dci_answer'):
        return target.dci_answer(action, message, waiting)
    return None


def receive(request, pool, code, path):
    "(HTTP status, body) of an inbound message."
    action = ACTIONS[path]
    started = time.monotonic()

    @with_transaction(readonly=False)
    def transaction(request, pool):
        Registry = pool.get('spp.dci.registry')
        Exchange = pool.get('spp.dci.exchange')
        registries = Registry.search([('code', '=', code)], limit=1)
        if not registries:
            raise Refused(404, 'err.registry.not_found',
                "No such registry.")
        registry, = registries
        values = {'registry': registry.id, 'direction': 'in',
            'action': action, 'endpoint': f'/registry/{path}'}
        try:
            body = read_body(request)
            check_origin(registry, body, action)
            message_id = body['header']['message_id']
            if replayed(pool, registry, message_id):
                raise Refused(409, 'rjct.message_id.duplicate',
                    "This message_id was received already.")
            message = body['message']
            exchange, = Exchange.create([{**values,
                        'message_id': message_id,
                        'transaction_id': str(
                            message.get('transaction_id') or '')[:100]
                        or None,
                        'state': 'done'}])
            with Transaction().set_user(0):
                records = dispatch(pool, registry, action, message,
                    exchange)
            exchange.records = records
            exchange.duration = int((time.monotonic() - started) * 1000)
            exchange.save()
            return 200, ack(str(uuid.uuid4()))
        except (Refused, UserError) as error:
            if isinstance(error, UserError):
                error = Refused(422, 'rjct.message.invalid', error.message)
            Transaction().rollback()
            Exchange.create([{**values, 'state': 'refused',
                        'error_code': error.code, 'error': error.message,
                        'http_status': error.status,
                        'duration': int(
                            (time.monotonic() - started) * 1000)}])
            return error.status, nack(error)
    return transaction(request, pool)


def endpoint(path):
    @with_pool
    def view(request, pool, code):
        try:
            if not has_model(pool, 'spp.dci.registry'):
                raise Refused(404, 'err.request.not_found',
                    "The DCI client is not active.")
            status, body = receive(request, pool, code, path)
        except Refused as error:
            status, body = error.status, nack(error)
        except backend.DatabaseOperationalError:
            logger.warning("DCI %s from %s: database busy", path, code,
                exc_info=True)
            error = Refused(503, 'err.service.unavailable',
                "Busy, retry later.")
            status, body = 503, nack(error)
        except Exception:
            # Not trytond's error page (it expects an RPC method): the
            # spec's error, the details in the server log.
            request_id = uuid.uuid4().hex
            logger.exception("DCI %s from %s failed (%s)", path, code,
                request_id)
            error = Refused(500, 'internal_error',
                f"Internal error; request id {request_id}.")
            status, body = 500, nack(error)
        return json_response(status, body)
    view.__name__ = 'dci_client_' + path.replace('/', '_').replace('-', '_')
    app.route(PREFIX + path, methods=['POST'])(view)
    return view


routes = [endpoint(path) for path in ACTIONS]
