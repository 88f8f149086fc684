"""The checks of a registry import (registry_import) across rows: ID
numbers against the file and the registry, households as a whole; and
validate(), which runs every check and gives the ImportPlan the writing
follows."""
from dataclasses import dataclass, field

from trytond import backend
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import registry_import_rows as rows_
from .registry_import_rows import HEAD, Reference, RowError, _msg


@dataclass
class Household:
    ref: str
    members: list = field(default_factory=list)
    name: str = ''
    area: int | None = None


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
    reference = rows_.load_reference(rows)
    errors = rows_.check_header(header, reference)
    if errors:
        return ImportPlan(len(rows), {}, errors, reference)
    households, members = {}, []
    for number, values in rows:
        member, row_errors = rows_.parse_row(number, values, reference)
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


