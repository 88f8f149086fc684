"""The records a registry import (registry_import) creates: their values,
shared by both write paths, and the ORM path, which runs the triggers the
bulk path (registry_import_bulk) cannot.

Callers look group_values up in this module at call time so that other
addons can extend it (spp_custom_field adds the household's custom
fields)."""
from trytond.pool import Pool
from trytond.tools import grouped_slice

from .registry_import_rows import HEAD

# Individuals written at a time (one COPY per table on PostgreSQL).
BATCH_SIZE = 20_000


def group_values(household, reference):
    head = next((m for m in household.members if HEAD in m.roles),
        household.members[0])
    return {
        'registrant_type': 'group',
        'name': (household.name or head.values['family_name']
            or household.ref),
        'group_kind': reference.household_kind,
        'area': household.area,
        'registration_date': reference.today,
        }


def individual_values(member, household, reference):
    return {
        'registrant_type': 'individual',
        **member.values,
        'area': reference.areas.get(member.area_code, household.area),
        'registration_date': reference.today,
        }


def create_households_orm(households, reference, batch_size=BATCH_SIZE):
    """Create the groups, individuals, identifiers, contacts, memberships
    and roles with one ORM create per batch of each, then recompute the
    groups' indicators once. Return the group ids."""
    pool = Pool()
    Party = pool.get('party.party')
    Identifier = pool.get('party.identifier')
    ContactMechanism = pool.get('party.contact_mechanism')
    Membership = pool.get('spp.group.membership')
    MembershipRole = pool.get('spp.group.membership-role')

    group_ids = create_batched(Party, with_party_codes([
                group_values(h, reference) for h in households], 'group'),
        batch_size)
    members = [(group_id, m, h)
        for group_id, h in zip(group_ids, households) for m in h.members]
    individual_ids = create_batched(Party, with_party_codes([
                individual_values(m, h, reference) for _, m, h in members]),
        batch_size)
    create_batched(Identifier, [
            {'party': party, 'type': type_, 'code': code}
            for party, (_, m, _) in zip(individual_ids, members)
            for _, type_, code in m.identifiers], batch_size)
    create_batched(ContactMechanism, [
            {'party': party, **contact}
            for party, (_, m, _) in zip(individual_ids, members)
            for contact in m.contacts], batch_size)
    membership_ids = create_batched(Membership, [
            {'group': group, 'individual': party}
            for party, (group, _, _) in zip(individual_ids, members)],
        batch_size)
    # Roles through their relation model: Many2Many "add" searches once
    # per membership.
    create_batched(MembershipRole, [
            {'membership': membership, 'role': reference.roles[code][0]}
            for membership, (_, m, _) in zip(membership_ids, members)
            for code in m.roles], batch_size)
    Party.recompute_indicators(group_ids)
    return group_ids


def with_party_codes(vlist, registrant_type=None):
    """Give the parties of `vlist` their codes from the party sequence (the
    group sequence for groups) in one draw; party's create draws them one
    record, and one query, at a time."""
    Party = Pool().get('party.party')
    sequence = (Party._code_sequence(registrant_type=registrant_type)
        if vlist else None)
    if sequence:
        for values, code in zip(vlist, sequence.get_many(len(vlist))):
            values['code'] = code
    return vlist


def create_batched(Model, vlist, batch_size=BATCH_SIZE):
    "Create the records of `vlist` `batch_size` at a time; return the ids."
    ids = []
    for sub_vlist in grouped_slice(vlist, batch_size):
        ids.extend(r.id for r in Model.create(list(sub_vlist)))
    return ids


