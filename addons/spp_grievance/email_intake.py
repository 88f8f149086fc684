"""Complaints sent by email become tickets: an inbound_email rule whose
action is "Create Grievance" files each matching email in the rule's
category and area, from the sender (the registrant whose email it is,
else a person not in the registry), with the email's attachments."""
import email as email_lib
import json
from email.policy import default as email_policy

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import escape_wildcard

ACTION = 'spp.grievance|from_inbound_email'
# Where the raw message is, by inbound_email data type (JSON key; None:
# the data itself). Postmark hands the text decoded, as inbound_email
# reads it.
RAW_MESSAGES = {'raw': None, 'mailchimp': 'raw_msg', 'mailpace': 'raw',
    'sendgrid': 'email'}


def email_text(email_, values):
    """The email's text as written, with plain line ends: inbound_email
    hands a raw message's text part as sent, still quoted-printable or
    base64 (any accent, any long line), so the message is read again."""
    key = RAW_MESSAGES.get(email_.data_type, False)
    if key is False:
        text = values.get('text') or values.get('html') or ''
    else:
        raw = email_.data
        if key:
            raw = json.loads(raw)[key]
        parse = (email_lib.message_from_string if isinstance(raw, str)
            else email_lib.message_from_bytes)
        body = parse(raw, policy=email_policy).get_body(
            preferencelist=('plain', 'html'))
        text = _content(body) if body is not None else ''
    return text.replace('\r\n', '\n')


def _content(part):
    "A text part decoded; by UTF-8 when its charset is unknown to Python."
    try:
        return part.get_content()
    except LookupError:
        return (part.get_payload(decode=True) or b'').decode(
            'utf-8', 'replace')


class Rule(metaclass=PoolMeta):
    __name__ = 'inbound.email.rule'
    grievance_category = fields.Many2One('spp.grievance.category',
        "Grievance Category", ondelete='RESTRICT',
        domain=[('parent', '=', None)],
        states={
            'invisible': Eval('action') != ACTION,
            'required': Eval('action') == ACTION,
            })
    grievance_area = fields.Many2One('spp.area', "Grievance Area",
        ondelete='RESTRICT',
        states={
            'invisible': Eval('action') != ACTION,
            'required': Eval('action') == ACTION,
            },
        help="Where tickets of senders not in the registry are handled.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.action.selection.append((ACTION, "Create Grievance"))


class Grievance(metaclass=PoolMeta):
    __name__ = 'spp.grievance'

    @classmethod
    def from_inbound_email(cls, email_, rule):
        "The ticket of an email that matched `rule`; its attachments kept."
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        Channel = pool.get('spp.grievance.channel')
        Contact = pool.get('party.contact_mechanism')
        values = email_.as_dict()
        sender = values.get('from') or ''
        # Addresses are written in any case (Ana.Santos@Example.org).
        contacts = Contact.search([
                ('type', '=', 'email'),
                ('value', 'ilike', escape_wildcard(sender)),
                ('party.registrant_type', '!=', None)],
            limit=1) if sender else []
        complainant = contacts[0].party if contacts else None
        channel, = Channel.search([('code', '=', 'email')], limit=1)
        subject = (values.get('subject') or '').strip()
        text = email_text(email_, values).strip()
        grievance, = cls.create([{
                    'channel': channel.id,
                    'complainant_kind': (
                        'registrant' if complainant else 'other'),
                    'complainant': complainant.id if complainant else None,
                    'complainant_contact': sender,
                    'registrant': complainant.id if complainant else None,
                    'area': (complainant.area.id
                        if complainant and complainant.area
                        else rule.grievance_area.id),
                    'category': rule.grievance_category.id,
                    'description': '\n\n'.join(
                        p for p in [subject, text] if p) or sender,
                    }])
        Attachment.create([{
                    'resource': str(grievance),
                    'name': a.get('filename') or 'attachment',
                    'data': a.get('data') or b'',
                    } for a in values.get('attachments', [])])
        return grievance
