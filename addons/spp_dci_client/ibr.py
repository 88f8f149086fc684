"""The Integrated Beneficiary Registry (IBR) wire: enrolment updates out,
"already enrolled elsewhere?" checks in, both set-based.

Sending (`send_updates`): the memberships of a program whose state is not
the one last acknowledged by the IBR (or whose registrant changed since)
are read in keyset batches of the registry's batch size — one query for
the batch, one for its identifiers (and, for households, one for their
members' identifiers) — and each batch is one EnrollmentUpdatesRequest
POSTed to /registry/sync/enrollment/updates (header action `notify`).
What the IBR acknowledges is marked on the memberships with one UPDATE
(`ibr_sent_state`, `ibr_sent_at`); what it refuses is marked too, with
its reason (`ibr_refusal`), and sent again when it changes. A batch that
fails stops the pass: the batches acknowledged before stay marked, the
failed one and the rest are sent by the next pass.

Checking (`check_enrolled`): the candidates of a program (draft members,
and those an earlier check left out) are asked in batches of the batch
size; per batch and identifier type one EnrolledRequest to
/registry/sync/enrolled (header action `search`) whose enrolled_criteria
query lists the identifier values and the excluding programmes:

    {"person_identifier_type": {"eq": "UIN"},
     "person_identifier": {"in": ["123", "456", ...]},
     "programme_identifier.program.programme_identifier":
        {"in": ["OAP-2026", ...]}}

The IBR answers one enrolled_response item per value asked (reference_id
= the identifier value, enrolled_status yes or no, the programme in
status_reason_message). A candidate is enrolled elsewhere when one of its
identifiers (for a household: its own or one of its active members') is.

No personal data goes to the exchange log: only counts and the names of
what was asked."""
import datetime as dt
import uuid
from collections import defaultdict

import requests
from sql import Literal, Null
from sql.aggregate import Count
from sql.conditionals import Case
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.i18n import gettext
from trytond.model.fields import SQL_OPERATORS
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .transport import RegistryError, send

UPDATES_PATH = '/registry/sync/enrollment/updates'
ENROLLED_PATH = '/registry/sync/enrolled'
# Our membership states as the IBR's enrolment status (cd.ibr.02).
ENROLMENT_STATUS = {
    'enrolled': 'active',
    'paused': 'suspended',
    'exited': 'exited',
    'not_eligible': 'inactive',
    'duplicated': 'inactive',
    }
# A membership is sent a first time once it is in the programme; after
# that every change of state is sent.
FIRST_SENT = ('enrolled', 'paused', 'exited')
ACCEPTED = {'succ', 'rcvd', 'pdng'}
PROGRAMME_KEY = 'programme_identifier.program.programme_identifier'


def in_max():
    "Ids per IN (): an array parameter on PostgreSQL, a list on SQLite."
    return 100_000 if backend.name == 'postgresql' else 1000


def codes_of(text):
    "The programme identifiers listed in a text (lines or commas)."
    return sorted({c.strip() for c in (text or '').replace(',', '\n')
            .splitlines() if c.strip()})


def iso(value):
    "The ISO text of a date (a date, or SQLite's text of one), or None."
    return str(value)[:10] if value else None


# -- reading the registry ------------------------------------------------

def identifiers_of(party_ids):
    """{party id: [(our type, number)]} of their active identifiers (one
    query; an array parameter on PostgreSQL)."""
    Identifier = Pool().get('party.identifier')
    ident = Identifier.__table__()
    cursor = Transaction().connection.cursor()
    result = defaultdict(list)
    for sub_ids in grouped_slice(list(party_ids),
            in_max()):
        cursor.execute(*ident.select(ident.party, ident.type, ident.code,
                where=SQL_OPERATORS['in'](ident.party, list(sub_ids))
                & (ident.active == Literal(True)),
                order_by=[ident.party, ident.id]))
        for party, type_, code in cursor:
            if type_ and code:
                result[party].append((type_, code))
    return result


def members_of(group_ids):
    """{group id: [[(our type, number)] of each active member]} (one
    query)."""
    pool = Pool()
    Identifier = pool.get('party.identifier')
    GroupMembership = pool.get('spp.group.membership')
    today = pool.get('ir.date').today()
    member = GroupMembership.__table__()
    ident = Identifier.__table__()
    cursor = Transaction().connection.cursor()
    people = defaultdict(dict)
    for sub_ids in grouped_slice(list(group_ids),
            in_max()):
        cursor.execute(*member.join(ident, 'LEFT',
                condition=(ident.party == member.individual)
                & (ident.active == Literal(True))).select(
                member.group, member.individual, ident.type, ident.code,
                where=SQL_OPERATORS['in'](member.group, list(sub_ids))
                & GroupMembership.active_condition(member, today),
                order_by=[member.group, member.id, ident.id]))
        for group, individual, type_, code in cursor:
            ids = people[group].setdefault(individual, [])
            if type_ and code:
                ids.append((type_, code))
    return {g: list(p.values()) for g, p in people.items()}


def dci_identifiers(items, id_types):
    "The spec's identifier list of (our type, number) pairs."
    return [{'@type': 'Identifier',
            'identifier_type': id_types.get(type_, type_),
            'identifier_value': code} for type_, code in items]


# -- sending enrolment updates --------------------------------------------

def changed_condition(membership, party, program):
    "SQL condition: the membership has a change the IBR has not seen."
    never_sent = (membership.ibr_sent_state == Null) & (
        membership.state.in_(FIRST_SENT))
    changed = (membership.ibr_sent_state != Null) & (
        (membership.ibr_sent_state != membership.state)
        | (party.write_date > membership.ibr_sent_at))
    return (membership.program == program.id) & (never_sent | changed)


def next_batch(program, after, size):
    """The next `size` changed memberships after id `after` (one query)
    and their identifiers (another): ([(membership id, state, enrolment
    date, state date, exit date, party id, type, family, given,
    additional name, name, birth date, gender code, registry number)],
    {party id: [(our ID type, number)]})."""
    pool = Pool()
    Membership = pool.get('spp.program.membership')
    Party = pool.get('party.party')
    Gender = pool.get('spp.gender')
    membership = Membership.__table__()
    party = Party.__table__()
    gender = Gender.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*membership.join(party,
            condition=party.id == membership.registrant
            ).join(gender, 'LEFT', condition=gender.id == party.gender
            ).select(membership.id, membership.state,
            membership.enrolment_date, membership.state_date,
            membership.exit_date, party.id, party.registrant_type,
            party.family_name, party.given_name, party.additional_name,
            party.name, party.birth_date, gender.code, party.code,
            where=changed_condition(membership, party, program)
            & (membership.id > after),
            order_by=[membership.id.asc], limit=size))
    rows = cursor.fetchall()
    return rows, identifiers_of([r[5] for r in rows]) if rows else {}


def beneficiary(programme, row, identifiers, members, id_types, sexes):
    """An IBR Beneficiary of a membership row (see next_batch): a Member
    (SR shape) or a Group with the identifiers of its members;
    `programme`: the Programme object of the program."""
    (membership_id, state, enrolment_date, state_date, exit_date, party_id,
        kind, family, given, additional, name, birth_date, gender,
        number) = row
    ids = dci_identifiers(identifiers.get(party_id, []), id_types)
    enrolment = {
        'programme': programme,
        'enrolment_date': iso(enrolment_date),
        'enrolment_status': ENROLMENT_STATUS.get(state, state),
        'status_change_date': iso(exit_date if state == 'exited'
            else state_date),
        }
    record = {'@type': 'Beneficiary', 'reference_id': str(membership_id),
        'assistance_unit': 'group' if kind == 'group' else 'individual',
        'programme_identifier': enrolment}
    if kind == 'group':
        record['group'] = {'@type': 'Group', '@id': number,
            'group_identifier': ids, 'group_name': name,
            'member_list': [{'@type': 'Member',
                    'member_identifier': dci_identifiers(m, id_types)}
                for m in members.get(party_id, [])]}
    else:
        person = {'@type': 'SRPerson', 'identifier': ids}
        person_name = {'@type': 'Name'}
        if family:
            person_name['surname'] = family
        if given:
            person_name['given_name'] = given
        if additional:
            person_name['second_name'] = additional
        if len(person_name) == 1 and name:
            person_name['given_name'] = name
        if len(person_name) > 1:
            person['name'] = person_name
        if gender:
            person['sex'] = sexes.get(gender, gender)
        if birth_date:
            person['birth_date'] = iso(birth_date)
        record['member'] = {'@type': 'Member', '@id': number,
            'member_identifier': ids, 'demographic_info': person}
    return record


def mark_sent(ids, refusals):
    """Mark the memberships sent as acknowledged in their current state
    (one UPDATE), with the IBR's reason for those it refused."""
    Membership = Pool().get('spp.program.membership')
    table = Membership.__table__()
    cursor = Transaction().connection.cursor()
    refusal = Null
    if refusals:
        refusal = Case(*((table.id == int(i), reason[:200])
                for i, reason in refusals.items()), else_=Null)
    # One array parameter on PostgreSQL (= ANY), not thousands.
    cursor.execute(*table.update(
            [table.ibr_sent_state, table.ibr_sent_at, table.ibr_refusal],
            [table.state, CurrentTimestamp(), refusal],
            where=SQL_OPERATORS['in'](table.id, ids)))


def refusals_of(answer, asked):
    """{membership id: reason} of the beneficiaries the IBR refused (an
    answer without items acknowledges the whole batch)."""
    items = (answer.get('message') or {}).get('enrolled_response')
    result = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        reference = str(item.get('reference_id'))
        if reference in asked and item.get('status') not in ACCEPTED:
            result[reference] = str(item.get('status_reason_message')
                or item.get('status_reason_code') or item.get('status'))
    return result


def send_updates(program, session=None):
    """Send the program's unsent changes to its IBR, batch by batch.

    Return (memberships sent, messages, refused, error): error is the
    RegistryError that stopped the pass, or None."""
    registry = program.ibr_registry
    id_types = registry.reverse_mapping('identifier_type')
    sexes = registry.reverse_mapping('sex')
    programme = {'programme_identifier': program.ibr_programme,
        'programme_name': program.name}
    size = registry.batch_size
    session = session or requests.Session()
    sent = batches = refused = 0
    after = 0
    while True:
        rows, identifiers = next_batch(program, after, size)
        if not rows:
            break
        last = rows[-1][0]
        groups = [r[5] for r in rows if r[6] == 'group']
        members = members_of(groups) if groups else {}
        records = [beneficiary(programme, row, identifiers, members,
                id_types, sexes) for row in rows]
        message = {'transaction_id': str(uuid.uuid4()),
            'enrolled_updates': {'beneficiaries': records}}
        asked = {r['reference_id'] for r in records}
        try:
            answer = send(registry, UPDATES_PATH, 'notify', message,
                total_count=len(records),
                asked={'programme': program.ibr_programme,
                    'beneficiaries': len(records)},
                records=lambda a: len(records), session=session,
                # The spec's notify header is a callback header: status.
                header_extra={'status': 'succ',
                    'completed_count': len(records)})
        except RegistryError as error:
            return sent, batches, refused, error
        refusals = refusals_of(answer, asked)
        mark_sent([r[0] for r in rows], refusals)
        after = last
        batches += 1
        sent += len(rows) - len(refusals)
        refused += len(refusals)
    if batches:
        invalidate_cache('spp.program.membership')
    return sent, batches, refused, None


def pending_count(program):
    """How many memberships of the program are in a state the IBR has not
    received (registrant changes are left out: the count is read with the
    program's form, it scans its memberships alone)."""
    Membership = Pool().get('spp.program.membership')
    membership = Membership.__table__()
    cursor = Transaction().connection.cursor()
    never_sent = (membership.ibr_sent_state == Null) & (
        membership.state.in_(FIRST_SENT))
    cursor.execute(*membership.select(Count(membership.id),
            where=(membership.program == program.id)
            & (never_sent | (membership.ibr_sent_state != membership.state))))
    return cursor.fetchone()[0]


# -- checking enrolment elsewhere ------------------------------------------

def candidates_condition(membership, program):
    "SQL condition: a candidate of the program the IBR check asks about."
    return (membership.program == program.id) & (
        (membership.state == 'draft')
        | ((membership.state == 'not_eligible')
            & (membership.ibr_enrolled_elsewhere == Literal(True))))


def next_candidates(program, after, size):
    "(membership id, party id, type) of the next `size` candidates."
    pool = Pool()
    Membership = pool.get('spp.program.membership')
    Party = pool.get('party.party')
    membership = Membership.__table__()
    party = Party.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*membership.join(party,
            condition=party.id == membership.registrant).select(
            membership.id, party.id, party.registrant_type,
            where=candidates_condition(membership, program)
            & (membership.id > after),
            order_by=[membership.id.asc], limit=size))
    return cursor.fetchall()


def enrolled_request(registry, program, id_type, values):
    "An EnrolledRequest of identifier values of one type."
    return {'transaction_id': str(uuid.uuid4()),
        'enrolled_criteria': {
            'query_type': 'expression',
            'response_entity': 'Member',
            'query': {
                'person_identifier_type': {'eq': id_type},
                'person_identifier': {'in': values},
                PROGRAMME_KEY: {'in': codes_of(program.ibr_exclusions)},
                },
            }}


def enrolled_of(answer):
    "{identifier value: programme note or ''} of the 'yes' answers."
    items = (answer.get('message') or {}).get('enrolled_response')
    found = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get('enrolled_status') == 'yes':
            found[str(item.get('reference_id'))] = str(
                item.get('status_reason_message') or '')[:200]
    return found


def mark_checked(ids, elsewhere, today):
    """Mark candidates as checked today, those of `elsewhere` ({membership
    id: note}) as enrolled in an excluding programme (one UPDATE)."""
    Membership = Pool().get('spp.program.membership')
    table = Membership.__table__()
    cursor = Transaction().connection.cursor()
    flag, note = Literal(False), Null
    if elsewhere:
        flag = SQL_OPERATORS['in'](table.id, list(elsewhere))
        note = Case(*((table.id == i, n or '-') for i, n in
                elsewhere.items()), else_=Null)
    cursor.execute(*table.update(
            [table.ibr_enrolled_elsewhere, table.ibr_checked,
                table.ibr_check_note],
            [flag, today, note],
            where=SQL_OPERATORS['in'](table.id, list(ids))))


def check_enrolled(program, session=None):
    """Ask the program's IBR which candidates are enrolled in a programme
    that excludes this one, and mark them.

    Return (candidates checked, found enrolled elsewhere, messages,
    error): error is the RegistryError that stopped the check, or None
    (the batches answered before stay marked)."""
    registry = program.ibr_registry
    id_types = registry.reverse_mapping('identifier_type')
    mapped = set(id_types) if id_types else None
    today = Pool().get('ir.date').today()
    size = registry.batch_size
    checked = found = messages = 0
    after = 0
    while True:
        rows = next_candidates(program, after, size)
        if not rows:
            break
        after = rows[-1][0]
        identifiers = identifiers_of([r[1] for r in rows])
        groups = [r[1] for r in rows if r[2] == 'group']
        for group, people in (members_of(groups) if groups else {}).items():
            for person in people:
                identifiers[group].extend(person)
        # {their type: {number: [membership ids]}}
        asked = defaultdict(lambda: defaultdict(list))
        for membership_id, party_id, _ in rows:
            for type_, code in identifiers.get(party_id, []):
                if mapped is None or type_ in mapped:
                    asked[id_types.get(type_, type_)][code].append(
                        membership_id)
        elsewhere = {}
        for their_type in sorted(asked):
            numbers = asked[their_type]
            message = enrolled_request(registry, program, their_type,
                sorted(numbers))
            try:
                answer = send(registry, ENROLLED_PATH, 'search', message,
                    total_count=len(numbers),
                    asked={'query_type': 'expression',
                        'attributes': ['person_identifier_type',
                            'person_identifier', PROGRAMME_KEY],
                        'identifier_type': their_type,
                        'values': len(numbers)},
                    records=lambda a: len(enrolled_of(a)), session=session)
            except RegistryError as error:
                if checked or found:
                    invalidate_cache('spp.program.membership')
                return checked, found, messages, error
            messages += 1
            for number, note in enrolled_of(answer).items():
                for membership_id in numbers.get(number, []):
                    elsewhere.setdefault(membership_id, note)
        mark_checked([r[0] for r in rows], elsewhere, today)
        checked += len(rows)
        found += len(elsewhere)
    if checked:
        invalidate_cache('spp.program.membership')
    return checked, found, messages, None


def exclusion_reason(program, today=None):
    "The state reason of a candidate the IBR check left out."
    today = today or Pool().get('ir.date').today()
    return gettext('spp_dci_client.msg_ibr_reason_enrolled_elsewhere',
        programmes=', '.join(codes_of(program.ibr_exclusions)),
        date=today.isoformat())


def stamp():
    return dt.datetime.now().replace(microsecond=0)

