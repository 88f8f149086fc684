"""Our subscriptions at external registries: "tell us of every death (or
birth, or change) among the people of these areas".

Life cycle: *draft* → *requested* when /registry/subscribe is sent → *active*
when the registry confirms with a subscription code (in its answer or its
`on-subscribe` callback) or *refused* → *cancelled* after
/registry/unsubscribe. The registry then POSTs `notify` messages to our
`/<db>/dci/<registry code>/registry/notify` route (inbound.py), which finds
the subscription by that code (as the message's transaction_id or a
notify_event reference_id) or by the transaction id of the subscription
request, and hands the notified records to `receive_notification()`:
addons that act on events (life events, changed registrants) extend it."""
import datetime as dt
import uuid

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval

from .transport import now_iso, send

EVENT_TYPES = [
    ('death', "Death"),
    ('live_birth', "Live Birth"),
    ('update', "Registrant Changed"),
    ]
FREQUENCIES = [
    ('immediate', "As They Happen"),
    ('daily', "Daily"),
    ]


class Subscription(Workflow, ModelSQL, ModelView):
    "Registry Subscription"
    __string__ = "Registry Subscription"
    __name__ = 'spp.dci.client.subscription'
    _states = {'readonly': Eval('state') != 'draft'}
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, ondelete='CASCADE', states=_states)
    event_type = fields.Selection(EVENT_TYPES, "Event", required=True,
        states=_states)
    event_type_string = event_type.translated('event_type')
    frequency = fields.Selection(FREQUENCIES, "Frequency", required=True,
        states=_states)
    areas = fields.Many2Many('spp.dci.client.subscription-spp.area',
        'subscription', 'area', "Areas", states=_states,
        help="Only events of people of these areas (empty: the "
        "registry's areas, or all).")
    code = fields.Char("Subscription Code", readonly=True,
        help="The registry's code of this subscription.")
    transaction_id = fields.Char("Transaction ID", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('requested', "Requested"),
            ('active', "Active"),
            ('refused', "Refused"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True)
    refusal = fields.Char("Refusal", readonly=True,
        states={'invisible': Eval('state') != 'refused'})
    last_notification = fields.DateTime("Last Notification", readonly=True)
    notifications = fields.Integer("Notifications", readonly=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transitions |= {
            ('draft', 'requested'),
            ('requested', 'active'),
            ('requested', 'refused'),
            ('refused', 'draft'),
            ('active', 'cancelled'),
            ('requested', 'cancelled'),
            }
        cls._buttons.update({
                'subscribe': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'unsubscribe': {
                    'invisible': ~Eval('state').in_(['active', 'requested']),
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'refused',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_frequency():
        return 'immediate'

    @staticmethod
    def default_notifications():
        return 0

    def get_rec_name(self, name):
        return f'{self.registry.rec_name}: {self.event_type_string}'

    def area_codes(self):
        "Codes of the areas of the subscription (and the areas below)."
        Area = Pool().get('spp.area')
        roots = self.areas or self.registry.areas
        if not roots:
            return []
        return sorted({a.code for a in Area.search(
                    [('parent', 'child_of', [a.id for a in roots])])
                if a.code})

    def criteria(self):
        "The subscribe_criteria of the registry core spec."
        events = self.registry.reverse_mapping('event_type')
        criteria = {
            'version': '1.0.0',
            'reg_event_type': events.get(self.event_type, self.event_type),
            'frequency': self.frequency,
            'notify_record_type': 'person',
            'filter_type': 'expression',
            'filter': [],
            }
        codes = self.area_codes()
        if codes:
            criteria['filter'] = [{'seq_num': 1, 'expression1': {
                        'attribute_name': 'address.region_code',
                        'operator': 'in', 'attribute_value': codes}}]
        return criteria

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, subscriptions):
        cls.write(subscriptions, {'refusal': None, 'code': None,
                'transaction_id': None})

    @classmethod
    @ModelView.button
    @Workflow.transition('requested')
    def subscribe(cls, subscriptions):
        "Ask each registry for the subscription (/registry/subscribe)."
        for subscription in subscriptions:
            transaction_id = str(uuid.uuid4())
            message = {'transaction_id': transaction_id,
                'subscribe_request': [{
                        'reference_id': str(subscription.id),
                        'timestamp': now_iso(),
                        'subscribe_criteria': subscription.criteria(),
                        }]}
            answer = send(subscription.registry, '/registry/subscribe',
                'subscribe', message,
                asked={'event': subscription.event_type,
                    'areas': len(subscription.area_codes())},
                purpose=str(subscription))
            subscription.transaction_id = transaction_id
            subscription.save()
            # A registry that answers at once (sync) confirms here; an
            # asynchronous one ACKs and calls on-subscribe later.
            responses = (answer.get('message') or {}).get(
                'subscribe_response')
            if responses:
                cls.confirm(subscription, answer['message'])

    @classmethod
    @ModelView.button
    def unsubscribe(cls, subscriptions):
        "Cancel each subscription at its registry (/registry/unsubscribe)."
        for subscription in subscriptions:
            if subscription.code:
                send(subscription.registry, '/registry/unsubscribe',
                    'unsubscribe', {
                        'transaction_id': str(uuid.uuid4()),
                        'timestamp': now_iso(),
                        'subscription_codes': [subscription.code]},
                    asked={'subscriptions': 1})
        cls.cancel(subscriptions)

    @classmethod
    @Workflow.transition('cancelled')
    def cancel(cls, subscriptions):
        pass

    @classmethod
    def confirm(cls, subscription, message):
        """Apply a subscribe answer (SubscribeResponse): active with the
        registry's code, or refused with its reason."""
        for response in message.get('subscribe_response') or []:
            if not isinstance(response, dict):
                continue
            if response.get('status') in {'succ', 'rcvd', 'pdng'}:
                infos = response.get('subscriptions') or [{}]
                code = (infos[0] or {}).get('code') if isinstance(
                    infos, list) else None
                if not code:
                    continue
                subscription.code = str(code)[:99]
                subscription.save()
                cls.activate([subscription])
            else:
                subscription.refusal = str(
                    response.get('status_reason_message')
                    or response.get('status_reason_code')
                    or response.get('status'))[:200]
                subscription.save()
                cls.refuse([subscription])
            return True
        return False

    @classmethod
    @Workflow.transition('active')
    def activate(cls, subscriptions):
        pass

    @classmethod
    @Workflow.transition('refused')
    def refuse(cls, subscriptions):
        pass

    @classmethod
    def of_notification(cls, registry, message):
        "The active subscription a notify message belongs to, or None."
        keys = {message.get('transaction_id')}
        for event in message.get('notify_event') or []:
            if isinstance(event, dict):
                # Our own server names the subscription in each event.
                keys.add(event.get('subscription_code'))
                keys.add(event.get('reference_id'))
        keys = [k for k in keys if isinstance(k, str) and k]
        if not keys:
            return None
        found = cls.search([
                ('registry', '=', registry.id),
                ('state', '=', 'active'),
                ['OR', ('code', 'in', keys),
                    ('transaction_id', 'in', keys)],
                ], limit=1)
        return found[0] if found else None

    @classmethod
    def receive_notification(cls, subscription, exchange, records):
        """Act on the records of a notification (the reg_records of every
        notify_event) and return how many were taken. Extended by the
        addons that act on an event type; the base counts them."""
        cls.write([subscription], {
                'last_notification': dt.datetime.now(),
                'notifications': (subscription.notifications or 0) + 1,
                })
        return len(records)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(mode, records, values=values,
            external=external)
        if mode == 'delete' and any(
                s.state in {'requested', 'active'} for s in records):
            raise AccessError(gettext(
                    'spp_dci_client.msg_subscription_delete_active'))


class SubscriptionArea(ModelSQL):
    "Registry Subscription Area"
    __string__ = "Registry Subscription Area"
    __name__ = 'spp.dci.client.subscription-spp.area'
    subscription = fields.Many2One('spp.dci.client.subscription',
        "Subscription", required=True, ondelete='CASCADE')
    area = fields.Many2One('spp.area', "Area", required=True,
        ondelete='CASCADE')

