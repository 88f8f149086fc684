"""Reading and matching a page of a social registry's groups (for
pull_apply.py): each DCI Group record read with the registry's code
mappings (person.Reader) into households and members with what is wrong
with them; members matched to our individuals by identifier, then by their
record id at the registry; households by their record id, else by the
household of their matched members. One query per table and page."""
import datetime as dt
from dataclasses import dataclass, field

from sql import Literal

from trytond import backend
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .person import Person, Reader, area_code, text

# Fields of an individual a pull compares and writes.
INDIVIDUAL_FIELDS = ('family_name', 'given_name', 'additional_name',
    'birth_date', 'gender', 'disability', 'civil_status')


def _msg(name, **variables):
    return gettext(f'spp_dci_client.msg_pull_{name}', **variables)


@dataclass
class Incoming:
    "A member of a registry's group: who, with which roles."
    ref: str
    person: object
    roles: list
    area_code: str = None
    party: int = None          # our individual, once matched


@dataclass
class IncomingGroup:
    ref: str
    index: int
    name: str = None
    area_code: str = None
    members: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # [(member ref, reason)]
    party: int = None          # our household, once matched


@dataclass
class PageResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    individuals: int = 0
    group_ids: list = field(default_factory=list)
    lines: list = field(default_factory=list)  # (kind, ref, party, reason)

    def add(self, other):
        for name in ('created', 'updated', 'unchanged', 'refused',
                'individuals'):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.group_ids.extend(other.group_ids)
        self.lines.extend(other.lines)


def attributes(record):
    "{name: value} of a record's additional_attributes."
    result = {}
    items = record.get('additional_attributes') if isinstance(
        record, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get('name'), str):
            result[item['name']] = item.get('value')
    return result


def record_ref(record, fallback):
    ref = text(record.get('@id') or record.get('id'), 100) if isinstance(
        record, dict) else None
    return ref or fallback

class PageReader:
    "Reads and matches pages of group records of one registry."

    def __init__(self, registry):
        pool = Pool()
        IdType = pool.get('spp.id.type')
        self.registry = registry
        self.id_types = IdType.by_code()
        self.reader = Reader(registry, own_id_types=self.id_types)
        self.genders = {g.code: g.id
            for g in pool.get('spp.gender').search([])}
        self.now = dt.datetime.now()
        self.compacted = {}

    # -- reading ---------------------------------------------------------
    def read_group(self, record, index):
        ref = record_ref(record, f'#{index}')
        group = IncomingGroup(ref=ref, index=index)
        if not isinstance(record, dict):
            group.problems.append((ref, _msg('not_readable',
                        problems="not an object")))
            return group
        extra = attributes(record)
        head = record.get('group_head_info')
        # What Reader.group() reads of the group itself, without reading
        # its members a second time (they are read below).
        group.name = text(extra.get('name')) or text(
            record.get('group_name') or record.get('name'))
        group.area_code = (text(extra.get('area'), 64)
            or area_code(record.get('address'))
            or (self.reader.person(head).area_code
                if isinstance(head, dict) else None))
        probe = Person()
        self.reader.identifiers(record.get('group_identifier'), probe)
        if probe.unmapped:
            group.problems.append((ref, _msg('unmapped_type',
                        types=', '.join(sorted(set(probe.unmapped))))))
        members = record.get('member_list')
        members = [m for m in members if isinstance(m, dict)] if isinstance(
            members, list) else []
        head_ref = record_ref(head, None) if isinstance(head, dict) else None
        if isinstance(head, dict) and not any(
                record_ref(m, None) == head_ref and head_ref
                for m in members):
            members.insert(0, head)
        for number, member in enumerate(members, start=1):
            person = self.reader.person(member)
            mref = record_ref(member, f'{ref}/{number}')
            roles = text(attributes(member).get('roles'), 200)
            roles = roles.replace(',', ' ').replace(';', ' ').split() \
                if roles else []
            is_head = member is head or (head_ref and mref == head_ref)
            if is_head and 'head' not in roles:
                roles.insert(0, 'head')
            incoming = Incoming(ref=mref, person=person, roles=roles,
                area_code=text(attributes(member).get('area'), 64)
                or person.area_code)
            if person.unmapped:
                group.problems.append((mref, _msg('unmapped_type',
                            types=', '.join(sorted(set(person.unmapped))))))
            if person.problems:
                group.problems.append((mref, _msg('not_readable',
                            problems=', '.join(person.problems))))
            for type_, value in person.identifiers:
                reason = self.id_types[type_].check(value)
                if reason:
                    group.problems.append((mref, _msg('id_invalid',
                                type=self.id_types[type_].name, code=value,
                                reason=reason)))
            if person.gender and person.gender not in self.genders:
                group.problems.append((mref, _msg('gender_unknown',
                            code=person.gender)))
            group.members.append(incoming)
        if not group.members:
            group.problems.append((ref, _msg('no_members')))
        return group

    # -- matching --------------------------------------------------------
    def compact(self, type_, value):
        """The number as stored (IdType.compact), computed once a page: a
        page's matching asks it of each number several times."""
        key = (type_, value)
        compacted = self.compacted.get(key)
        if compacted is None:
            compacted = self.compacted[key] = self.id_types[type_].compact(
                value)
        return compacted

    def match_individuals(self, groups):
        """Set each member's party: by identifier, else by its record id
        at the registry. {(type, compact): party} of the page's IDs."""
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Party = pool.get('party.party')
        identifier = Identifier.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        wanted = {}
        for group in groups:
            for member in group.members:
                for type_, value in member.person.identifiers:
                    wanted.setdefault(self.compact(type_, value), set()).add(
                        type_)
        held = {}
        for codes in grouped_slice(list(wanted), backend.MAX_QUERY_PARAMS):
            cursor.execute(*identifier.select(identifier.type,
                    identifier.code_compact, identifier.party,
                    where=identifier.code_compact.in_(list(codes))
                    & (identifier.active == Literal(True))))
            for type_, code, party_id in cursor:
                if type_ in wanted.get(code, ()):
                    held.setdefault((type_, code), party_id)
        refs = [m.ref for g in groups for m in g.members]
        by_ref = {}
        for sub_refs in grouped_slice(refs, backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.select(party.dci_ref, party.id,
                    where=(party.dci_registry == self.registry.id)
                    & (party.registrant_type == 'individual')
                    & party.dci_ref.in_(list(sub_refs))))
            by_ref.update(cursor)
        for group in groups:
            for member in group.members:
                for type_, value in member.person.identifiers:
                    found = held.get((type_, self.compact(type_, value)))
                    if found:
                        member.party = found
                        break
                else:
                    member.party = by_ref.get(member.ref)
        return held

    def match_groups(self, groups):
        """Set each group's household: by record id at the registry, else
        the one household of its matched members (refused when several,
        or when a matched member is in none)."""
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        party = Party.__table__()
        membership = Membership.__table__()
        cursor = Transaction().connection.cursor()
        by_ref = {}
        for sub_refs in grouped_slice([g.ref for g in groups],
                backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.select(party.dci_ref, party.id,
                    where=(party.dci_registry == self.registry.id)
                    & (party.registrant_type == 'group')
                    & party.dci_ref.in_(list(sub_refs))))
            by_ref.update(cursor)
        individuals = [m.party for g in groups for m in g.members if m.party]
        households = {}
        today = pool.get('ir.date').today()
        for ids in grouped_slice(individuals, backend.MAX_QUERY_PARAMS):
            cursor.execute(*membership.select(membership.individual,
                    membership.group,
                    where=membership.individual.in_(list(ids))
                    & Membership.active_condition(membership, today)))
            for individual, group_id in cursor:
                households.setdefault(individual, set()).add(group_id)
        self.households_of = households
        codes = self.codes({i for s in households.values() for i in s}
            | set(individuals))
        for group in groups:
            group.party = by_ref.get(group.ref)
            found = set()
            for member in group.members:
                if member.party:
                    found |= households.get(member.party, set())
            if group.party is None and len(found) == 1:
                group.party, = found
            elif group.party is None and len(found) > 1:
                group.problems.append((group.ref, _msg('several_households',
                            codes=', '.join(sorted(
                                    codes.get(g, str(g)) for g in found)))))
                continue
            for member in group.members:
                if not member.party:
                    continue
                theirs = households.get(member.party, set())
                if not theirs:
                    group.problems.append((member.ref, _msg('no_household',
                                code=codes.get(member.party, ''))))
                elif group.party and group.party not in theirs:
                    group.problems.append((member.ref,
                            _msg('other_household', code=', '.join(sorted(
                                        codes.get(g, str(g))
                                        for g in theirs)))))

    def codes(self, party_ids):
        Party = Pool().get('party.party')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for ids in grouped_slice(list(party_ids), backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.select(party.id, party.code,
                    where=party.id.in_(list(ids))))
            result.update(cursor)
        return result

    def area_ids(self, groups):
        Area = Pool().get('spp.area')
        codes = {c for g in groups for c in [g.area_code, *(
                    m.area_code for m in g.members)] if c}
        found = {}
        for sub_codes in grouped_slice(list(codes), backend.MAX_QUERY_PARAMS):
            found.update((a.code, a.id)
                for a in Area.search([('code', 'in', list(sub_codes))]))
        for group in groups:
            for code, ref in [(group.area_code, group.ref), *(
                        (m.area_code, m.ref) for m in group.members)]:
                if code and code not in found:
                    group.problems.append((ref, _msg('area_unknown',
                                code=code)))
        return found
