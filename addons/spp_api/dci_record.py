"""DCI registry records: our registrants in the Social Registry spec's data
model (search answers, notifications), and the DCI identifier types.

reg_records (the SR spec's Group / Member example, SRPerson for the
person itself):

    Member  {@type, @id, member_identifier[], demographic_info: {@type:
            SRPerson, identifier[], name {surname, given_name,
            second_name}, sex, birth_date, phone_number,
            registration_date}, is_disabled, marital_status,
            registration_date, last_updated, additional_attributes[]}
    Group   {@type, @id, group_identifier[], group_type, group_size,
            group_head_info (a Member), member_list[Member],
            registration_date, last_updated, additional_attributes[]}

identifier[]: {@type: Identifier, identifier_type, identifier_value}, the
type being its DCI code (the first of the ID type's `dci_codes`) or, when
none is set, our code. The REST API keeps its own shape (handlers.py)."""
from sql import Literal
from sql.conditionals import Coalesce

from trytond.pool import Pool
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

from .handlers import search_ids

# DCI code-directory types that are a contact, not an identifier.
PHONE_TYPES = {'MOBILE', 'PHONE', 'PHONE_NUMBER'}
MARITAL_STATUS = {'single': 'S', 'married': 'M', 'partnered': 'M',
    'divorced': 'D', 'separated': 'L', 'widowed': 'W'}
SEXES = {'male', 'female', 'other'}


def id_type_maps():
    """({DCI code: our code}, {our code: DCI code}) of the ID types, for
    the transaction (cached with IdType.by_code())."""
    cache = Transaction().get_cache().setdefault('_spp_dci_id_types', {})
    if 'maps' not in cache:
        incoming, outgoing = {}, {}
        for code, id_type in Pool().get('spp.id.type').by_code().items():
            codes = (getattr(id_type, 'dci_codes', None) or '').upper(
                ).replace(',', ' ').split()
            for dci_code in codes:
                incoming.setdefault(dci_code, code)
            if codes:
                outgoing[code] = codes[0]
        cache['maps'] = incoming, outgoing
    return cache['maps']


def resolve_id_type(name):
    """Our ID type code of a query type (a DCI code, any case, or our own
    code), 'MOBILE' for a phone number, or None when unknown."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return None
    incoming, _ = id_type_maps()
    upper = name.upper()
    if upper in incoming:
        return incoming[upper]
    lower = name.lower()
    if lower in Pool().get('spp.id.type').by_code():
        return lower
    if upper in PHONE_TYPES:
        return 'MOBILE'
    return None


def identifiers(items):
    "The spec's identifier list of REST [{type, value}] identifiers."
    _, outgoing = id_type_maps()
    return [{'@type': 'Identifier',
            'identifier_type': outgoing.get(i['type'], i['type']),
            'identifier_value': i['value']} for i in items]


def phones_of(party_ids):
    "{party id: first phone or mobile number} (one query per 1000)."
    ContactMechanism = Pool().get('party.contact_mechanism')
    table = ContactMechanism.__table__()
    cursor = Transaction().connection.cursor()
    result = {}
    for sub_ids in grouped_slice(list(party_ids), 1000):
        # The compact value is E.164, as the spec wants it.
        cursor.execute(*table.select(table.party,
                Coalesce(table.value_compact, table.value),
                where=reduce_ids(table.party, sub_ids)
                & table.type.in_(['mobile', 'phone'])
                & (table.active == Literal(True)),
                order_by=[table.sequence.asc, table.id.asc]))
        for party, value in cursor:
            result.setdefault(party, value)
    return result


def _attributes(**values):
    return [{'name': k, 'value': v} for k, v in values.items()
        if v is not None]


def member_record(individual, phone=None, roles=None):
    "A Member reg_record of a REST individual dict."
    name = {'@type': 'Name'}
    for key, value in [('surname', individual['family_name']),
            ('given_name', individual['given_name']),
            ('second_name', individual['additional_name'])]:
        if value:
            name[key] = value
    if len(name) == 1 and individual['name']:
        name['given_name'] = individual['name']
    ids = identifiers(individual['identifiers'])
    person = {'@type': 'SRPerson', 'identifier': ids, 'name': name}
    if individual['gender']:
        person['sex'] = (individual['gender']
            if individual['gender'] in SEXES else 'other')
    if individual['birth_date']:
        person['birth_date'] = individual['birth_date']
    if phone:
        person['phone_number'] = phone
    if individual['registration_date']:
        person['registration_date'] = individual['registration_date']
    record = {'@type': 'Member', '@id': individual['code'],
        'member_identifier': ids, 'demographic_info': person,
        'is_disabled': individual['disability']}
    status = MARITAL_STATUS.get(individual['civil_status'])
    if status:
        record['marital_status'] = status
    if individual['registration_date']:
        record['registration_date'] = individual['registration_date']
    record['last_updated'] = individual['modified']
    record['additional_attributes'] = _attributes(
        area=individual['area'], occupation=individual['occupation'],
        roles=' '.join(roles) if roles else None)
    return record


def member_records(individuals):
    "Member reg_records of REST individual dicts."
    phones = phones_of([i['_id'] for i in individuals]) if individuals \
        else {}
    return [member_record(i, phones.get(i['_id'])) for i in individuals]


def group_records(scope, groups):
    """Group reg_records of REST group dicts; the members read in one
    query (with the acting user's record rules)."""
    if not groups:
        return []
    wanted = {m['_individual'] for g in groups for m in g['members']}
    Party = Pool().get('party.party')
    # The visible individuals among the members (found by id: a search
    # by code cannot use the code's index).
    member_ids = [] if not wanted else search_ids(Party, [
            ('id', 'in', sorted(wanted)),
            ('registrant_type', '=', 'individual')])
    members = {m['code']: m for m in with_ids(scope, member_ids)}
    phones = phones_of(member_ids) if member_ids else {}
    result = []
    for group in groups:
        member_list = []
        head = None
        for membership in group['members']:
            individual = members.get(membership['individual'])
            if individual is None:
                continue
            record = member_record(individual, phones.get(
                    individual['_id']), membership['roles'])
            member_list.append(record)
            if head is None and 'head' in membership['roles']:
                head = record
        record = {'@type': 'Group', '@id': group['code'],
            'group_identifier': identifiers(group['identifiers']),
            'group_type': group['kind'],
            'group_size': group['member_count'],
            'member_list': member_list}
        if head:
            record['group_head_info'] = head
        record['last_updated'] = group['modified']
        record['additional_attributes'] = _attributes(name=group['name'],
            area=group['area'], child_count=group['child_count'],
            elderly_count=group['elderly_count'])
        result.append(record)
    return result


def with_ids(scope, ids):
    "REST individual dicts of ids, each with its party id as `_id`."
    result = scope.individuals(ids)
    for id_, individual in zip(ids, result):
        individual['_id'] = id_
    return result


def reg_records(scope, records, rows=None):
    """The reg_records of (kind, party id) records, in the spec's model
    (`rows`: individuals already read by `Scope.individual_rows()`)."""
    individual_ids = [p for k, p in records if k == 'individual']
    group_ids = [p for k, p in records if k == 'group']
    if rows is not None:
        individuals = scope.individual_dicts([rows[i] for i in
                individual_ids])
        for id_, individual in zip(individual_ids, individuals):
            individual['_id'] = id_
    else:
        individuals = with_ids(scope, individual_ids)
    result = member_records(individuals) + group_records(
        scope, scope.groups(group_ids, member_ids=True))
    scope.Client.shape_records(scope.client, 'dci', result)
    return result
