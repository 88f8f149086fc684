"""Import of households and individuals from CSV or XLSX files.

One row per individual; rows sharing a household_ref form a household. The
import reads the file (read_table), checks every row against the registry's
codes and the database (validate), then writes with one ORM create per batch
of records and one indicator recompute (create_households). By default one
invalid row means nothing is written; with skip_invalid the households whose
rows are all valid are imported, the others are skipped whole and reported.

The columns are documented in docs/caseworker-import.md."""
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import NamedTuple

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.tools.email_ import (
    EmailNotValidError, normalize_email, validate_email)
from trytond.transaction import Transaction

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

# Individuals written at a time (one COPY per table on PostgreSQL).
BATCH_SIZE = 20_000
HEAD = 'head'
ID_PREFIX = 'id_'
COLUMNS = (
    'household_ref', 'household_name', 'role', 'family_name', 'given_name',
    'additional_name', 'birth_date', 'birth_date_approximate', 'gender',
    'disability', 'phone', 'email', 'area_code')
REQUIRED_COLUMNS = (
    'household_ref', 'role', 'family_name', 'given_name', 'birth_date',
    'gender')
TRUE = {'1', 'true', 'yes', 'y', 'x'}
FALSE = {'', '0', 'false', 'no', 'n'}
ROLE_SEPARATORS = re.compile(r'[;,|]')
FORBIDDEN_CHARS = re.compile('[%s]' % re.escape(fields.Char.forbidden_chars))
EMAIL = re.compile(r'[^@\s]+@[^@\s]+\.[^@\s]+')
REPORT_COLUMNS = ('row', 'column', 'household_ref', 'reason')


def _msg(name, **variables):
    return gettext(f'spp_registry.msg_import_{name}', **variables)


class ImportFileError(ValidationError):
    pass


class RowError(NamedTuple):
    "A reason a row (or the file, row '') cannot be imported."
    row: int | str
    column: str
    reason: str
    household: str = ''


@dataclass
class Member:
    "A valid-looking row: an individual and their place in the household."
    row: int
    household: str
    household_name: str = ''
    roles: tuple = ()
    values: dict = field(default_factory=dict)
    area_code: str = ''
    identifiers: list = field(default_factory=list)  # (column, type, code)
    contacts: list = field(default_factory=list)  # contact mechanism values


@dataclass
class Household:
    ref: str
    members: list = field(default_factory=list)
    name: str = ''
    area: int | None = None


@dataclass
class Reference:
    "The registry's codes an import refers to, read once per import."
    genders: dict  # code: id
    roles: dict  # code: (id, unique)
    areas: dict  # code: id, for the codes of the file only
    id_types: dict  # code: spp.id.type
    area_scope: set | None  # area ids the user may register in, None: any
    household_kind: int | None
    phone_countries: list
    today: dt.date


@dataclass
class ImportResult:
    rows: int = 0
    households: int = 0
    individuals: int = 0
    group_ids: list = field(default_factory=list)
    skipped: int = 0
    errors: list = field(default_factory=list)

    @property
    def summary(self):
        if not self.errors:
            return _msg('done', households=self.households,
                individuals=self.individuals)
        if not self.group_ids:
            return _msg('rejected', errors=len(self.errors),
                rows=len({e.row for e in self.errors}))
        return _msg('partial', households=self.households,
            individuals=self.individuals, skipped=self.skipped)


# Reading ---------------------------------------------------------------

def read_table(data, filename=None):
    """Return (header, rows) of a CSV or XLSX file given as bytes.

    Rows are (row number, {column: text}); row numbers are those a
    spreadsheet shows (the header is row 1) and blank rows are left out."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    if not data:
        raise ImportFileError(_msg('empty'))
    if data[:4] == b'PK\x03\x04' or (filename or '').lower().endswith(
            ('.xlsx', '.xlsm')):
        records = _xlsx_records(data)
    else:
        records = _csv_records(data)
    header, rows = None, []
    for number, cells in enumerate(records, start=1):
        texts = [cell_text(c) for c in cells]
        if header is None:
            header = [t.lower() for t in texts]
            continue
        if any(texts):
            rows.append((number, dict(zip(header, texts))))
    if not header or not rows:
        raise ImportFileError(_msg('empty'))
    return header, rows


def _csv_records(data):
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise ImportFileError(_msg('encoding'))
    first_line = text.split('\n', 1)[0]
    # Spreadsheets of many locales save CSV with semicolons.
    delimiter = max(',;\t', key=first_line.count)
    return csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)


def _xlsx_records(data):
    import openpyxl
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exception:
        raise ImportFileError(_msg('xlsx', error=str(exception)))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def cell_text(value):
    "The text of a CSV or spreadsheet cell (dates as ISO, 12.0 as 12)."
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            value = value.date()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# Validation ------------------------------------------------------------

def load_reference(rows):
    "Read the codes the rows may refer to."
    pool = Pool()
    Gender = pool.get('spp.gender')
    Role = pool.get('spp.group.membership.role')
    Area = pool.get('spp.area')
    IdType = pool.get('spp.id.type')
    Party = pool.get('party.party')
    ContactMechanism = pool.get('party.contact_mechanism')
    area_codes = sorted({v.get('area_code') for _, v in rows} - {'', None})
    areas = {}
    for codes in grouped_slice(area_codes, backend.MAX_QUERY_PARAMS):
        areas.update((a.code, a.id)
            for a in Area.search([('code', 'in', list(codes))]))
    phone_checker = ContactMechanism(type='phone', party=None)
    return Reference(
        genders={g.code: g.id for g in Gender.search([])},
        roles={r.code: (r.id, r.unique) for r in Role.search([])},
        areas=areas,
        id_types={c: t for c, t in IdType.by_code().items() if t.active},
        area_scope=registrant_area_scope(),
        household_kind=Party.default_group_kind(force=True),
        phone_countries=list(phone_checker._phone_country_codes()),
        today=pool.get('ir.date').today())


def registrant_area_scope():
    """Ids of the areas the user may register in, or None for any.

    Mirrors the record rule "Registrants in the user's areas", which limits
    registrars and viewers unless a group of theirs sees every registrant,
    so that rows outside the user's areas get a row error; the rule stays
    the guard when writing."""
    pool = Pool()
    User = pool.get('res.user')
    Area = pool.get('spp.area')
    ModelData = pool.get('ir.model.data')
    if not Transaction().user:
        return None
    groups = set(User.get_groups())
    limited = {ModelData.get_id('spp_registry', x)
        for x in ['group_registrar', 'group_registry_viewer']}
    unlimited = {ModelData.get_id(*x) for x in [
            ('spp_registry', 'group_registry_validator'),
            ('spp_registry', 'group_registry_admin'),
            ('party', 'group_party_admin')]}
    if not groups & limited or groups & unlimited:
        return None
    areas = User.get_spp_areas()
    return {a.id for a in Area.search(
            ['OR', ('id', 'in', areas), ('parent', 'child_of', areas)])}


def check_header(header, reference):
    "Errors of the header row: missing, unknown or repeated columns."
    errors = []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            errors.append(RowError(1, column, _msg('missing_column')))
    seen = set()
    for column in header:
        if column in seen:
            errors.append(RowError(1, column, _msg('repeated_column')))
        seen.add(column)
        if column.startswith(ID_PREFIX):
            if column[len(ID_PREFIX):] not in reference.id_types:
                errors.append(RowError(1, column, _msg('id_type',
                            code=column[len(ID_PREFIX):])))
        elif column and column not in COLUMNS:
            errors.append(RowError(1, column, _msg('unknown_column')))
    return errors


def parse_row(number, values, reference):
    "Return the row's Member and the errors found in the row alone."
    household = values.get('household_ref', '')
    member = Member(row=number, household=household,
        household_name=values.get('household_name', ''),
        area_code=values.get('area_code', ''))
    errors = []

    def error(column, name, **variables):
        errors.append(RowError(number, column, _msg(name, **variables),
                household))

    if not household:
        error('household_ref', 'required')
    for column, value in values.items():
        # Text fields refuse these (as the ORM's validation would).
        if value and FORBIDDEN_CHARS.search(value):
            error(column, 'forbidden_chars')
    if not values.get('family_name') and not values.get('given_name'):
        error('given_name', 'name_required')
    roles = [r.strip() for r in ROLE_SEPARATORS.split(values.get('role', ''))]
    member.roles = tuple(dict.fromkeys(r for r in roles if r))
    for code in member.roles:
        if code not in reference.roles:
            error('role', 'role', code=code)
    gender = values.get('gender', '')
    if not gender:
        error('gender', 'required')
    elif gender not in reference.genders:
        error('gender', 'gender', code=gender)
    birth_date = parse_date(values.get('birth_date', ''))
    if not values.get('birth_date'):
        error('birth_date', 'required')
    elif birth_date is None:
        error('birth_date', 'date', value=values['birth_date'])
    elif (birth_date > reference.today
            or birth_date.year < reference.today.year - 130):
        error('birth_date', 'birth_date_range', value=birth_date.isoformat())
    flags = {}
    for column in ['birth_date_approximate', 'disability']:
        flags[column] = parse_boolean(values.get(column, ''))
        if flags[column] is None:
            error(column, 'boolean', value=values[column])
    if member.area_code and member.area_code not in reference.areas:
        error('area_code', 'area', code=member.area_code)
    member.values = {
        'family_name': values.get('family_name') or None,
        'given_name': values.get('given_name') or None,
        'additional_name': values.get('additional_name') or None,
        'birth_date': birth_date,
        'birth_date_approximate': bool(flags['birth_date_approximate']),
        'gender': reference.genders.get(gender),
        'disability': bool(flags['disability']),
        }
    for column, value in values.items():
        if column.startswith(ID_PREFIX) and value:
            id_type = reference.id_types[column[len(ID_PREFIX):]]
            reason = id_type.check(value)
            if reason:
                error(column, 'id_invalid', type=id_type.name, code=value,
                    reason=reason)
            else:
                member.identifiers.append((column, id_type.code, value))
    phone, email = values.get('phone'), values.get('email')
    if phone:
        contact = phone_values(phone, reference.phone_countries)
        if contact:
            member.contacts.append(contact)
        else:
            error('phone', 'phone', value=phone)
    if email:
        email = email_value(email)
        if email:
            member.contacts.append(
                {'type': 'email', 'value': email, 'value_compact': email})
        else:
            error('email', 'email', value=values['email'])
    return member, errors


def parse_date(text):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_boolean(text):
    "True, False, or None when `text` is not a yes/no value."
    text = text.lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return None


def phone_values(number, countries):
    """Values of a phone contact mechanism, formatted the way
    party.contact_mechanism formats them (so that no second write follows
    the create), or None when it would refuse the number."""
    if not phonenumbers:
        return {'type': 'phone', 'value': number}
    for country in [*countries, None]:
        try:
            parsed = phonenumbers.parse(number, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return {
                'type': 'phone',
                'value': phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                'value_compact': phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164),
                }
    return None


def email_value(text):
    """The address as party.contact_mechanism stores it (normalised, so
    that no second write follows the create), or None when it would refuse
    it."""
    if not EMAIL.fullmatch(text):
        return None
    try:
        validate_email(text)
    except EmailNotValidError:
        return None
    return normalize_email(text)


def check_identifiers(members):
    "Errors for ID numbers held twice in the file or already registered."
    Identifier = Pool().get('party.identifier')
    IdType = Pool().get('spp.id.type')
    first_row, errors = {}, []
    keyed = []
    for member in members:
        for column, type_, code in member.identifiers:
            # As stored: 76.086.428-5 and 760864285 are one RUT.
            key = Identifier.stored_unique_code(type_, code)
            if not key:
                continue
            keyed.append((key, column, member, type_, code))
            if key in first_row:
                errors.append(RowError(member.row, column, _msg(
                            'id_duplicate_file',
                            type=IdType.by_code()[type_].name, code=code,
                            row=first_row[key]), member.household))
            else:
                first_row[key] = member.row
    held = registered_unique_codes(first_row)
    for key, column, member, type_, code in keyed:
        if key in held:
            errors.append(RowError(member.row, column, _msg(
                        'id_duplicate_db', type=IdType.by_code()[type_].name,
                        code=code), member.household))
    return errors


def registered_unique_codes(keys):
    "The unique codes among `keys` that identifiers already hold."
    Identifier = Pool().get('party.identifier')
    table = Identifier.__table__()
    cursor = Transaction().connection.cursor()
    held = set()
    for sub_keys in grouped_slice(list(keys), backend.MAX_QUERY_PARAMS):
        cursor.execute(*table.select(table.unique_code,
                where=table.unique_code.in_(list(sub_keys))))
        held.update(code for code, in cursor)
    return held


def check_household(household, reference):
    """Errors of a household as a whole: one head, unique roles held once,
    one name; and set its area (the head's, else the first given)."""
    errors = []
    members = household.members

    def error(member, column, name, **variables):
        errors.append(RowError(member.row, column,
                _msg(name, household=household.ref, **variables),
                household.ref))

    if not any(HEAD in m.roles for m in members):
        error(members[0], 'role', 'no_head')
    for code, (_, unique) in reference.roles.items():
        holders = [m for m in members if code in m.roles]
        if unique and len(holders) > 1:
            for member in holders[1:]:
                error(member, 'role', 'unique_role', role=code,
                    row=holders[0].row)
    named = [m for m in members if m.household_name]
    for member in named[1:]:
        if member.household_name != named[0].household_name:
            error(member, 'household_name', 'household_name',
                row=named[0].row)
    household.name = (named[0].household_name if named else '')
    ordered = sorted(members, key=lambda m: HEAD not in m.roles)
    area_codes = [m.area_code for m in ordered if m.area_code]
    household.area = reference.areas.get(area_codes[0] if area_codes else '')
    if reference.area_scope is not None:
        for member in members:
            area = reference.areas.get(member.area_code, household.area)
            if member.area_code and area is None:
                continue  # unknown code, already reported
            if area not in reference.area_scope:
                error(member, 'area_code', 'area_scope',
                    code=member.area_code or '-')
    return errors


@dataclass
class ImportPlan:
    rows: int
    households: dict  # ref: Household, in file order
    errors: list
    reference: Reference | None = None

    @property
    def invalid(self):
        "References of the households with at least one error."
        return {e.household for e in self.errors}


def validate(header, rows):
    "Check the header and every row; return an ImportPlan."
    reference = load_reference(rows)
    errors = check_header(header, reference)
    if errors:
        return ImportPlan(len(rows), {}, errors, reference)
    households, members = {}, []
    for number, values in rows:
        member, row_errors = parse_row(number, values, reference)
        errors.extend(row_errors)
        members.append(member)
        if member.household:
            households.setdefault(member.household,
                Household(member.household)).members.append(member)
    errors.extend(check_identifiers(members))
    for household in households.values():
        errors.extend(check_household(household, reference))
    errors.sort(key=lambda e: (e.row, e.column))
    return ImportPlan(len(rows), households, errors, reference)


def skipped_rows(plan):
    "Report lines for the valid rows of the households skipped."
    error_rows = {e.row for e in plan.errors}
    lines = []
    for ref in sorted(plan.invalid & plan.households.keys(),
            key=lambda r: plan.households[r].members[0].row):
        members = plan.households[ref].members
        bad = sorted({m.row for m in members} & error_rows)
        for member in members:
            if member.row not in error_rows:
                lines.append(RowError(member.row, '', _msg(
                            'household_skipped', household=ref,
                            rows=', '.join(map(str, bad))), ref))
    return lines


# Writing ---------------------------------------------------------------

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


def create_households(households, reference, batch_size=BATCH_SIZE):
    """Write the households (validated) `batch_size` individuals at a time
    with set-based SQL (registry_import_bulk), or through the ORM when a
    trigger watches the creation of registry records. Return the group
    ids."""
    from . import registry_import_bulk as bulk
    if not bulk.bulk_supported():
        return create_households_orm(households, reference, batch_size)
    group_ids = []
    for batch in household_batches(households, batch_size):
        group_ids.extend(bulk.write_households(batch, reference)[0])
    return group_ids


def household_batches(households, batch_size):
    "Lists of whole households of about `batch_size` individuals."
    batch, size = [], 0
    for household in households:
        batch.append(household)
        size += len(household.members)
        if size >= batch_size:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


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
                group_values(h, reference) for h in households]), batch_size)
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


def with_party_codes(vlist):
    """Give the parties of `vlist` their codes from the party sequence in
    one draw; party's create draws them one record, and one query, at a
    time."""
    Party = Pool().get('party.party')
    sequence = Party._code_sequence() if vlist else None
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


def import_registrants(data, filename=None, skip_invalid=False,
        batch_size=BATCH_SIZE):
    """Validate a CSV or XLSX file and import it; return an ImportResult.

    Nothing is written when a row is invalid, unless `skip_invalid`: then
    each household is imported if all its rows are valid and skipped whole
    otherwise, its other rows reported as skipped."""
    result = ImportResult()
    try:
        header, rows = read_table(data, filename)
    except ImportFileError as exception:
        result.errors.append(RowError('', '', exception.message))
        return result
    plan = validate(header, rows)
    result.rows, result.errors = plan.rows, list(plan.errors)
    invalid = plan.invalid
    if not plan.households or (invalid and not skip_invalid):
        result.skipped = len(plan.households)
        return result
    households = [h for r, h in plan.households.items() if r not in invalid]
    result.skipped = len(plan.households) - len(households)
    result.errors = sorted(result.errors + skipped_rows(plan),
        key=lambda e: (e.row, e.column))
    result.group_ids = create_households(
        households, plan.reference, batch_size)
    result.households = len(households)
    result.individuals = sum(len(h.members) for h in households)
    return result


def error_report(errors):
    "The errors as CSV text: row, column, household_ref, reason."
    output = io.StringIO()
    writer = csv.writer(output, lineterminator='\n')
    writer.writerow(REPORT_COLUMNS)
    for error in errors:
        writer.writerow([error.row, error.column, error.household,
                error.reason])
    return output.getvalue()
