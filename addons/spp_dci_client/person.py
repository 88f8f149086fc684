"""Reading the records registries send: DCI persons and groups into our
values, through the registry's code mappings.

Shapes read (all from the DCI specs and samples):

- a CRVS person (`CRVS_Person`, the registry core samples): identifier[],
  name {surname, given_name, second_name}, sex, birth_date, death_date,
  marital_status, phone_number[], address[] {region_code…},
  parent1_identifier / parent2_identifier;
- a Social Registry member (`Member`: member_identifier[],
  demographic_info {identifier[], name, sex, birth_date, phone_number},
  is_disabled, marital_status) or the person itself (`SRPerson`);
- a Social Registry group (`Group`: group_identifier[], group_type,
  group_head_info (a member), member_list[], registration_date).

`read_person()` gives a Person: our identifiers (type code, value) for the
mapped types, the unmapped ones named (a pull reports them per row), the
name parts, birth and death dates, our gender and civil status codes,
phones, parents' identifiers and the area code of the address."""
import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Person:
    identifiers: list = field(default_factory=list)   # [(our type, value)]
    unmapped: list = field(default_factory=list)      # [their type]
    family_name: str = None
    given_name: str = None
    additional_name: str = None
    birth_date: dt.date = None
    death_date: dt.date = None
    gender: str = None          # our gender code
    civil_status: str = None    # our civil status
    disability: bool = None
    phones: list = field(default_factory=list)
    parents: list = field(default_factory=list)       # [(our type, value)]
    area_code: str = None
    problems: list = field(default_factory=list)      # what could not be read

    @property
    def key(self):
        "The first identifier (type, value), or None."
        return self.identifiers[0] if self.identifiers else None


@dataclass
class Group:
    identifiers: list = field(default_factory=list)
    unmapped: list = field(default_factory=list)
    name: str = None
    kind: str = None
    head: Person = None
    members: list = field(default_factory=list)       # [Person], head first
    area_code: str = None


def text(value, size=200):
    if isinstance(value, str):
        value = value.strip()
        return value[:size] or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)


def read_date(value):
    "A date of an ISO date or date-time text, or None."
    value = text(value, 40)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(value)


class Reader:
    "Reads records with one registry's mappings."

    def __init__(self, registry, own_id_types=()):
        self.id_types = registry.mapping('identifier_type')
        self.sexes = registry.mapping('sex')
        self.marital = registry.mapping('marital_status')
        # Our own codes are understood as they are (a registry of ours).
        self.own_id_types = set(own_id_types)

    def identifier(self, item, person):
        "Our (type, value) of an Identifier object, or None."
        if not isinstance(item, dict):
            return None
        their = text(item.get('identifier_type') or item.get('type'), 64)
        value = text(item.get('identifier_value')
            or item.get('identifier') or item.get('value'), 64)
        if not their or not value:
            return None
        ours = self.id_types.get(their.upper())
        if ours is None and their.lower() in self.own_id_types:
            ours = their.lower()
        if ours is None:
            person.unmapped.append(their)
            return None
        return ours, value

    def identifiers(self, items, person):
        if isinstance(items, dict):
            items = [items]
        result = []
        for item in items if isinstance(items, list) else []:
            found = self.identifier(item, person)
            if found and found not in result:
                result.append(found)
        return result

    def person(self, record):
        "A Person of a CRVS person, SR member or SR person record."
        person = Person()
        if not isinstance(record, dict):
            person.problems.append("not an object")
            return person
        info = record.get('demographic_info')
        info = info if isinstance(info, dict) else record
        ids = self.identifiers(record.get('member_identifier'), person)
        for found in self.identifiers(info.get('identifier'), person):
            if found not in ids:
                ids.append(found)
        phones = []
        for found in ids:
            if found[0] == 'phone':
                phones.append(found[1])
        person.identifiers = [i for i in ids if i[0] != 'phone']
        name = info.get('name')
        if isinstance(name, dict):
            person.family_name = text(name.get('surname')
                or name.get('sur_name'))
            person.given_name = text(name.get('given_name'))
            person.additional_name = text(name.get('second_name'))
        elif isinstance(name, str):
            person.given_name = text(name)
        for key, attribute in (('birth_date', 'birth_date'),
                ('birthdate', 'birth_date'), ('death_date', 'death_date'),
                ('deathdate', 'death_date')):
            if info.get(key) and getattr(person, attribute) is None:
                try:
                    setattr(person, attribute, read_date(info[key]))
                except ValueError:
                    person.problems.append(f"{key}: not a date")
        sex = text(info.get('sex') or info.get('gender'), 20)
        if sex:
            person.gender = self.sexes.get(sex.upper(), sex.lower())
        marital = text(record.get('marital_status')
            or info.get('marital_status'), 20)
        if marital:
            person.civil_status = self.marital.get(marital.upper())
        disabled = record.get('is_disabled')
        if isinstance(disabled, bool):
            person.disability = disabled
        numbers = info.get('phone_number') or record.get('phone_number')
        if isinstance(numbers, str):
            numbers = [numbers]
        for number in numbers if isinstance(numbers, list) else []:
            number = text(number, 40)
            if number and number not in phones:
                phones.append(number)
        person.phones = phones
        for key in ('parent1_identifier', 'parent2_identifier'):
            found = self.identifier(record.get(key), Person())
            if found:
                person.parents.append(found)
        person.area_code = area_code(record.get('address')
            or info.get('address'))
        return person

    def group(self, record):
        "A Group of an SR group record (head first among its members)."
        group = Group()
        if not isinstance(record, dict):
            return group
        probe = Person()
        group.identifiers = self.identifiers(
            record.get('group_identifier'), probe)
        group.unmapped = probe.unmapped
        group.kind = text(record.get('group_type'), 64)
        group.name = text(record.get('group_name') or record.get('name'))
        head = record.get('group_head_info')
        members = record.get('member_list')
        members = members if isinstance(members, list) else []
        if isinstance(head, dict):
            group.head = self.person(head)
        for member in members:
            person = self.person(member)
            if group.head and person.key and person.key == group.head.key:
                continue
            group.members.append(person)
        if group.head:
            group.members.insert(0, group.head)
        group.area_code = area_code(record.get('address')) or (
            group.head.area_code if group.head else None)
        return group


def area_code(address):
    "The most precise area code of a DCI address (object or list)."
    if isinstance(address, list):
        address = address[0] if address else None
    if not isinstance(address, dict):
        return None
    for key in ('area_code', 'sub_region_code', 'region_code',
            'admin_area_code'):
        value = text(address.get(key), 64)
        if value:
            return value
