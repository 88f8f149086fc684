"""Consent records of registrants, in the structure of ISO/IEC TS 27560.

A record names its registrant (an individual or a group: the head
consents for the household), the purpose, the data categories and
processing it covers, the recipients (organisations or types of them),
the lawful basis and how it was collected. Its terms are fixed once it
leaves *Requested*: a change is a new record that supersedes it. Every
state change is an event of its history. The expiry pass is one UPDATE
and one INSERT of the history, whatever the number of records."""
import datetime as dt

from sql import Literal, Null
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

STATES = [
    ('requested', "Requested"),
    ('given', "Given"),
    ('refused', "Refused"),
    ('withdrawn', "Withdrawn"),
    ('expired', "Expired"),
    ]
# GDPR article 6 and the DPV legal bases.
LAWFUL_BASES = [
    ('consent', "Consent"),
    ('contract', "Contract"),
    ('legal_obligation', "Legal Obligation"),
    ('vital_interest', "Vital Interest"),
    ('public_task', "Public Task"),
    ('legitimate_interest', "Legitimate Interest"),
    ]
# DPV processing operations.
PROCESSING = [
    ('collect', "Collect"),
    ('store', "Store"),
    ('use', "Use"),
    ('share', "Share"),
    ('analyse', "Analyse"),
    ('match', "Match"),
    ]
COLLECTION_METHODS = [
    (None, ""),
    ('signed_form', "Signed Form"),
    ('verbal_witness', "Verbal, with a Witness"),
    ('digital', "Digital"),
    ('other', "Other"),
    ]
GIVEN_BY = [
    ('subject', "The Registrant"),
    ('guardian', "A Guardian"),
    ('representative', "A Representative"),
    ]
# What a record states; fixed once it is no longer requested.
TERMS = {
    'registrant', 'purpose', 'data_categories', 'processing', 'recipients',
    'recipient_types', 'lawful_basis', 'given_on', 'expires_on',
    'collection_method', 'witness', 'evidence', 'evidence_name',
    'given_by', 'representative_name', 'notice', 'supersedes',
    }
# What may still change on a record that left Requested.
AFTER_GIVEN = {'state', 'withdrawn_on', 'note'}

_terms = {'readonly': Eval('state') != 'requested'}


def now():
    return dt.datetime.now()


def forget_records(Model):
    """Drop the transaction's cached records of `Model`: an UPDATE in SQL
    makes them stale, as write() does for its own records."""
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        cache.pop(Model.__name__, None)


class Consent(Workflow, ModelSQL, ModelView):
    "Consent"
    __string__ = "Consent"
    __name__ = 'spp.consent'
    registrant = fields.Many2One('party.party', "Registrant", required=True,
        ondelete='RESTRICT',
        domain=[('registrant_type', 'in', ['individual', 'group'])],
        states=_terms, context={'active_test': False},
        help="The individual, or the group whose head consents for it.")
    purpose = fields.Many2One('spp.consent.purpose', "Purpose",
        required=True, ondelete='RESTRICT', states=_terms)
    data_categories = fields.Many2Many(
        'spp.consent-spp.consent.data_category', 'consent', 'category',
        "Data Categories", states=_terms,
        help="The kinds of personal data the consent covers.")
    processing = fields.MultiSelection(PROCESSING, "Processing",
        states=_terms, help="What may be done with the data.")
    recipients = fields.Many2Many(
        'spp.consent-spp.consent.recipient', 'consent', 'recipient',
        "Recipients", states=_terms,
        help="The organisations the data may be shared with.")
    recipient_types = fields.Many2Many(
        'spp.consent-spp.consent.recipient_type', 'consent', 'type',
        "Recipient Types", states=_terms,
        help="The kinds of organisation the data may be shared with "
        "(every recipient of the type).")
    lawful_basis = fields.Selection(LAWFUL_BASES, "Lawful Basis",
        required=True, states=_terms)
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)
    requested_on = fields.Date("Requested On", readonly=True)
    given_on = fields.Date("Given On", states={
            'readonly': _terms['readonly'],
            'required': Eval('state') == 'given',
            })
    expires_on = fields.Date("Expires On", states=_terms,
        domain=[If(Eval('given_on') & Eval('expires_on'),
                ('expires_on', '>=', Eval('given_on', None)), ())],
        help="The consent lapses after this day (empty: until withdrawn).")
    withdrawn_on = fields.Date("Withdrawn On", readonly=True)
    collection_method = fields.Selection(COLLECTION_METHODS,
        "Collection Method", states={
            'readonly': _terms['readonly'],
            'required': Eval('state') == 'given',
            })
    witness = fields.Char("Witness", states={
            'readonly': _terms['readonly'],
            'invisible': Eval('collection_method') != 'verbal_witness',
            'required': Eval('collection_method') == 'verbal_witness',
            })
    evidence = fields.Binary("Evidence", filename='evidence_name',
        states=_terms, help="The signed form or the recording.")
    evidence_name = fields.Char("Evidence Name", states=_terms)
    given_by = fields.Selection(GIVEN_BY, "Given By", required=True,
        states=_terms)
    representative_name = fields.Char("Guardian or Representative",
        states={
            'readonly': _terms['readonly'],
            'invisible': Eval('given_by') == 'subject',
            'required': Eval('given_by') != 'subject',
            })
    notice = fields.Char("Notice", states=_terms,
        help="The privacy notice read to the registrant (its reference "
        "or version).")
    supersedes = fields.Many2One('spp.consent', "Supersedes",
        ondelete='RESTRICT', states=_terms,
        domain=[('registrant', '=', Eval('registrant', -1))],
        help="The earlier record whose terms this one changes.")
    note = fields.Text("Note")
    history = fields.One2Many('spp.consent.event', 'consent', "History",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                # The sharing filter looks up one registrant's consents
                # for a purpose: never a scan of the purpose's million.
                Index(t, (t.registrant, Index.Range()),
                    (t.purpose, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.purpose, Index.Range()),
                    (t.state, Index.Equality())),
                Index(t, (t.expires_on, Index.Range()),
                    where=t.state == 'given'),
                })
        cls._order = [('requested_on', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('requested', 'given'),
            ('requested', 'refused'),
            ('given', 'withdrawn'),
            ('given', 'expired'),
            }
        cls._buttons.update({
                'give': {
                    'invisible': Eval('state') != 'requested',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state') != 'requested',
                    'depends': ['state'],
                    },
                'withdraw': {
                    'invisible': Eval('state') != 'given',
                    'depends': ['state'],
                    },
                'change_terms': {
                    'invisible': Eval('state') != 'given',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'requested'

    @staticmethod
    def default_lawful_basis():
        return 'consent'

    @staticmethod
    def default_given_by():
        return 'subject'

    @staticmethod
    def default_requested_on():
        return Pool().get('ir.date').today()

    @staticmethod
    def default_processing():
        return ['collect', 'store', 'use']

    @classmethod
    def validate_fields(cls, consents, field_names):
        super().validate_fields(consents, field_names)
        cls.check_dates(consents, field_names)

    @classmethod
    def check_dates(cls, consents, field_names=None):
        if field_names and not field_names & {'given_on', 'expires_on'}:
            return
        for consent in consents:
            if (consent.given_on and consent.expires_on
                    and consent.expires_on < consent.given_on):
                raise ValidationError(gettext(
                        'spp_consent.msg_expires_before_given',
                        consent=consent.rec_name))

    @classmethod
    def check_modification(cls, mode, consents, values=None, external=False):
        super().check_modification(
            mode, consents, values=values, external=external)
        if mode == 'write' and values and set(values) - AFTER_GIVEN:
            for consent in consents:
                if consent.state != 'requested':
                    raise AccessError(gettext(
                            'spp_consent.msg_terms_fixed',
                            consent=consent.rec_name))
        elif mode == 'delete':
            for consent in consents:
                if consent.state != 'requested':
                    raise AccessError(gettext(
                            'spp_consent.msg_consent_kept',
                            consent=consent.rec_name))

    def get_rec_name(self, name):
        return f'{self.purpose.rec_name} ({self.registrant.rec_name})'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('purpose.rec_name', operator, value),
            ('registrant.rec_name', operator, value),
            ]

    @classmethod
    def create(cls, vlist):
        consents = super().create(vlist)
        # A record may be created given (a campaign's signed forms).
        Event = Pool().get('spp.consent.event')
        Event.add(consents, None)
        return consents

    @classmethod
    def copy(cls, consents, default=None):
        default = dict(default or {})
        for name in ['given_on', 'withdrawn_on', 'history', 'evidence',
                'evidence_name', 'requested_on']:
            default.setdefault(name, None)
        default.setdefault('state', 'requested')
        default.setdefault('requested_on', cls.default_requested_on())
        return super().copy(consents, default=default)

    @classmethod
    def check_givable(cls, consents):
        for consent in consents:
            if not consent.data_categories:
                raise ValidationError(gettext(
                        'spp_consent.msg_no_data_category',
                        consent=consent.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('given')
    def give(cls, consents):
        cls.check_givable(consents)
        today = Pool().get('ir.date').today()
        for consent in consents:
            if not consent.given_on:
                consent.given_on = today
            if not consent.collection_method:
                raise ValidationError(gettext(
                        'spp_consent.msg_no_collection_method',
                        consent=consent.rec_name))
        cls.save(consents)
        cls.check_dates(consents)
        Pool().get('spp.consent.event').add(consents, 'requested', 'given')

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, consents):
        Pool().get('spp.consent.event').add(consents, 'requested',
            'refused')

    @classmethod
    @ModelView.button
    @Workflow.transition('withdrawn')
    def withdraw(cls, consents):
        today = Pool().get('ir.date').today()
        cls.write(consents, {'withdrawn_on': today})
        Pool().get('spp.consent.event').add(consents, 'given', 'withdrawn')

    @classmethod
    @ModelView.button_action('spp_consent.act_consent_changed')
    def change_terms(cls, consents):
        "A new requested record with the same terms, to be changed."
        new = cls.copy(consents, default={
                'supersedes': lambda data: data['id']})
        return {'res_id': [c.id for c in new]}

    @classmethod
    def expire(cls, date=None):
        """Expire the given consents whose last day is before `date`
        (today): one UPDATE and one INSERT of their history events."""
        pool = Pool()
        Event = pool.get('spp.consent.event')
        date = date or pool.get('ir.date').today()
        table = cls.__table__()
        event = Event.__table__()
        cursor = Transaction().connection.cursor()
        stamp = now()
        cursor.execute(*table.update(
                [table.state, table.write_date, table.write_uid],
                ['expired', stamp, 0],
                where=(table.state == 'given')
                & (table.expires_on != Null)
                & (table.expires_on < date)))
        count = cursor.rowcount
        forget_records(cls)
        if count:
            # The rows this pass wrote: write_date is its own timestamp.
            cursor.execute(*event.insert(
                    [event.consent, event.date, event.previous_state,
                        event.state, event.create_uid, event.create_date],
                    table.select(table.id, Literal(stamp), Literal('given'),
                        Literal('expired'), Literal(0), Literal(stamp),
                        where=(table.state == 'expired')
                        & (table.write_date == stamp)
                        & (table.write_uid == 0))))
        return count

    @classmethod
    def covered_query(cls, purpose, recipient, recipient_type, date=None):
        """SQL query of the registrant ids whose given consent for
        `purpose`, on `date` (today), names `recipient` (an
        spp.consent.recipient id) or its type."""
        pool = Pool()
        ConsentRecipient = pool.get('spp.consent-spp.consent.recipient')
        ConsentType = pool.get('spp.consent-spp.consent.recipient_type')
        date = date or pool.get('ir.date').today()
        table = cls.__table__()
        by_recipient = ConsentRecipient.__table__()
        by_type = ConsentType.__table__()
        # Correlated: a lookup of one registrant reads its own consents'
        # rows by index, never every consent of a popular recipient type.
        named = Exists(by_recipient.select(Literal(1),
                where=(by_recipient.consent == table.id)
                & (by_recipient.recipient == (recipient or -1))))
        typed = Exists(by_type.select(Literal(1),
                where=(by_type.consent == table.id)
                & (by_type.type == (recipient_type or -1))))
        return table.select(table.registrant,
            where=(table.purpose == purpose) & (table.state == 'given')
            & ((table.expires_on == Null) | (table.expires_on >= date))
            & (named | typed))


class ConsentDataCategory(ModelSQL):
    "Consent - Data Category"
    __string__ = "Consent - Data Category"
    __name__ = 'spp.consent-spp.consent.data_category'
    consent = fields.Many2One('spp.consent', "Consent", required=True,
        ondelete='CASCADE')
    category = fields.Many2One('spp.consent.data_category', "Category",
        required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.consent, Index.Range())))


class ConsentRecipient(ModelSQL):
    "Consent - Recipient"
    __string__ = "Consent - Recipient"
    __name__ = 'spp.consent-spp.consent.recipient'
    consent = fields.Many2One('spp.consent', "Consent", required=True,
        ondelete='CASCADE')
    recipient = fields.Many2One('spp.consent.recipient', "Recipient",
        required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.consent, Index.Range())),
                Index(t, (t.recipient, Index.Range())),
                })


class ConsentRecipientType(ModelSQL):
    "Consent - Recipient Type"
    __string__ = "Consent - Recipient Type"
    __name__ = 'spp.consent-spp.consent.recipient_type'
    consent = fields.Many2One('spp.consent', "Consent", required=True,
        ondelete='CASCADE')
    type = fields.Many2One('spp.consent.recipient_type', "Type",
        required=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.consent, Index.Range())),
                Index(t, (t.type, Index.Range())),
                })


class ConsentEvent(ModelSQL, ModelView):
    "Consent Event"
    __string__ = "Consent Event"
    __name__ = 'spp.consent.event'
    consent = fields.Many2One('spp.consent', "Consent", required=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "By", readonly=True,
        ondelete='RESTRICT', help="Empty: the system (the expiry pass).")
    previous_state = fields.Selection([(None, "")] + STATES,
        "Previous State", readonly=True)
    state = fields.Selection(STATES, "State", readonly=True, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.consent, Index.Range())))
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def add(cls, consents, previous_state, state=None):
        """One event per consent, by the current user: from
        `previous_state` to `state` (the consent's state by default; a
        workflow transition writes it after its method)."""
        if not consents:
            return
        user = Transaction().user or None
        stamp = now()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.insert(
                [table.consent, table.date, table.user, table.previous_state,
                    table.state, table.create_uid, table.create_date],
                [[c.id, stamp, user, previous_state, state or c.state, user or 0,
                        stamp] for c in consents]))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    consents = fields.One2Many('spp.consent', 'registrant', "Consents",
        readonly=True, states={
            'invisible': ~Eval('registrant_type').in_(
                ['individual', 'group']),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'record_consent': {
                    'invisible': ~Eval('registrant_type').in_(
                        ['individual', 'group']),
                    'depends': ['registrant_type'],
                    },
                })

    @classmethod
    @ModelView.button_action('spp_consent.act_consent_registrant')
    def record_consent(cls, parties):
        pass

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('consents', None)
        return super().copy(parties, default=default)

