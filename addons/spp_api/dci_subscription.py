"""DCI subscriptions (spp.dci.subscription, recorded by the subscribe
requests of dci_subscribe.py) and the `notify` calls to subscribers
(registry core spec v1.0.0).

Notifications: `notify_changes()` (the cron job, also callable alone)
runs one SQL query per active subscription for the registrants created or
changed since its last pass that match its filter and that the client may
see (its acting user's record rules and its areas, as search), and queues
one signed `notify` envelope per batch (`[spp_dci] notify_batch_size`,
default 200) to the sender's callback URL + `notify`, delivered and
retried as callbacks are (dci_transaction.py). last_notified moves in the
transaction that queues them, so a pass that fails notifies again."""
import datetime as dt
import json
import uuid

from sql.conditionals import Coalesce

from trytond import config
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access

from .client import utcnow
from .dci_envelope import now_iso, parse_ts, response_header
from .dci_query import compile_query
from .dci_record import reg_records
from .dci_status import load_client
from .handlers import Scope

def notify_batch_size():
    return config.getint('spp_dci', 'notify_batch_size', default=200)


class Subscription(ModelSQL, ModelView):
    "DCI Subscription"
    __string__ = "DCI Subscription"
    __name__ = 'spp.dci.subscription'
    code = fields.Char("Code", required=True, readonly=True,
        help="The subscription code the subscriber unsubscribes with.")
    sender = fields.Many2One('spp.dci.sender', "Sender", required=True,
        readonly=True, ondelete='CASCADE')
    client = fields.Many2One('spp.api.client', "API Client", required=True,
        readonly=True, ondelete='CASCADE')
    reference_id = fields.Char("Reference ID", readonly=True)
    reg_event_type = fields.Selection([
            ('register', "Registrant Created"),
            ('update', "Registrant Updated"),
            ('any', "Registrant Created or Updated"),
            ], "Event", required=True, readonly=True)
    collection = fields.Selection([
            ('Member', "Individuals"),
            ('Group', "Groups"),
            ], "Records", required=True, readonly=True)
    notify_record_type = fields.Char("Notify Record Type", readonly=True)
    filter = fields.Text("Filter", readonly=True,
        help="JSON: the filter_type and filter subscribed with.")
    frequency = fields.Text("Frequency", readonly=True,
        help="JSON: the spec's EventFrequency, when given.")
    locale = fields.Char("Locale", readonly=True)
    state = fields.Selection([
            ('subscribed', "Subscribed"),
            ('unsubscribed', "Unsubscribed"),
            ], "State", required=True, readonly=True)
    # A Timestamp: the microseconds of the change dates it is compared to.
    last_notified = fields.Timestamp("Last Notified", readonly=True,
        help="Changes after this instant are notified at the next pass.")
    unsubscribed = fields.DateTime("Unsubscribed", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_api.msg_dci_subscription_code_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.state, Index.Equality()),
                where=t.state == 'subscribed'))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'subscribed'

    def domain(self):
        "The compiled filter (a domain on party.party)."
        stored = json.loads(self.filter)
        return compile_query(stored['filter_type'], stored['filter'],
            self.collection)[1]

    def window(self):
        "(start, end) of the frequency's range, naive UTC, or None."
        frequency = json.loads(self.frequency) if self.frequency else {}
        bounds = []
        for name in ['start_time', 'end_time']:
            value = frequency.get(name)
            bounds.append(parse_ts(value).astimezone(dt.timezone.utc)
                .replace(tzinfo=None) if value else None)
        return bounds

    @classmethod
    def notify_changes(cls, subscriptions=None):
        """Cron (and tests): queue the notifications of every active
        subscription, or of those given; one SQL query per subscription."""
        if subscriptions is None:
            subscriptions = cls.search([('state', '=', 'subscribed')])
        for subscription in subscriptions:
            if subscription.state == 'subscribed':
                subscription.notify()

    def notify(self):
        "Queue the notifications of this subscription's changes."
        pool = Pool()
        Party = pool.get('party.party')
        Transactions = pool.get('spp.dci.transaction')
        sender = self.sender
        client = load_client(self.client.id)
        start, end = self.window()
        now = utcnow()
        if (client['revoked'] or not sender.active
                or not sender.callback_url
                or (client['expires'] and client['expires'] <= now)
                or (start and now < start) or (end and now > end)):
            return
        since = self.last_notified or self.create_date
        kind = 'individual' if self.collection == 'Member' else 'group'
        changed = {
            'register': [('create_date', '>', since)],
            'update': [('write_date', '>', since)],
            'any': ['OR', ('create_date', '>', since),
                ('write_date', '>', since)],
            }[self.reg_event_type]
        context = {'spp_audit_channel': 'dci', 'spp_api_client':
            client['id'], 'spp_request_id': uuid.uuid4().hex,
            'active_test': True}
        envelopes = []
        # Read as the client's acting user, its record rules checked.
        with Transaction().set_user(client['user']), \
                Transaction().set_context(context), check_access():
            scope = Scope(client)
            query = Party.search([('registrant_type', '=', kind),
                    *scope.area_domain(), self.domain(), changed],
                order=[], query=True)
            party = Party.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*party.select(party.id,
                    Coalesce(party.write_date, party.create_date),
                    where=party.id.in_(query), order_by=[party.id.asc]))
            rows = cursor.fetchall()
            for batch in grouped_slice([r[0] for r in rows],
                    notify_batch_size()):
                records = reg_records(scope, [(kind, i) for i in batch])
                envelopes.append(notify_envelope(self, sender,
                        uuid.uuid4().hex, records))
            Log = pool.get('spp.api.log')
            for model, ids in scope.served.items():
                Log.served(model, ids, query={'endpoint': 'notify',
                        'subscription': self.code})
        with Transaction().set_context(context):
            for envelope in envelopes:
                Transactions.queue_notification({
                        'kind': 'notify',
                        'client': client['id'],
                        'sender': sender.id,
                        'transaction_id': (
                            envelope['message']['transaction_id']),
                        'message_id': envelope['header']['message_id'],
                        'correlation_id': uuid.uuid4().hex,
                        'callback_url': notify_url(sender.callback_url),
                        'response': json.dumps(envelope,
                            ensure_ascii=False),
                        })
        if rows:
            self.last_notified = max(r[1] for r in rows)
            self.save()


def notify_url(callback_url):
    return callback_url.rstrip('/') + '/notify'


def notify_envelope(subscription, sender, transaction_id, records):
    "The notify envelope (NotifyEventRequest) of a batch of records."
    events = [{
            'reference_id': uuid.uuid4().hex,
            'timestamp': now_iso(),
            'subscription_code': subscription.code,
            'data': {
                'version': '1.0.0',
                'reg_type': 'ns:spp:RegistryType:Social',
                'reg_record_type': (subscription.notify_record_type
                    or subscription.collection),
                'reg_records': record,
                },
            **({'locale': subscription.locale}
                if subscription.locale else {}),
            } for record in records]
    return {
        'header': response_header({'sender_id': sender.sender_id}, 'succ',
            len(events), len(events), action='notify'),
        'message': {'transaction_id': transaction_id,
            'notify_event': events},
        }


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('spp.dci.subscription|notify_changes',
                "Notify DCI Subscribers"))
