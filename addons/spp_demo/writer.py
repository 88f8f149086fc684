"""Store generated households in the real Tryton tables, in bulk.

Every column the ORM fills when a caseworker registers a household is
filled here too (see orm.py for that path, and the test comparing both):
ids from the tables' sequences, party codes from the party sequence,
create/write user and date, defaults, composed names and their keys,
identifiers with their unique code, contact mechanisms formatted as
party.contact_mechanism formats them, memberships with roles, stored
indicators, and the __history rows (a party gets two, as through the ORM:
the insert, then the write of its computed code columns).

PostgreSQL receives the rows through COPY on the transaction's connection;
SQLite through executemany INSERT (small populations, the demo): the
helpers are spp_registry's bulk.writer, shared with the registry import."""
from functools import partial
from types import SimpleNamespace

from trytond.pool import Pool

from trytond.modules.spp_registry.bulk import BulkWriter, code_columns
from trytond.modules.spp_registry.registrant import normalise_name

from .population import years_before

PARTY_COLUMNS = [
    'id', 'code', 'code_alnum', 'code_digit', 'name', 'name_key',
    'registrant_type', 'group_kind', 'area', 'family_name', 'given_name',
    'additional_name', 'birth_date', 'birth_date_approximate', 'gender',
    'civil_status', 'disability', 'registration_date', 'active',
    'member_count', 'child_count', 'elderly_count', 'disabled_member_count',
    'female_head', 'multiple_groups',
    'create_uid', 'create_date', 'write_uid', 'write_date']
LANG_COLUMNS = ['id', 'party', 'lang', 'create_uid', 'create_date']
IDENTIFIER_COLUMNS = ['id', 'party', 'type', 'code', 'code_compact',
    'unique_code', 'active', 'create_uid', 'create_date']
CONTACT_COLUMNS = ['id', 'party', 'type', 'value', 'value_compact', 'active',
    'create_uid', 'create_date', 'write_uid', 'write_date']
MEMBERSHIP_COLUMNS = ['id', 'group', 'individual', 'start_date',
    'create_uid', 'create_date']
ROLE_COLUMNS = ['id', 'membership', 'role', 'create_uid', 'create_date']
# How each column is written in COPY text: v a value never NULL, n a value
# or NULL, b a boolean, e a string that may need escaping (names come from
# pools checked once, so they need none).
PARTY_KINDS = 'veenvvvnnnnnnbnnbvbvvvvbbvvvv'
LANG_KINDS = 'vvnvv'
IDENTIFIER_KINDS = 'vvvvvnbvv'
CONTACT_KINDS = 'vvvvvbvvvv'
MEMBERSHIP_KINDS = 'vvvvvv'
ROLE_KINDS = 'vvvvv'
# A party's first history row is the state right after the ORM's INSERT:
# its computed code columns and write stamps still empty.
FIRST_PASS_BLANK = {'write_uid', 'write_date', 'code_alnum', 'code_digit'}


class PopulationWriter(BulkWriter):
    "Write batches of households into the database of the transaction."

    def __init__(self, refs, generator=None):
        super().__init__()
        pool = Pool()
        self.refs = refs
        self.generator = generator
        Configuration = pool.get('spp.registry.configuration')
        # The registry's own rule, on a plain copy of the settings: reading
        # the record's field millions of times costs more than the rule.
        settings = SimpleNamespace(
            name_format=Configuration(1).name_format,
            default_name_format=Configuration.default_name_format)
        self.format_name = partial(Configuration.format_name, settings)
        self.today = pool.get('ir.date').today()
        self.child_limit = years_before(self.today, refs.child_age)
        self.elderly_limit = years_before(self.today, refs.elderly_age)
        self.lang = self.Party.default_lang()
        IdType = pool.get('spp.id.type')
        self.unique_types = {code for code, t in IdType.by_code().items()
            if t.unique}
        self.phone_format = (generator.phones.format
            if generator is not None else None)

    # -- rows -------------------------------------------------------------

    def write(self, households):
        "Store a batch of households; return the number of parties."
        households = list(households)
        refs = self.refs
        now = self._now()
        user = self.user
        n_individuals = sum(len(h.members) for h in households)
        n_parties = n_individuals + len(households)
        party_ids = iter(self._ids('party_party', n_parties))
        codes = iter(self._party_codes(n_individuals))
        group_codes = iter(self._party_codes(len(households), 'group'))
        parties, identifiers, contacts, memberships = [], [], [], []
        format_name, normalise = self.format_name, normalise_name
        genders, roles, areas = refs.genders, refs.roles, refs.areas
        child_limit, elderly_limit = self.child_limit, self.elderly_limit
        unique_types = self.unique_types
        for household in households:
            area = areas[household.area]
            registered = household.registration_date
            member_ids = []
            children = elderly = disabled = 0
            for person in household.members:
                party_id = next(party_ids)
                if person.id_number is None:
                    # The party id numbers the document: unique for good.
                    self.generator.document(person, party_id)
                code = next(codes)
                alnum, digit = code_columns(code) if code else (None, None)
                name = format_name(family_name=person.family_name,
                    given_name=person.given_name,
                    additional_name=person.additional_name)
                birth = person.birth_date
                parties.append((party_id, code, alnum, digit, name,
                        normalise(name), 'individual', None, area,
                        person.family_name, person.given_name,
                        person.additional_name, birth,
                        person.birth_date_approximate,
                        genders[person.gender], person.civil_status,
                        person.disability, registered, True,
                        0, 0, 0, 0, False, False, user, now, user, now))
                identifiers.append([party_id, person.id_type,
                        person.id_number, person.id_number,
                        f'{person.id_type}:{person.id_number}'
                        if person.id_type in unique_types else None,
                        True, user, now])
                if person.phone:
                    contacts.append([party_id, 'mobile',
                            self._format_phone(person.phone), person.phone,
                            True, user, now, user, now])
                member_ids.append((party_id, roles[person.role]))
                children += birth > child_limit
                elderly += birth <= elderly_limit
                disabled += person.disability
            group_id = next(party_ids)
            code = next(group_codes)
            alnum, digit = code_columns(code) if code else (None, None)
            parties.append((group_id, code, alnum, digit, household.name,
                    normalise(household.name), 'group', refs.household_kind,
                    area, None, None, None, None, False, None, None, False,
                    registered, True, len(household.members), children,
                    elderly, disabled,
                    household.head.gender == 'female', False,
                    user, now, user, now))
            for individual, role in member_ids:
                memberships.append([group_id, individual, registered, role])
        self._store(parties, identifiers, contacts, memberships, now)
        return n_parties

    def _format_phone(self, e164):
        if self.phone_format is not None:
            return self.phone_format(e164)
        import phonenumbers
        return phonenumbers.format_number(phonenumbers.parse(e164),
            phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def _store(self, parties, identifiers, contacts, memberships, now):
        user = self.user
        self._insert('party_party', PARTY_COLUMNS, PARTY_KINDS, parties)
        self._history('party_party', self.Party, parties,
            blank=FIRST_PASS_BLANK)
        self._history('party_party', self.Party, parties)
        lang_ids = self._ids('party_party_lang', len(parties))
        self._insert('party_party_lang', LANG_COLUMNS, LANG_KINDS, (
                (i, p[0], self.lang, user, now)
                for i, p in zip(lang_ids, parties)))
        for row, id_ in zip(identifiers, self._ids(
                    'party_identifier', len(identifiers))):
            row.insert(0, id_)
        self._insert('party_identifier', IDENTIFIER_COLUMNS,
            IDENTIFIER_KINDS, identifiers)
        Identifier = Pool().get('party.identifier')
        self._history('party_identifier', Identifier, identifiers)
        for row, id_ in zip(contacts, self._ids(
                    'party_contact_mechanism', len(contacts))):
            row.insert(0, id_)
        self._insert('party_contact_mechanism', CONTACT_COLUMNS,
            CONTACT_KINDS, contacts)
        membership_ids = self._ids('spp_group_membership', len(memberships))
        role_ids = self._ids('spp_group_membership-role', len(memberships))
        self._insert('spp_group_membership', MEMBERSHIP_COLUMNS,
            MEMBERSHIP_KINDS, (
                (i, g, p, s, user, now)
                for i, (g, p, s, _) in zip(membership_ids, memberships)))
        Membership = Pool().get('spp.group.membership')
        self._history('spp_group_membership', Membership,
            [(i,) for i in membership_ids])
        self._insert('spp_group_membership-role', ROLE_COLUMNS, ROLE_KINDS, (
                (r, m, role, user, now)
                for r, m, (_, _, _, role) in zip(
                    role_ids, membership_ids, memberships)))
