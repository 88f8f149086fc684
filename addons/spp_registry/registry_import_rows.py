"""The rows of a registry import (registry_import): the codes they may
refer to, the header, and each row on its own — its columns parsed into
the values of an individual, or row errors naming the column.

check_header and parse_row are looked up in this module by their callers
(registry_import_plan) so that other addons can extend them
(spp_custom_field reads its columns this way)."""
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from trytond import backend
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.tools.email_ import (
    EmailNotValidError, normalize_email, validate_email)
from trytond.transaction import Transaction

from .spreadsheet import MAX_CELL, cell_error, printable

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

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


def _msg(name, **variables):
    return gettext(f'spp_registry.msg_import_{name}', **variables)


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
        problem = cell_error(column)
        if problem:
            errors.append(RowError(1, printable(column), cell_message(
                        problem, column)))
            continue
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
    raw, cell_errors = values, []
    for column, value in raw.items():
        problem = cell_error(value)
        if problem:
            cell_errors.append((column, problem))
    if cell_errors:
        # The other checks see the row without what the database cannot
        # store, so that the row's errors can be stored and shown.
        values = {column: printable(value, MAX_CELL)
            for column, value in raw.items()}
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
    for column, problem in cell_errors:
        errors.append(RowError(number, column,
                cell_message(problem, raw[column]), household))
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


def cell_message(problem, value):
    "The row error of a cell spreadsheet.cell_error() refuses."
    if problem == 'nul':
        return _msg('nul')
    return _msg('cell_size', length=len(value), limit=MAX_CELL)


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

