"""Life events: the births and deaths a civil registry (CRVS) notifies us
of, each kept with what it changed.

One row per notified record. What happens to it (crvs.py):

- a death of an individual we hold (matched by identifier) is *applied*:
  the person is marked deceased (date, the registry) and disabled, their
  program memberships are exited, their unpaid entitlements held for
  review, a surviving spouse of their household becomes widowed;
- a birth whose parent we hold in a household is *proposed* as a new
  member of that household (a change request, with spp_change_request),
  or *applied* (the child registered and added to the household);
- a death already recorded, or a child already registered, is *ignored*
  (a notification sent twice changes nothing);
- anything else (a person or household we do not have, outside the
  areas of the subscription, an unreadable record) waits for *review*:
  kept, never dropped. A caseworker picks the registrant (or household)
  and applies it, or dismisses it with a reason.

Only what review needs of the person is kept: the identifier, the names
and dates of the record, the parent's identifier for a birth."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .crvs import LifeEventProcessingMixin

EVENT_TYPES = [
    ('death', "Death"),
    ('live_birth', "Live Birth"),
    ]
STATES = [
    ('review', "To Review"),
    ('proposed', "Proposed"),
    ('applied', "Applied"),
    ('ignored', "Nothing to Change"),
    ('dismissed', "Dismissed"),
    ]
REVIEW_REASONS = [
    (None, ""),
    ('unknown_person', "Person not in the registry"),
    ('unknown_household', "No household of a parent in the registry"),
    ('outside_areas', "Outside the areas of the subscription"),
    ('unreadable', "Record could not be read"),
    ('refused', "The change was refused"),
    ]
_review = {'readonly': Eval('state') != 'review'}
# What a caseworker may change on an event waiting for review.
REVIEW_FIELDS = {'registrant', 'household', 'note'}


class LifeEvent(LifeEventProcessingMixin, ModelSQL, ModelView):
    "Life Event"
    __string__ = "Life Event"
    __name__ = 'spp.dci.life.event'
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, readonly=True, ondelete='RESTRICT')
    subscription = fields.Many2One('spp.dci.client.subscription',
        "Subscription", readonly=True, ondelete='SET NULL')
    exchange = fields.Many2One('spp.dci.exchange', "Notification",
        readonly=True, ondelete='SET NULL')
    received = fields.DateTime("Received", readonly=True)
    event_type = fields.Selection(EVENT_TYPES, "Event", required=True,
        readonly=True)
    event_type_string = event_type.translated('event_type')
    event_date = fields.Date("Event Date", readonly=True,
        help="The date of death, or of birth.")
    id_type = fields.Char("ID Type", readonly=True,
        help="Our type of the person's identifier in the record.")
    id_number = fields.Char("ID Number", readonly=True)
    family_name = fields.Char("Family Name", readonly=True)
    given_name = fields.Char("Given Name", readonly=True)
    gender = fields.Many2One('spp.gender', "Sex", readonly=True,
        ondelete='SET NULL')
    parent_id_type = fields.Char("Parent's ID Type", readonly=True,
        states={'invisible': Eval('event_type') != 'live_birth'})
    parent_id_number = fields.Char("Parent's ID Number", readonly=True,
        states={'invisible': Eval('event_type') != 'live_birth'})
    area_code = fields.Char("Area Code", readonly=True,
        help="The area code of the record's address.")
    registrant = fields.Many2One('party.party', "Person", ondelete='RESTRICT',
        domain=[('registrant_type', '=', 'individual')],
        states={
            'readonly': (Eval('state') != 'review')
            | (Eval('event_type') != 'death'),
            },
        help="The individual who died, or the child registered.")
    household = fields.Many2One('party.party', "Household",
        ondelete='RESTRICT', domain=[('registrant_type', '=', 'group')],
        states={
            'readonly': Eval('state') != 'review',
            'invisible': Eval('event_type') != 'live_birth',
            },
        help="The household the child joins.")
    area = fields.Many2One('spp.area', "Area", readonly=True,
        ondelete='SET NULL',
        help="The area of the person (or household): whose caseworkers "
        "see the event.")
    state = fields.Selection(STATES, "State", required=True, readonly=True,
        sort=False)
    state_string = state.translated('state')
    review_reason = fields.Selection(REVIEW_REASONS, "Why Review",
        readonly=True, states={'invisible': ~Eval('review_reason')})
    problem = fields.Char("Problem", readonly=True,
        states={'invisible': ~Eval('problem')})
    changes = fields.Text("What Changed", readonly=True)
    memberships_exited = fields.Integer("Program Memberships Exited",
        readonly=True, states={'invisible': Eval('event_type') != 'death'})
    entitlements_held = fields.Integer("Entitlements Held", readonly=True,
        states={'invisible': Eval('event_type') != 'death'})
    widowed = fields.Many2One('party.party', "Spouse Widowed",
        readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('widowed')})
    note = fields.Text("Review Note", states=_review,
        help="Why the event was applied after review, or dismissed "
        "(required to dismiss).")
    reviewed_by = fields.Many2One('res.user', "Reviewed By", readonly=True,
        ondelete='SET NULL')
    reviewed_at = fields.DateTime("Reviewed At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality()),
                    (t.received, Index.Range())),
                Index(t, (t.registrant, Index.Range())),
                Index(t, (t.area, Index.Range())),
                })
        cls._order = [('received', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'apply_reviewed': {
                    'invisible': Eval('state') != 'review',
                    'depends': ['state'],
                    },
                'dismiss': {
                    'invisible': Eval('state') != 'review',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'review'

    @staticmethod
    def default_received():
        return dt.datetime.now()

    def get_rec_name(self, name):
        person = ' '.join(filter(None, [self.given_name, self.family_name]))
        person = person or self.id_number or '?'
        return f'{self.event_type_string}: {person}'

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        super().check_modification(
            mode, events, values=values, external=external)
        if mode == 'delete' and external:
            raise AccessError(gettext('spp_dci_client.msg_crvs_event_delete'))
        if mode == 'create' and external:
            raise AccessError(gettext('spp_dci_client.msg_crvs_event_create'))
        if mode == 'write' and external:
            # Events are written by their processing; a caseworker only
            # chooses the person or household of one under review.
            for event in events:
                if (event.state != 'review'
                        or set(values or {}) - REVIEW_FIELDS):
                    raise AccessError(gettext(
                            'spp_dci_client.msg_crvs_event_closed',
                            event=event.rec_name,
                            state=event.state_string))

    @classmethod
    @ModelView.button
    def apply_reviewed(cls, events):
        """Apply events a caseworker reviewed, with the person (or the
        household) they chose."""
        Party = Pool().get('party.party')
        events = [e for e in events if e.state == 'review']
        # The person or household chosen must be one the caseworker may
        # read (their areas): applying writes to it.
        chosen = {p.id for e in events for p in [e.registrant, e.household]
            if p}
        if chosen and len(Party.search([('id', 'in', list(chosen))])) != len(
                chosen):
            raise AccessError(gettext(
                    'spp_dci_client.msg_crvs_event_not_yours'))
        cls.stamp_review(events)
        cls.apply_after_review(cls.browse([e.id for e in events]))

    @classmethod
    @ModelView.button
    def dismiss(cls, events):
        "Close events that change nothing; the reason is required."
        events = [e for e in events if e.state == 'review']
        for event in events:
            if not (event.note or '').strip():
                raise AccessError(gettext(
                        'spp_dci_client.msg_crvs_event_dismiss_reason',
                        event=event.rec_name))
        cls.stamp_review(events, state='dismissed')

    @classmethod
    def stamp_review(cls, events, **values):
        with without_check_access():
            cls.write(events, {
                    'reviewed_by': Transaction().user,
                    'reviewed_at': dt.datetime.now(), **values})


class Subscription(metaclass=PoolMeta):
    __name__ = 'spp.dci.client.subscription'

    @classmethod
    def receive_notification(cls, subscription, exchange, records):
        """Births and deaths notified by a civil registry become life
        events (processed as they are created)."""
        count = super().receive_notification(subscription, exchange, records)
        if (subscription.registry.kind == 'crvs'
                and subscription.event_type in {'death', 'live_birth'}):
            LifeEvent = Pool().get('spp.dci.life.event')
            count = LifeEvent.receive(subscription, exchange, records)
        return count
