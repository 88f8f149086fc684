"""Complaints sent by email become tickets: an inbound_email rule whose
action is "Create Grievance" files each matching email in the rule's
category and area, from the sender (the registrant whose email it is,
else a person not in the registry), with the email's attachments."""
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

ACTION = 'spp.grievance|from_inbound_email'


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
        contacts = Contact.search([
                ('type', '=', 'email'), ('value', '=', sender),
                ('party.registrant_type', '!=', None)], limit=1)
        complainant = contacts[0].party if contacts else None
        channel, = Channel.search([('code', '=', 'email')], limit=1)
        subject = (values.get('subject') or '').strip()
        text = (values.get('text') or values.get('html') or '').strip()
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
