"""Sensitive fields in the answers of the REST and DCI APIs: masked when
the client's acting user is outside the "View Sensitive Data" group, as
the client shows them (the API reads with SQL, not through read()).

A hidden value is null (the REST disability, DCI is_disabled); a
sensitive custom field is left out; a birth date is its year."""
from trytond.pool import PoolMeta

from .sensitive import (
    mask, sees_sensitive, sensitive_custom_fields, sensitive_fields)

# REST keys of party.party fields.
PARTY_KEYS = ['birth_date', 'disability', 'income']


def api_mask(value, style):
    "The masked value of the API: a hidden value is null."
    if style == 'hidden':
        return None
    return mask(value, style)


class Client(metaclass=PoolMeta):
    __name__ = 'spp.api.client'

    @classmethod
    def shape_records(cls, client, kind, records):
        super().shape_records(client, kind, records)
        if not records or sees_sensitive(client['user']):
            return
        if kind == 'dci':
            for record in records:
                mask_dci_record(record)
        else:
            custom = sensitive_custom_fields()
            for record in records:
                mask_rest_record(record, custom)


def mask_rest_record(record, custom):
    "Mask a REST individual or group dict in place."
    party = sensitive_fields('party.party')
    for key in PARTY_KEYS:
        if key in record and key in party:
            record[key] = api_mask(record[key], party[key])
    code = sensitive_fields('party.identifier').get('code')
    if code:
        for identifier in record.get('identifiers') or []:
            identifier['value'] = api_mask(identifier['value'], code)
    if record.get('custom_fields') and custom:
        record['custom_fields'] = {k: v
            for k, v in record['custom_fields'].items() if k not in custom}


def mask_dci_record(record):
    """Mask the phone numbers of a DCI Member or Group reg_record in place
    (the rest is made of REST dicts, masked already)."""
    style = sensitive_fields('party.contact_mechanism').get('value')
    if not style:
        return
    members = [record] if record.get('@type') == 'Member' else [
        *record.get('member_list', []),
        *([record['group_head_info']] if record.get('group_head_info')
            else [])]
    for member in members:
        person = member.get('demographic_info') or {}
        if person.get('phone_number'):
            person['phone_number'] = api_mask(person['phone_number'], style)
