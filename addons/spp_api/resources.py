"""The REST API's resources, declared once.

Each schema is a dict of `Field`s; each operation names its method, path,
scope, query parameters, request and response schemas and its handler.
The routes validate requests with `validate_body` / `validate_query`
against these declarations, and `openapi.document()` turns the same
declarations into the OpenAPI description: the two cannot drift apart."""
import contextvars
import datetime as dt
import re
from dataclasses import dataclass, field as dc_field

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

# Codes (areas, genders, roles, ID types) and handles are plain tokens:
# anything else is refused before it reaches a query.
CODE_PATTERN = r'^[A-Za-z0-9_.\-]{1,64}$'
ID_TYPE_PATTERN = r'^[a-z][a-z0-9_]{0,63}$'
ID_VALUE_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63}$'
ID_FILTER_PATTERN = (
    r'^[a-z][a-z0-9_]{0,63}\|[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63}$')
HANDLE_PATTERN = (
    r'^([A-Za-z0-9_.\-]{1,64}'
    r'|[a-z][a-z0-9_]{0,63}\|[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63})$')
CURSOR_PATTERN = r'^[A-Za-z0-9_\-]{1,64}$'
TEXT_MAX = 200


@dataclass
class Field:
    "One property of a resource, with what the API accepts for it."
    type: str                       # string, integer, boolean, array, object
    description: str = ''
    required: bool = False
    nullable: bool = False
    format: str | None = None       # date, date-time
    pattern: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    enum: list | None = None
    items: object = None            # Field or schema name (str) for arrays
    ref: str | None = None          # schema name for objects
    min_items: int | None = None
    max_items: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    requires: str | None = None     # model that must exist (extras)


# The models of the database being served (None: all), so that fields and
# operations of addons that are not activated are unknown to the API.
AVAILABLE = contextvars.ContextVar('spp_api_available', default=None)


def available(requires):
    models = AVAILABLE.get()
    return not requires or models is None or requires in models


def schema_fields(schema_name):
    "The fields of a schema on the database being served."
    return {n: f for n, f in SCHEMAS[schema_name].items()
        if available(f.requires)}


def custom_fields(description):
    return Field('object', description, requires='spp.custom_field')


def text(description, required=False, max_length=TEXT_MAX, **kw):
    return Field('string', description, required=required,
        max_length=max_length, **kw)


def code(description, required=False, nullable=False):
    return Field('string', description, required=required,
        nullable=nullable, pattern=CODE_PATTERN)


CIVIL_STATUSES = [
    'single', 'married', 'partnered', 'divorced', 'separated', 'widowed']

SCHEMAS = {
    'IdentifierValue': {
        'type': Field('string', "ID type code (e.g. national_id).",
            required=True, pattern=ID_TYPE_PATTERN),
        'value': Field('string', "The number as written on the document.",
            required=True, pattern=ID_VALUE_PATTERN),
        },
    'Individual': {
        'code': Field('string', "Stable registrant reference.",
            required=True),
        'name': Field('string', "Full name.", required=True),
        'family_name': Field('string', "", nullable=True),
        'given_name': Field('string', "", nullable=True),
        'additional_name': Field('string', "", nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': Field('string', "Gender code.", nullable=True),
        'civil_status': Field('string', "", nullable=True),
        'occupation': Field('string', "", nullable=True),
        'disability': Field('boolean', "", required=True),
        'area': Field('string', "Area code.", nullable=True),
        'registration_date': Field('string', "", nullable=True,
            format='date'),
        'disabled': Field('boolean', "Disabled registrants are kept as "
            "history.", required=True),
        'identifiers': Field('array', "", required=True,
            items='IdentifierValue'),
        'custom_fields': custom_fields("Custom field values by name "
            "(spp_custom_field)."),
        'modified': Field('string', "Last change (UTC).", required=True,
            format='date-time'),
        },
    'IndividualCreate': {
        'family_name': text("Family name.", required=True, min_length=1),
        'given_name': text("Given name.", required=True, min_length=1),
        'additional_name': text("Middle name, patronymic...",
            nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': code("Gender code (female, male...).", nullable=True),
        'civil_status': Field('string', "", nullable=True,
            enum=CIVIL_STATUSES),
        'occupation': text("", nullable=True),
        'disability': Field('boolean', ""),
        'area': code("Area code.", nullable=True),
        'identifiers': Field('array', "ID documents.",
            items='IdentifierValue', max_items=10),
        'custom_fields': custom_fields("Custom field values by name; "
            "checked against each field's type."),
        },
    'IndividualUpdate': {
        'family_name': text("Family name.", min_length=1),
        'given_name': text("Given name.", min_length=1),
        'additional_name': text("", nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': code("Gender code.", nullable=True),
        'civil_status': Field('string', "", nullable=True,
            enum=CIVIL_STATUSES),
        'occupation': text("", nullable=True),
        'disability': Field('boolean', ""),
        'area': code("Area code.", nullable=True),
        'custom_fields': custom_fields("Custom field values to set "
            "(others are kept); null clears a value."),
        },
    'Member': {
        'individual': Field('string', "Code of the individual.",
            required=True),
        'name': Field('string', "", required=True),
        'roles': Field('array', "Role codes (head, spouse, child...).",
            required=True, items=Field('string')),
        'start_date': Field('string', "", nullable=True, format='date'),
        'end_date': Field('string', "", nullable=True, format='date'),
        },
    'Group': {
        'code': Field('string', "Stable registrant reference.",
            required=True),
        'name': Field('string', "", required=True),
        'kind': Field('string', "Group kind code.", nullable=True),
        'area': Field('string', "Area code.", nullable=True),
        'member_count': Field('integer', "Active members.", required=True),
        'child_count': Field('integer', "", required=True),
        'elderly_count': Field('integer', "", required=True),
        'disabled': Field('boolean', "", required=True),
        'identifiers': Field('array', "", required=True,
            items='IdentifierValue'),
        'members': Field('array', "", required=True, items='Member'),
        'custom_fields': custom_fields("Custom field values by name."),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'MemberCreate': {
        'individual': Field('object', "The new member.", required=True,
            ref='IndividualCreate'),
        'roles': Field('array', "Role codes.", max_items=5,
            items=Field('string', pattern=CODE_PATTERN)),
        'start_date': Field('string', "", nullable=True, format='date'),
        },
    'GroupCreate': {
        'name': text("Household name.", required=True, min_length=1),
        'kind': code("Group kind code (default household).",
            nullable=True),
        'area': code("Area code.", nullable=True),
        'identifiers': Field('array', "", items='IdentifierValue',
            max_items=10),
        'members': Field('array', "The members, created with the group.",
            required=True, items='MemberCreate', min_items=1,
            max_items=50),
        'custom_fields': custom_fields("Custom field values of the "
            "group."),
        },
    'GroupUpdate': {
        'name': text("Household name.", min_length=1),
        'kind': code("Group kind code.", nullable=True),
        'area': code("Area code (the members keep theirs).",
            nullable=True),
        'custom_fields': custom_fields("Custom field values to set "
            "(others are kept); null clears a value."),
        },
    'Membership': {
        'group': Field('string', "Group code.", required=True),
        'individual': Field('string', "Individual code.", required=True),
        'roles': Field('array', "", required=True, items=Field('string')),
        'start_date': Field('string', "", nullable=True, format='date'),
        'end_date': Field('string', "", nullable=True, format='date'),
        },
    'Identifier': {
        'registrant': Field('string', "Registrant code.", required=True),
        'registrant_type': Field('string', "", required=True,
            enum=['individual', 'group']),
        'type': Field('string', "", required=True),
        'value': Field('string', "", required=True),
        },
    'Area': {
        'code': Field('string', "", required=True),
        'name': Field('string', "", required=True),
        'parent': Field('string', "Parent area code.", nullable=True),
        'kind': Field('string', "Area kind code.", nullable=True),
        },
    }


@dataclass
class Param:
    "A query parameter of a list endpoint."
    name: str
    description: str
    type: str = 'string'
    pattern: str | None = None
    format: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: list | None = None


PAGE_PARAMS = [
    Param('limit', f"Page size (1-{MAX_PAGE_SIZE}, default "
        f"{DEFAULT_PAGE_SIZE}).", type='integer', minimum=1,
        maximum=MAX_PAGE_SIZE),
    Param('cursor', "Opaque cursor: `next_cursor` of the previous page.",
        pattern=CURSOR_PATTERN),
    ]
REGISTRANT_FILTERS = [
    Param('id', "An ID as `type|value`, e.g. `national_id|1234567897`.",
        pattern=ID_FILTER_PATTERN),
    Param('area', "Area code; registrants of the area and the areas "
        "below it.", pattern=CODE_PATTERN),
    Param('modified_since', "Created or changed at or after this "
        "instant (ISO 8601, UTC if no offset).", format='date-time'),
    ]
HANDLE_PARAM = Param('handle', "The registrant's `code`, or one of its "
    "IDs as `type|value`.", pattern=HANDLE_PATTERN)


@dataclass
class Operation:
    "One method on one path, as routed and as documented."
    method: str
    path: str
    scope: str | None
    summary: str
    handler: str
    params: list = dc_field(default_factory=list)
    path_params: list = dc_field(default_factory=list)
    request: str | None = None
    response: str | None = None
    list_response: bool = False
    status: int = 200
    other_statuses: list = dc_field(default_factory=list)
    requires: str | None = None     # model that must exist (extras)


OPERATIONS = [
    Operation('GET', '/individuals', 'individual:read',
        "List individuals", 'list_individuals',
        params=REGISTRANT_FILTERS + PAGE_PARAMS, response='Individual',
        list_response=True),
    Operation('POST', '/individuals', 'individual:create',
        "Create an individual", 'create_individual',
        request='IndividualCreate', response='Individual', status=201),
    Operation('GET', '/individuals/{handle}', 'individual:read',
        "Get an individual", 'get_individual',
        path_params=[HANDLE_PARAM], response='Individual'),
    Operation('PATCH', '/individuals/{handle}', 'individual:update',
        "Update an individual", 'update_individual',
        path_params=[HANDLE_PARAM], request='IndividualUpdate',
        response='Individual'),
    Operation('GET', '/groups', 'group:read',
        "List groups (households) with their members", 'list_groups',
        params=REGISTRANT_FILTERS + PAGE_PARAMS, response='Group',
        list_response=True),
    Operation('POST', '/groups', 'group:create',
        "Create a household with its members in one call", 'create_group',
        request='GroupCreate', response='Group', status=201),
    Operation('GET', '/groups/{handle}', 'group:read',
        "Get a group with its members", 'get_group',
        path_params=[HANDLE_PARAM], response='Group'),
    Operation('PATCH', '/groups/{handle}', 'group:update',
        "Update a group's own fields (name, kind, area, custom fields)",
        'update_group', path_params=[HANDLE_PARAM], request='GroupUpdate',
        response='Group'),
    Operation('GET', '/memberships', 'membership:read',
        "List group memberships", 'list_memberships',
        params=[
            Param('group', "Group handle (code or `type|value`).",
                pattern=HANDLE_PATTERN),
            Param('individual', "Individual handle.",
                pattern=HANDLE_PATTERN),
            Param('current', "Only memberships in force today.",
                enum=['true', 'false']),
            ] + PAGE_PARAMS,
        response='Membership', list_response=True),
    Operation('GET', '/identifiers', 'identifier:read',
        "List registrants' IDs", 'list_identifiers',
        params=[
            Param('type', "ID type code.", pattern=ID_TYPE_PATTERN),
            Param('registrant', "Registrant handle.",
                pattern=HANDLE_PATTERN),
            ] + PAGE_PARAMS,
        response='Identifier', list_response=True),
    Operation('GET', '/areas', 'area:read', "List areas", 'list_areas',
        params=[
            Param('parent', "Areas directly below this area code.",
                pattern=CODE_PATTERN),
            ] + PAGE_PARAMS,
        response='Area', list_response=True),
    Operation('GET', '/areas/{code}', 'area:read', "Get an area",
        'get_area', path_params=[
            Param('code', "Area code.", pattern=CODE_PATTERN)],
        response='Area'),
    ]

from .resources_programs import (  # noqa: E402 (uses the names above)
    PROGRAM_OPERATIONS, PROGRAM_SCHEMAS)

SCHEMAS.update(PROGRAM_SCHEMAS)
OPERATIONS += PROGRAM_OPERATIONS
# Models whose presence changes the API (operations and fields).
OPTIONAL_MODELS = sorted({o.requires for o in OPERATIONS if o.requires}
    | {f.requires for s in SCHEMAS.values() for f in s.values()
        if f.requires})

SCOPES = sorted({o.scope for o in OPERATIONS if o.scope}
    | {'registry:search'})


class ValidationFailure(Exception):
    "A request that does not match its declaration: answered with 422."

    def __init__(self, message, status=422, code='validation_error'):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def _check_value(value, spec, where):
    "Check one value against a Field; return the value converted."
    if isinstance(spec, str):
        if not isinstance(value, dict):
            raise ValidationFailure(f"{where}: an object is expected.")
        return validate_body(value, spec, where)
    if value is None:
        if spec.nullable:
            return None
        raise ValidationFailure(f"{where}: may not be null.")
    if spec.type == 'string':
        if not isinstance(value, str):
            raise ValidationFailure(f"{where}: a string is expected.")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ValidationFailure(
                f"{where}: at most {spec.max_length} characters.")
        if spec.min_length is not None and len(value.strip()) < spec.min_length:
            raise ValidationFailure(f"{where}: may not be empty.")
        if spec.pattern and not re.fullmatch(spec.pattern.strip('^$'), value):
            raise ValidationFailure(f"{where}: {value!r} is not valid here.")
        if spec.enum and value not in spec.enum:
            raise ValidationFailure(
                f"{where}: one of {', '.join(spec.enum)} is expected.")
        if spec.format == 'date':
            return parse_date(value, where)
        if spec.format == 'date-time':
            return parse_datetime(value, where)
        if '\x00' in value:
            raise ValidationFailure(f"{where}: NUL characters refused.")
        return value
    if spec.type == 'boolean':
        if not isinstance(value, bool):
            raise ValidationFailure(f"{where}: true or false is expected.")
        return value
    if spec.type == 'integer':
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailure(f"{where}: an integer is expected.")
        return value
    if spec.type == 'object' and spec.ref is None:
        return _check_map(value, where)
    if spec.type == 'object':
        return _check_value(value, spec.ref, where)
    if spec.type == 'array':
        if not isinstance(value, list):
            raise ValidationFailure(f"{where}: an array is expected.")
        if spec.min_items is not None and len(value) < spec.min_items:
            raise ValidationFailure(
                f"{where}: at least {spec.min_items} item(s).")
        if spec.max_items is not None and len(value) > spec.max_items:
            raise ValidationFailure(
                f"{where}: at most {spec.max_items} items.")
        return [_check_value(v, spec.items, f'{where}[{i}]')
            for i, v in enumerate(value)]
    raise ValidationFailure(f"{where}: unsupported value.")


def _check_map(value, where):
    "A free-form object of scalar values (custom fields)."
    if not isinstance(value, dict):
        raise ValidationFailure(f"{where}: an object is expected.")
    if len(value) > 100:
        raise ValidationFailure(f"{where}: at most 100 entries.")
    for key, item in value.items():
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]{0,63}', key):
            raise ValidationFailure(f"{where}: {key!r} is not a field name.")
        if not (item is None or isinstance(item, (str, int, float, bool))):
            raise ValidationFailure(
                f"{where}.{key}: a text, number, boolean or null is "
                "expected.")
        if isinstance(item, str) and (
                len(item) > 1000 or '\x00' in item):
            raise ValidationFailure(f"{where}.{key}: text refused.")
    return value


def validate_body(body, schema_name, where='body'):
    """Check a decoded JSON body against an input schema: unknown fields,
    missing required ones, types, patterns and formats. Return a dict of
    converted values (dates as datetime.date)."""
    schema = schema_fields(schema_name)
    if not isinstance(body, dict):
        raise ValidationFailure(f"{where}: a JSON object is expected.")
    unknown = sorted(set(body) - set(schema))
    if unknown:
        raise ValidationFailure(
            f"{where}: unknown field(s): {', '.join(unknown)}.")
    missing = [n for n, f in schema.items() if f.required and n not in body]
    if missing:
        raise ValidationFailure(
            f"{where}: missing field(s): {', '.join(missing)}.")
    return {name: _check_value(value, schema[name], f'{where}.{name}')
        for name, value in body.items()}


def validate_query(args, params):
    """Check query parameters (a werkzeug MultiDict) against an
    operation's declared parameters; unknown or repeated ones are
    refused. Return {name: value}."""
    declared = {p.name: p for p in params}
    values = {}
    for name in args.keys():
        if name not in declared:
            raise ValidationFailure(
                f"Unknown query parameter {name!r}; accepted: "
                f"{', '.join(declared) or 'none'}.")
        raw = args.getlist(name)
        if len(raw) > 1:
            raise ValidationFailure(f"Query parameter {name!r} repeated.")
        values[name] = check_param(raw[0], declared[name])
    return values


def check_param(raw, param, where=None):
    where = where or param.name
    if param.type == 'integer':
        if not re.fullmatch(r'-?\d{1,9}', raw):
            raise ValidationFailure(f"{where}: an integer is expected.")
        value = int(raw)
        if param.minimum is not None and value < param.minimum:
            raise ValidationFailure(f"{where}: at least {param.minimum}.")
        if param.maximum is not None and value > param.maximum:
            raise ValidationFailure(f"{where}: at most {param.maximum}.")
        return value
    if param.pattern and not re.fullmatch(param.pattern.strip('^$'), raw):
        raise ValidationFailure(f"{where}: {raw!r} is not valid here.")
    if param.enum and raw not in param.enum:
        raise ValidationFailure(
            f"{where}: one of {', '.join(param.enum)} is expected.")
    if param.format == 'date-time':
        return parse_datetime(raw, where)
    return raw


def parse_date(value, where):
    if not re.fullmatch(r'\d{4}-\d{2}-\d{2}', value):
        raise ValidationFailure(f"{where}: a date YYYY-MM-DD is expected.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailure(f"{where}: {value!r} is not a date.")


def parse_datetime(value, where):
    "An ISO 8601 instant as a naive UTC datetime (how trytond stores them)."
    try:
        if not re.fullmatch(r'\d{4}-\d{2}-\d{2}([T ][0-9:.]+'
                r'(Z|[+-]\d{2}:?\d{2})?)?', value):
            raise ValueError
        instant = dt.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise ValidationFailure(
            f"{where}: an ISO 8601 date-time is expected.")
    if instant.tzinfo:
        instant = instant.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return instant
