"""DCI `/registry/subscribe` and `/registry/unsubscribe`: the queued
tasks that answer them (registry core spec v1.0.0).

A subscribe request is acknowledged and queued as an spp.dci.transaction
(kind `subscribe`, dci_async.py); its task checks each subscribe_request
item, records an spp.dci.subscription per accepted item and POSTs the
on-subscribe envelope. An item is refused on its own (status rjct, the
spec's SubscribeStatusReasonCode): an event or record type we do not
notify, a filter naming attributes outside the DCI whitelist or areas
outside the client's (rjct.notify_details.invalid), the same subscription
again (rjct.event.already_subscribed). Unsubscribe names subscription
codes; an unknown code, or another client's, is
rjct.subscription_code.invalid."""
import json
import uuid

from trytond.pool import Pool

from .client import utcnow
from .dci import ItemFault, check_extras
from .dci_envelope import now_iso, parse_ts, response_header
from .dci_query import QueryFault, compile_query
from .dci_signature import sign_envelope
from .handlers import Scope

EVENTS = {
    'register': 'register', 'registered': 'register',
    'registration': 'register', 'create': 'register', 'created': 'register',
    'update': 'update', 'updated': 'update', 'modify': 'update',
    'change': 'any', 'any': 'any', 'all': 'any',
    }
RECORD_TYPES = {'person': 'Member', 'srperson': 'Member',
    'member': 'Member', 'individual': 'Member', 'group': 'Group',
    'household': 'Group'}
DETAILS = 'rjct.notify_details.invalid'


def last_word(value):
    "'spdci-common:RegistryEventType:Update' -> 'update'."
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        return None
    return value.rsplit(':', 1)[-1].strip().lower()


def check_frequency(value):
    "The EventFrequency as JSON text, or None; an ItemFault if malformed."
    if value in (None, ''):
        return None
    if not isinstance(value, dict):
        raise ItemFault(DETAILS, "frequency: an EventFrequency object.")
    for name in ['start_time', 'end_time']:
        if value.get(name) not in (None, ''):
            try:
                parse_ts(value[name])
            except (ValueError, TypeError):
                raise ItemFault(DETAILS,
                    f"frequency.{name}: ISO 8601 with a time zone.")
    if not isinstance(value.get('frequency', ''), str) or len(
            value.get('frequency', '')) > 100:
        raise ItemFault(DETAILS, "frequency.frequency: a cron expression.")
    return json.dumps({k: value[k] for k in ('start_time', 'end_time',
                'frequency') if value.get(k) not in (None, '')})


def area_codes(domain):
    "The area codes a compiled domain names."
    if isinstance(domain, tuple):
        field, _, value = domain
        if field == 'area.code':
            return set(value) if isinstance(value, list) else {value}
        return set()
    return set().union(*[area_codes(d) for d in domain
            if not isinstance(d, str)]) if domain else set()


def check_areas(scope, domain):
    "Refuse a filter naming an area outside the client's areas."
    codes = area_codes(domain)
    if not codes or not scope.client['areas']:
        return
    visible = {a.code for a in scope.Area.search([('code', 'in',
                    list(codes))] + scope.areas_domain())}
    outside = sorted(codes - visible)
    if outside:
        raise ItemFault(DETAILS, "filter: the areas "
            f"{', '.join(c[:64] for c in outside[:5])} are outside this "
            "client's areas.")


def subscribe_one(scope, transaction, item):
    "Record one subscribe_request item: its subscribe_response item."
    Subscription = Pool().get('spp.dci.subscription')
    if not isinstance(item, dict):
        raise ItemFault('rjct.reference_id.invalid',
            "Each subscribe request must be an object.")
    reference_id = item.get('reference_id')
    if not isinstance(reference_id, str) or not 0 < len(reference_id) < 100:
        raise ItemFault('rjct.reference_id.invalid',
            "reference_id is required.")
    try:
        parse_ts(item.get('timestamp'))
    except (ValueError, TypeError):
        raise ItemFault('rjct.timestamp.invalid',
            "timestamp must be ISO 8601 with a time zone.")
    criteria = item.get('subscribe_criteria')
    if not isinstance(criteria, dict):
        raise ItemFault(DETAILS, "subscribe_criteria is required.")
    check_extras(item, criteria, DETAILS)
    event = EVENTS.get(last_word(criteria.get('reg_event_type')))
    if event is None:
        raise ItemFault(DETAILS, "reg_event_type: register, update or "
            "any (created or updated registrants).")
    record_type = criteria.get('notify_record_type')
    collection = RECORD_TYPES.get(last_word(record_type))
    if collection is None:
        raise ItemFault('rjct.notify_types.invalid',
            "notify_record_type: Person (or Member) or Group.")
    filter_type = criteria.get('filter_type') or 'expression'
    if filter_type not in {'expression', 'predicate'}:
        raise ItemFault(DETAILS, "filter_type: expression or predicate.")
    try:
        compiled, domain = compile_query(filter_type, criteria.get('filter'),
            collection)
    except QueryFault as error:
        raise ItemFault(DETAILS, f"{error.code}: {error.message}")
    if compiled != collection:
        raise ItemFault(DETAILS, "filter: its collection is not the "
            "notify_record_type.")
    check_areas(scope, domain)
    frequency = check_frequency(criteria.get('frequency'))
    stored = json.dumps({'filter_type': filter_type,
            'filter': criteria.get('filter')}, sort_keys=True)
    if Subscription.search([('client', '=', transaction.client.id),
                ('sender', '=', transaction.sender.id),
                ('state', '=', 'subscribed'),
                ('reg_event_type', '=', event),
                ('collection', '=', collection),
                ('filter', '=', stored)], limit=1):
        raise ItemFault('rjct.event.already_subscribed',
            "The same subscription is active already.")
    subscription, = Subscription.create([{
                'code': uuid.uuid4().hex,
                'sender': transaction.sender.id,
                'client': transaction.client.id,
                'reference_id': reference_id,
                'reg_event_type': event,
                'collection': collection,
                'notify_record_type': str(record_type)[:200],
                'filter': stored,
                'frequency': frequency,
                'locale': item.get('locale') or None,
                'last_notified': utcnow(),
                }])
    info = {'version': '1.0.0', 'code': subscription.code,
        'subscription_code': subscription.code, 'status': 'subscribe',
        'timestamp': now_iso(),
        'reg_event_type': criteria['reg_event_type'],
        'filter_type': filter_type, 'filter': criteria.get('filter'),
        'notify_record_type': record_type,
        'subscribe_criteria': {k: criteria[k] for k in (
                'reg_event_type', 'filter_type', 'filter',
                'notify_record_type', 'frequency') if k in criteria}}
    if frequency:
        info['frequency'] = json.loads(frequency)
    response = {'reference_id': reference_id, 'timestamp': now_iso(),
        'status': 'succ', 'subscriptions': [info]}
    if item.get('locale'):
        response['locale'] = info['locale'] = item['locale']
    return response


def subscribe_envelope(transaction, client, header, message):
    "The on-subscribe envelope (queued task): subscriptions recorded."
    responses = []
    items = message.get('subscribe_request') or []
    scope = Scope(client)
    for item in ([] if client['revoked'] else items):
        try:
            responses.append(subscribe_one(scope, transaction, item))
        except ItemFault as error:
            reference = (item.get('reference_id')
                if isinstance(item, dict) else None)
            responses.append({
                    'reference_id': (reference[:99]
                        if isinstance(reference, str) and reference
                        else 'unknown'),
                    'timestamp': now_iso(), 'status': 'rjct',
                    'status_reason_code': error.code,
                    'status_reason_message': error.message[:999]})
    succeeded = sum(1 for r in responses if r['status'] == 'succ')
    return sign_envelope({
            'header': response_header(header,
                'succ' if succeeded or not responses else 'rjct',
                len(responses), len(responses), action='on-subscribe'),
            'message': {'transaction_id': transaction.transaction_id,
                'correlation_id': transaction.correlation_id,
                'subscribe_response': responses},
            })


def unsubscribe_envelope(transaction, client, header, message):
    """The on-unsubscribe envelope: the client's subscriptions of the codes
    ended; unknown codes (or another client's) rjct."""
    Subscription = Pool().get('spp.dci.subscription')
    codes = [c for c in message.get('subscription_codes') or []
        if isinstance(c, str) and 0 < len(c) < 100]
    found = {s.code: s for s in Subscription.search([
                ('client', '=', transaction.client.id),
                ('code', 'in', codes)])} if not client['revoked'] else {}
    active = [s for s in found.values() if s.state == 'subscribed']
    if active:
        Subscription.write(active, {'state': 'unsubscribed',
                'unsubscribed': utcnow()})
    unknown = [c for c in message.get('subscription_codes') or []
        if not isinstance(c, str) or c not in found]
    already = [s.code for s in found.values() if s not in active]
    answer = {'transaction_id': transaction.transaction_id,
        'correlation_id': transaction.correlation_id,
        'timestamp': now_iso(), 'status': 'succ',
        'subscription_status': [{'code': c, 'status': 'unsubscribe'}
            for c in codes if c in found]}
    if unknown:
        answer.update(status='rjct',
            status_reason_code='rjct.subscription_code.invalid',
            status_reason_message=("Unknown subscription codes: "
                + ', '.join(str(c)[:99] for c in unknown[:10]))[:999])
    elif already:
        answer.update(status='rjct',
            status_reason_code='rjct.event.already_unsubscribed',
            status_reason_message=("Already unsubscribed: "
                + ', '.join(already[:10]))[:999])
    return sign_envelope({
            'header': response_header(header, answer['status'],
                len(codes), len(codes), action='on-unsubscribe'),
            'message': answer,
            })
