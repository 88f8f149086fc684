"""Record one consent for every enrolled beneficiary of a program (a
registration campaign's signed forms), in a few INSERT … SELECT
statements whatever the number of beneficiaries.

Beneficiaries who already have a requested or given consent for the
purpose are left alone, so running the wizard again adds nothing."""
import datetime as dt

from sql import Literal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .consent import COLLECTION_METHODS, LAWFUL_BASES, PROCESSING


class BulkConsentStart(ModelView):
    "Record Consents for a Program"
    __string__ = "Record Consents for a Program"
    __name__ = 'spp.consent.bulk.start'
    program = fields.Many2One('spp.program', "Program", required=True)
    purpose = fields.Many2One('spp.consent.purpose', "Purpose",
        required=True)
    data_categories = fields.Many2Many('spp.consent.data_category', None,
        None, "Data Categories", required=True)
    processing = fields.MultiSelection(PROCESSING, "Processing")
    recipients = fields.Many2Many('spp.consent.recipient', None, None,
        "Recipients")
    recipient_types = fields.Many2Many('spp.consent.recipient_type', None,
        None, "Recipient Types")
    lawful_basis = fields.Selection(LAWFUL_BASES, "Lawful Basis",
        required=True)
    # Not "state": sao keeps a wizard's state under that name.
    record_as = fields.Selection([
            ('requested', "Requested"),
            ('given', "Given"),
            ], "Record As", required=True,
        help="Given: the campaign collected the signed forms. "
        "Requested: the consents are to be asked for.")
    given_on = fields.Date("Given On", states={
            'required': Eval('record_as') == 'given',
            'invisible': Eval('record_as') != 'given',
            })
    expires_on = fields.Date("Expires On",
        domain=[If(Eval('given_on') & Eval('expires_on'),
                ('expires_on', '>=', Eval('given_on', None)), ())])
    collection_method = fields.Selection(COLLECTION_METHODS,
        "Collection Method", states={
            'required': Eval('record_as') == 'given',
            })
    notice = fields.Char("Notice")

    @staticmethod
    def default_lawful_basis():
        return 'consent'

    @staticmethod
    def default_record_as():
        return 'given'

    @staticmethod
    def default_given_on():
        return Pool().get('ir.date').today()

    @staticmethod
    def default_processing():
        return ['collect', 'store', 'use']

    @staticmethod
    def default_program():
        context = Transaction().context
        if context.get('active_model') == 'spp.program':
            return context.get('active_id')


class BulkConsentResult(ModelView):
    "Consents Recorded"
    __string__ = "Consents Recorded"
    __name__ = 'spp.consent.bulk.result'
    count = fields.Integer("Consents Recorded", readonly=True)


class BulkConsent(Wizard):
    "Record Consents for a Program"
    __string__ = "Record Consents for a Program"
    __name__ = 'spp.consent.bulk'
    start = StateView('spp.consent.bulk.start',
        'spp_consent.bulk_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Record", 'record', 'tryton-ok', default=True),
            ])
    record = StateTransition()
    result = StateView('spp.consent.bulk.result',
        'spp_consent.bulk_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_record(self):
        start = self.start
        if (start.given_on and start.expires_on
                and start.expires_on < start.given_on):
            raise ValidationError(gettext(
                    'spp_consent.msg_expires_before_given',
                    consent=start.purpose.rec_name))
        self._count = Pool().get('spp.consent').record_for_program(start)
        if not self._count:
            raise ValidationError(gettext('spp_consent.msg_bulk_no_member',
                    program=start.program.rec_name))
        return 'result'

    def default_result(self, fields):
        return {'count': getattr(self, '_count', 0)}


class Consent(metaclass=PoolMeta):
    __name__ = 'spp.consent'

    @classmethod
    def record_for_program(cls, start):
        return record_for_program(start)


def record_for_program(start):
    """Insert the consents of `start` (a BulkConsentStart) for the
    program's enrolled beneficiaries who have none for the purpose; their
    relations and history follow with one statement each. The number of
    consents recorded."""
    pool = Pool()
    Consent = pool.get('spp.consent')
    Membership = pool.get('spp.program.membership')
    Party = pool.get('party.party')
    Event = pool.get('spp.consent.event')
    # The program and the beneficiaries as the user may see them.
    Pool().get('spp.program').read([start.program.id], ['id'])
    members = Membership.search([
            ('program', '=', start.program.id),
            ('state', '=', 'enrolled'),
            ], query=True)
    visible = Party.search([], query=True)
    membership = Membership.__table__()
    consent = Consent.__table__()
    existing = Consent.__table__()
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    user = transaction.user
    stamp = dt.datetime.now()
    given = start.record_as == 'given'
    processing = Consent.processing.sql_format(start.processing or [])
    columns = [consent.registrant, consent.purpose, consent.processing,
        consent.lawful_basis, consent.state, consent.requested_on,
        consent.given_on, consent.expires_on, consent.collection_method,
        consent.given_by, consent.notice, consent.create_uid,
        consent.create_date]
    today = pool.get('ir.date').today()
    cursor.execute(*consent.insert(columns, membership.select(
                membership.registrant, Literal(start.purpose.id),
                Literal(processing), Literal(start.lawful_basis),
                Literal(start.record_as), Literal(today),
                Literal(start.given_on if given else None),
                Literal(start.expires_on),
                Literal(start.collection_method),
                Literal('subject'), Literal(start.notice),
                Literal(user), Literal(stamp),
                where=membership.id.in_(members)
                & membership.registrant.in_(visible)
                & ~membership.registrant.in_(existing.select(
                        existing.registrant,
                        where=(existing.purpose == start.purpose.id)
                        & existing.state.in_(['requested', 'given']))),
                group_by=[membership.registrant])))
    count = cursor.rowcount
    if not count:
        return 0
    # The consents this pass inserted, by their stamp.
    new = consent.select(consent.id,
        where=(consent.create_date == stamp) & (consent.create_uid == user)
        & (consent.purpose == start.purpose.id))
    for relation_name, field, values in [
            ('spp.consent-spp.consent.data_category', 'category',
                start.data_categories),
            ('spp.consent-spp.consent.recipient', 'recipient',
                start.recipients),
            ('spp.consent-spp.consent.recipient_type', 'type',
                start.recipient_types),
            ]:
        relation = pool.get(relation_name).__table__()
        for value in values:
            cursor.execute(*relation.insert(
                    [relation.consent, getattr(relation, field),
                        relation.create_uid, relation.create_date],
                    consent.select(consent.id, Literal(value.id),
                        Literal(user), Literal(stamp),
                        where=consent.id.in_(new))))
    event = Event.__table__()
    cursor.execute(*event.insert(
            [event.consent, event.date, event.user, event.previous_state,
                event.state, event.create_uid, event.create_date],
            consent.select(consent.id, Literal(stamp), Literal(user),
                Literal(None), Literal(start.record_as), Literal(user),
                Literal(stamp), where=consent.id.in_(new))))
    return count
