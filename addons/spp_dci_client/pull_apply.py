"""Applying a page of a social registry's groups to our registry: match,
create, update, refuse — set-based per page.

For each DCI Group record (person.Reader reads it with the registry's
code mappings):

1. Its members are matched to our individuals by identifier (type and
   compact number, one query per page), then by their record id at the
   registry (`dci_ref`, kept from an earlier pull); the household by its
   record id at the registry, else by the household of its matched
   members.
2. A household with no match is new: its members become rows of the
   registry import (docs/caseworker-import.md) validated by the import's
   own checks and written by its set-based path
   (registry_import.create_households). A household with an invalid row
   is refused whole, each row reported.
3. A matched household is compared field by field (name, area; each
   member's names, birth date, gender, disability, civil status, missing
   identifiers); only what differs is written, through the ORM (the
   changed few, audited); members the registry lists and we lack are
   added. No difference: unchanged, nothing written.
4. Refused (with the reason, per row): identifier types we do not map,
   records that cannot be read, members held by several of our
   households or by none, identifiers held by another registrant, area
   or gender codes we do not know, import validation errors.

The provenance of created and matched registrants (party.py) is written
with SQL. Nothing here commits: the caller decides (pull_job.py).
Reading and matching are in pull_match.py."""
import datetime as dt

from sql import Literal

from trytond import backend
from trytond.modules.spp_registry import registry_import
from trytond.modules.spp_registry import registry_import_plan as plan_
from trytond.modules.spp_registry.registry_import_rows import (
    COLUMNS, ID_PREFIX)
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .pull_match import INDIVIDUAL_FIELDS, PageReader, PageResult, _msg


class PageApplier(PageReader):
    "Applies pages of group records of one registry."

    # -- applying --------------------------------------------------------
    def apply(self, records):
        "Apply a page of group records; return its PageResult."
        result = PageResult()
        self.compacted = {}
        groups = [self.read_group(r, i) for i, r in enumerate(records)]
        readable = [g for g in groups if not g.problems]
        self.match_individuals(readable)
        self.match_groups(readable)
        self.areas = self.area_ids(readable)
        new, existing = [], []
        for group in groups:
            if group.problems:
                self.refuse(group, result)
            elif group.party is None and not any(
                    m.party for m in group.members):
                new.append(group)
            else:
                existing.append(group)
        if new:
            self.create(new, result)
        if existing:
            self.update(existing, result)
        return result

    def refuse(self, group, result, problems=None):
        result.refused += 1
        for ref, reason in problems or group.problems:
            result.lines.append(('refused', ref, group.party, reason))

    def import_rows(self, groups):
        "(header, rows, {row: (group, member)}) of new households."
        id_columns = sorted({ID_PREFIX + t for g in groups
                for m in g.members for t, _ in m.person.identifiers})
        header = [*COLUMNS, *id_columns]
        rows, where = [], {}
        number = 1
        for group in groups:
            for member in group.members:
                number += 1
                person = member.person
                values = {
                    'household_ref': group.ref,
                    'household_name': group.name or '',
                    'role': ';'.join(member.roles),
                    'family_name': person.family_name or '',
                    'given_name': person.given_name or '',
                    'additional_name': person.additional_name or '',
                    'birth_date': (person.birth_date.isoformat()
                        if person.birth_date else ''),
                    'birth_date_approximate': '',
                    'gender': person.gender or '',
                    'disability': 'true' if person.disability else '',
                    'phone': person.phones[0] if person.phones else '',
                    'email': '',
                    'area_code': member.area_code or group.area_code or '',
                    }
                for type_, value in person.identifiers:
                    values.setdefault(ID_PREFIX + type_, value)
                rows.append((number, {c: values.get(c, '') for c in header}))
                where[number] = (group, member)
        return header, rows, where

    def create(self, groups, result):
        "New households through the registry import's own checks and path."
        header, rows, where = self.import_rows(groups)
        plan = plan_.validate(header, rows)
        refused = {}
        for error in plan.errors:
            group, member = where.get(error.row, (None, None))
            if group is None:
                # A header error: every household of the page is refused.
                for group in groups:
                    refused.setdefault(group.ref, (group, []))[1].append(
                        (group.ref, error.reason))
                continue
            refused.setdefault(group.ref, (group, []))[1].append(
                (member.ref, error.reason))
        for group, problems in refused.values():
            self.refuse(group, result, problems)
        households = [h for ref, h in plan.households.items()
            if ref not in refused]
        if not households:
            return
        by_ref = {g.ref: g for g in groups}
        for household in households:
            group = by_ref[household.ref]
            for member, incoming in zip(household.members, group.members):
                member.values.update(self.provenance(incoming.ref))
                if incoming.person.civil_status:
                    member.values['civil_status'] = (
                        incoming.person.civil_status)
        group_ids = registry_import.create_households(households,
            plan.reference)
        self.mark_groups(zip(group_ids, (h.ref for h in households)))
        result.created += len(group_ids)
        result.individuals += sum(len(h.members) for h in households)
        result.group_ids.extend(group_ids)

    def provenance(self, ref):
        return {'dci_registry': self.registry.id, 'dci_ref': ref,
            'dci_pulled': self.now}

    def mark_groups(self, pairs, pulled=True):
        """Write the provenance of households (group id, their ref) with
        one statement run for every pair."""
        Party = Pool().get('party.party')
        table = Party.__table__()
        cursor = Transaction().connection.cursor()
        columns = [table.dci_registry, table.dci_ref]
        values = [Literal(self.registry.id), Literal('')]
        if pulled:
            columns.append(table.dci_pulled)
            values.append(Literal(self.now))
        query, params = tuple(table.update(columns, values,
                where=table.id == Literal(0)))
        params = list(params)
        rows = []
        for id_, ref in pairs:
            row = list(params)
            row[1], row[-1] = ref, id_
            rows.append(row)
        if rows:
            cursor.executemany(query, rows)

    def current(self, party_ids):
        "{id: {field: value}} of our parties, read with one query a slice."
        Party = Pool().get('party.party')
        table = Party.__table__()
        cursor = Transaction().connection.cursor()
        names = ['name', 'area', 'dci_registry', 'dci_ref',
            *INDIVIDUAL_FIELDS]
        result = {}
        for ids in grouped_slice(list(party_ids), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.id,
                    *[getattr(table, n) for n in names],
                    where=table.id.in_(list(ids))))
            for id_, *values in cursor:
                row = dict(zip(names, values))
                if isinstance(row['birth_date'], str):
                    row['birth_date'] = dt.date.fromisoformat(
                        row['birth_date'])
                row['disability'] = bool(row['disability'])
                result[id_] = row
        return result

    def update(self, groups, result):
        """Compare matched households with ours; write what differs."""
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Role = pool.get('spp.group.membership.role')
        roles = {r.code: r.id for r in Role.search([])}
        held = self.held_identifiers(groups)
        party_ids = {g.party for g in groups} | {
            m.party for g in groups for m in g.members if m.party}
        current = self.current(party_ids)
        members_of = self.members_of([g.party for g in groups])
        current.update(self.current({i for ids in members_of.values()
                    for i in ids} - set(current)))
        writes, identifiers, links, created = [], [], [], []
        for group in groups:
            problems = []
            group_writes, group_ids, group_new = [], [], []
            ours = current[group.party]
            changes = {}
            if group.name and group.name != ours['name']:
                changes['name'] = group.name
            area = self.areas.get(group.area_code)
            if area and area != ours['area']:
                changes['area'] = area
            if changes:
                group_writes.append(([group.party], changes))
            group_links = [(group.party, group.ref)]
            spare = [i for i in members_of.get(group.party, [])
                if i not in {m.party for m in group.members}]
            for member in group.members:
                if not member.party:
                    member.party = self.same_person(member, spare, current)
                if not member.party:
                    group_new.append(member)
                    continue
                group_links.append((member.party, member.ref))
                values = self.differences(member, current[member.party])
                if values:
                    group_writes.append(([member.party], values))
                for type_, value in member.person.identifiers:
                    owner = held.get((type_, self.compact(type_, value)))
                    if owner is None:
                        group_ids.append({'party': member.party,
                                'type': type_, 'code': value})
                        held[(type_, self.compact(type_, value))] = (
                            member.party)
                    elif owner != member.party:
                        problems.append((member.ref, _msg('id_held',
                                    type=self.id_types[type_].name,
                                    code=value)))
            for member in group_new:
                if not (member.person.given_name
                        or member.person.family_name):
                    problems.append((member.ref, _msg('not_readable',
                                problems="no name")))
                for type_, value in member.person.identifiers:
                    if (type_, self.compact(type_, value)) in held:
                        problems.append((member.ref, _msg('id_held',
                                    type=self.id_types[type_].name,
                                    code=value)))
                    # Taken by a new member (-1: no one else may hold it).
                    held[(type_, self.compact(type_, value))] = -1
                unknown = [r for r in member.roles if r not in roles]
                if unknown:
                    problems.append((member.ref, _msg('role_unknown',
                                roles=', '.join(unknown))))
            if problems:
                self.refuse(group, result, problems)
                continue
            links.extend(group_links)
            if group_writes or group_ids or group_new:
                result.updated += 1
                writes.extend(group_writes)
                identifiers.extend(group_ids)
                created.extend((group, m) for m in group_new)
            else:
                result.unchanged += 1
        self.mark_groups([(i, ref) for i, ref in links
                if (current[i]['dci_registry'], current[i]['dci_ref'])
                != (self.registry.id, ref)], pulled=False)
        if writes:
            args = []
            for ids, values in writes:
                args.extend((Party.browse(ids), values))
            Party.write(*args)
            self.mark_pulled([i for ids, _ in writes for i in ids])
        if created:
            self.add_members(created, roles)
        if identifiers:
            Identifier.create(identifiers)
        if created:
            Party.recompute_indicators(list({g.party for g, _ in created}))

    def differences(self, member, ours):
        "The values of an individual that differ from the registry's."
        person = member.person
        theirs = {
            'family_name': person.family_name,
            'given_name': person.given_name,
            'additional_name': person.additional_name,
            'birth_date': person.birth_date,
            'gender': self.genders.get(person.gender),
            'disability': person.disability,
            'civil_status': person.civil_status,
            }
        area = self.areas.get(member.area_code)
        changes = {}
        for name, value in theirs.items():
            # What the registry does not say is left as we have it.
            if value is not None and value != ours[name]:
                changes[name] = value
        if area and area != ours['area']:
            changes['area'] = area
        return changes

    def same_person(self, member, spare, current):
        "An unmatched member of ours with the same name and birth date."
        person = member.person
        for party_id in spare:
            ours = current.get(party_id)
            if ours and person.birth_date and (
                    ours['birth_date'] == person.birth_date
                    and ours['given_name'] == person.given_name
                    and ours['family_name'] == person.family_name):
                spare.remove(party_id)
                return party_id

    def members_of(self, group_ids):
        "{group: [individual]} of the current memberships."
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        membership = Membership.__table__()
        cursor = Transaction().connection.cursor()
        today = pool.get('ir.date').today()
        result = {}
        for ids in grouped_slice(list(group_ids), backend.MAX_QUERY_PARAMS):
            cursor.execute(*membership.select(membership.group,
                    membership.individual,
                    where=membership.group.in_(list(ids))
                    & Membership.active_condition(membership, today),
                    order_by=[membership.id.asc]))
            for group_id, individual in cursor:
                result.setdefault(group_id, []).append(individual)
        return result

    def held_identifiers(self, groups):
        "{(type, compact): party} of the identifiers the page names."
        wanted = {}
        for group in groups:
            for member in group.members:
                for type_, value in member.person.identifiers:
                    wanted.setdefault(self.compact(type_, value), set()).add(
                        type_)
        Identifier = Pool().get('party.identifier')
        identifier = Identifier.__table__()
        cursor = Transaction().connection.cursor()
        held = {}
        # Archived identifiers keep their number (as the registry checks).
        for codes in grouped_slice(list(wanted), backend.MAX_QUERY_PARAMS):
            cursor.execute(*identifier.select(identifier.type,
                    identifier.code_compact, identifier.party,
                    where=identifier.code_compact.in_(list(codes))))
            for type_, code, party_id in cursor:
                if type_ in wanted.get(code, ()):
                    held.setdefault((type_, code), party_id)
        return held

    def add_members(self, created, roles):
        "Members the registry lists in households we have: ORM creates."
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        MembershipRole = pool.get('spp.group.membership-role')
        vlist = []
        for group, member in created:
            person = member.person
            vlist.append({
                    'registrant_type': 'individual',
                    'family_name': person.family_name,
                    'given_name': person.given_name,
                    'additional_name': person.additional_name,
                    'birth_date': person.birth_date,
                    'gender': self.genders.get(person.gender),
                    'disability': bool(person.disability),
                    'civil_status': person.civil_status,
                    'area': (self.areas.get(member.area_code)
                        or self.areas.get(group.area_code)),
                    'identifiers': [('create', [
                                {'type': t, 'code': v}
                                for t, v in person.identifiers])],
                    **self.provenance(member.ref),
                    })
        parties = Party.create(vlist)
        memberships = Membership.create([
                {'group': group.party, 'individual': party.id}
                for party, (group, _) in zip(parties, created)])
        MembershipRole.create([
                {'membership': membership.id, 'role': roles[code]}
                for membership, (_, member) in zip(memberships, created)
                for code in member.roles])

    def mark_pulled(self, party_ids):
        Party = Pool().get('party.party')
        table = Party.__table__()
        cursor = Transaction().connection.cursor()
        for ids in grouped_slice(list(set(party_ids)),
                backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.update([table.dci_pulled],
                    [Literal(self.now)], where=table.id.in_(list(ids))))

