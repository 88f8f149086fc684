"""The same households stored through the ORM (Party.create), record by
record: the reference the bulk writer is compared against, and the
per-record path the benchmark measures."""
from trytond.pool import Pool


def household_values(household, refs):
    "Values of Party.create for the members, then for the group."
    individuals = []
    for person in household.members:
        values = {
            'registrant_type': 'individual',
            'family_name': person.family_name,
            'given_name': person.given_name,
            'additional_name': person.additional_name,
            'birth_date': person.birth_date,
            'birth_date_approximate': person.birth_date_approximate,
            'gender': refs.genders[person.gender],
            'disability': person.disability,
            'civil_status': person.civil_status,
            'area': refs.areas[household.area],
            'registration_date': household.registration_date,
            'identifiers': [('create', [{
                            'type': person.id_type,
                            'code': person.id_number,
                            }])],
            }
        if person.phone:
            values['contact_mechanisms'] = [('create', [{
                            'type': 'mobile',
                            'value': person.phone,
                            }])]
        individuals.append(values)
    group = {
        'registrant_type': 'group',
        'name': household.name,
        'group_kind': refs.household_kind,
        'area': refs.areas[household.area],
        'registration_date': household.registration_date,
        }
    return individuals, group


def create_households(households, refs):
    """Create each household with Party.create: its members first, then the
    group with their memberships. Return the groups."""
    Party = Pool().get('party.party')
    groups = []
    for household in households:
        individuals, group = household_values(household, refs)
        members = Party.create(individuals)
        group['memberships'] = [('create', [{
                        'individual': member.id,
                        'start_date': household.registration_date,
                        'roles': [('add', [refs.roles[person.role]])],
                        } for member, person in zip(
                        members, household.members)])]
        groups.extend(Party.create([group]))
    return groups
