"""Purpose-bound sharing: every API client (REST and DCI) is an
organisation's, for one purpose, on a lawful basis.

On the registrants' consent (the default), its reads find only the
registrants whose given consent covers the purpose for the organisation
or its type: the others are answered as records that do not exist, totals
included (one sub-query added to each search, through spp_api's
`Client.sharing_domain()`). On another basis, which the administrator
records with its reason, nothing is checked per registrant. A client
limited to non-identifying data is answered without names, IDs, contact
details and birth dates, and may not search by them: a known ID or name
finds one person."""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.modules.spp_api.client import key_cache
from trytond.modules.spp_api.handlers import ApiError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .consent import LAWFUL_BASES

DATA_ACCESS = [
    ('full', "Full"),
    ('non_identifying', "Non-Identifying"),
    ]
# The registrant fields a non-identifying client neither receives nor
# searches by (party.party field names, and the API's keys of them).
IDENTIFYING = {'name', 'family_name', 'given_name', 'additional_name',
    'birth_date', 'identifiers', 'contact_mechanisms', 'addresses'}


def _withhold(record, keys):
    "Empty the identifying keys of an API dict (kept: its schema wants them)."
    for key in keys & record.keys():
        record[key] = '' if key == 'name' else (
            [] if key == 'identifiers' else None)
    # Custom fields may hold anything: not known to be non-identifying.
    record.pop('custom_fields', None)


def _withhold_dci(record):
    "Drop the identifying parts of a DCI Member or Group record."
    for key in ['member_identifier', 'group_identifier']:
        if key in record:
            record[key] = []
    person = record.get('demographic_info')
    if person:
        for key in ['name', 'birth_date', 'phone_number']:
            person.pop(key, None)
        person['identifier'] = []
    record['additional_attributes'] = [a
        for a in record.get('additional_attributes', [])
        if a['name'] != 'name']
    for member in record.get('member_list', []):
        _withhold_dci(member)
    if record.get('group_head_info'):
        _withhold_dci(record['group_head_info'])


class Client(metaclass=PoolMeta):
    __name__ = 'spp.api.client'
    # Not NOT NULL in the database (checked by validate_fields): a client
    # made before this addon is refused every registrant, not broken.
    organisation = fields.Many2One('spp.consent.recipient', "Organisation",
        ondelete='RESTRICT',
        help="The organisation that receives the data: consents name it "
        "or its type.")
    purpose = fields.Many2One('spp.consent.purpose', "Purpose",
        ondelete='RESTRICT',
        help="What the organisation receives the data for.")
    lawful_basis = fields.Selection(LAWFUL_BASES, "Lawful Basis",
        help="Consent: each registrant's consent is needed. Another basis, "
        "recorded for this client with its reason, covers every "
        "registrant the client may otherwise see.")
    lawful_basis_reason = fields.Text("Lawful Basis Reason",
        states={
            'invisible': Eval('lawful_basis', 'consent') == 'consent',
            },
        help="Why this basis applies (the law, contract or task): "
        "required for a basis other than consent.")
    lawful_basis_string = lawful_basis.translated('lawful_basis')
    data_access = fields.Selection(DATA_ACCESS, "Data Access",
        help="Non-identifying: no names, IDs, contact details or birth "
        "dates, and no search by them (indicators and aggregates).")

    @classmethod
    def default_lawful_basis(cls):
        return 'consent'

    @classmethod
    def default_data_access(cls):
        return 'full'

    @classmethod
    def validate_fields(cls, clients, field_names):
        super().validate_fields(clients, field_names)
        cls.check_sharing(clients, field_names)

    @classmethod
    def check_sharing(cls, clients, field_names=None):
        if field_names and not field_names & {'organisation', 'purpose',
                'lawful_basis', 'lawful_basis_reason'}:
            return
        for client in clients:
            for name in ['organisation', 'purpose']:
                if not getattr(client, name):
                    raise ValidationError(gettext(
                            f'spp_consent.msg_client_no_{name}',
                            client=client.rec_name))
            if (client.lawful_basis or 'consent') != 'consent' and not (
                    client.lawful_basis_reason or '').strip():
                raise ValidationError(gettext(
                        'spp_consent.msg_client_no_basis_reason',
                        client=client.rec_name,
                        basis=client.lawful_basis_string))

    @classmethod
    def sharing_values(cls, client_id):
        pool = Pool()
        Recipient = pool.get('spp.consent.recipient')
        values = super().sharing_values(client_id)
        table = cls.__table__()
        recipient = Recipient.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table
            .join(recipient, 'LEFT',
                condition=recipient.id == table.organisation)
            .select(table.organisation, recipient.type, table.purpose,
                table.lawful_basis, table.data_access,
                where=table.id == client_id))
        organisation, type_, purpose, basis, access = (
            cursor.fetchone() or (None,) * 5)
        values.update({
                'organisation': organisation,
                'recipient_type': type_,
                'purpose': purpose,
                # Unset (a row written by SQL) is the strictest.
                'lawful_basis': basis or 'consent',
                'data_access': access or 'full',
                })
        return values

    @classmethod
    def sharing_domain(cls, client, registrant):
        """The registrants whose given consent covers the client's purpose
        for its organisation or its type, unless it has another lawful
        basis; none for a client without organisation or purpose."""
        domain = super().sharing_domain(client, registrant)
        if not client.get('purpose') or not client.get('organisation'):
            return domain + [(registrant, 'in', [])]
        if client.get('lawful_basis', 'consent') == 'consent':
            Consent = Pool().get('spp.consent')
            domain.append((registrant, 'in', Consent.covered_query(
                        client['purpose'], client['organisation'],
                        client.get('recipient_type'))))
        return domain

    @classmethod
    def check_search(cls, client, fields):
        super().check_search(client, fields)
        if (client.get('data_access') == 'non_identifying'
                and fields & IDENTIFYING):
            raise ApiError(403, 'forbidden_search', gettext(
                    'spp_consent.msg_client_non_identifying_search'))

    @classmethod
    def shape_records(cls, client, kind, records):
        super().shape_records(client, kind, records)
        if client.get('data_access') != 'non_identifying':
            return
        for record in records:
            if kind == 'dci':
                _withhold_dci(record)
            else:
                _withhold(record, IDENTIFYING)
                for member in record.get('members', []):
                    member['name'] = ''


class Recipient(metaclass=PoolMeta):
    __name__ = 'spp.consent.recipient'

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        # The API's cached clients hold their organisation's type.
        key_cache.clear()
        Transaction().atexit(key_cache.clear)
