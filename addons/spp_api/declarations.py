"""The building blocks of the REST API's declarations (resources.py):
`Field` (a property of a schema), `Param` (a query or path parameter),
`Operation` (a method on a path), and the token patterns they share.

The routes validate with these declarations (validation.py) and openapi.py
describes them: a pattern here is both what the server accepts and what
the OpenAPI document says."""
import contextvars
import re
from dataclasses import dataclass, field as dc_field

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

# Codes (areas, genders, roles, ID types) and handles are plain tokens:
# anything else is refused before it reaches a query. ID_TYPE stands for
# the ID type of a pattern: syntax for the server (which then checks the
# code against the database's ID types), the database's codes themselves
# in the OpenAPI document (`with_id_types()`).
ID_TYPE = '<ID_TYPE>'
ID_TYPE_SYNTAX = r'[a-z][a-z0-9_]{0,63}'
ID_VALUE_SYNTAX = r'[A-Za-z0-9][A-Za-z0-9/ .\-]{0,63}'
CODE_PATTERN = r'^[A-Za-z0-9_.\-]{1,64}$'
ID_TYPE_PATTERN = f'^{ID_TYPE}$'
ID_VALUE_PATTERN = f'^{ID_VALUE_SYNTAX}$'
ID_FILTER_PATTERN = f'^{ID_TYPE}\\|{ID_VALUE_SYNTAX}$'
HANDLE_PATTERN = (
    r'^([A-Za-z0-9_.\-]{1,64}' f'|{ID_TYPE}\\|{ID_VALUE_SYNTAX})$')


def _cursor_pattern():
    """Exactly the cursors `handlers.encode_cursor()` makes: unpadded
    URL-safe base64 of `v1:` and 1 to 18 ASCII digits. "v1:" encodes as
    djE6; three digits as four characters, a last one or two as two or
    three (the character sets follow from the bits of '0'...'9')."""
    lead = r'(?:[MN][DTjz]|O[DT])'
    three = lead + r'[AEIMQUYcgk][w-z0-5]'
    one = r'(?:[MN][AQgw]|O[AQ])'
    two = lead + r'[AEIMQUYcgk]'
    return (f'^djE6(?:(?:{three}){{1,6}}'
        f'|(?:{three}){{0,5}}(?:{one}|{two}))$')


CURSOR_PATTERN = _cursor_pattern()
TEXT_MAX = 200


def with_id_types(pattern, id_types=None):
    """`pattern` with its ID type placeholder replaced: by the syntax of a
    type (None), or by the alternatives of `id_types` (codes)."""
    if pattern is None or ID_TYPE not in pattern:
        return pattern
    if not id_types:
        return pattern.replace(ID_TYPE, ID_TYPE_SYNTAX)
    alternatives = '|'.join(re.escape(c) for c in sorted(id_types))
    return pattern.replace(ID_TYPE, f'(?:{alternatives})')


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
    # Custom field values of this registrant type (free-form objects).
    custom_for: str | None = None


# The models of the database being served (None: all), so that fields and
# operations of addons that are not activated are unknown to the API.
AVAILABLE = contextvars.ContextVar('spp_api_available', default=None)


def available(requires):
    models = AVAILABLE.get()
    return not requires or models is None or requires in models


def custom_fields(description, registrant_type=None):
    "Custom field values (spp_custom_field) of `registrant_type` (input)."
    return Field('object', description, requires='spp.custom_field',
        custom_for=registrant_type)


def text(description, required=False, max_length=TEXT_MAX, **kw):
    return Field('string', description, required=required,
        max_length=max_length, **kw)


def code(description, required=False, nullable=False):
    return Field('string', description, required=required,
        nullable=nullable, pattern=CODE_PATTERN)


@dataclass
class Param:
    "A query or path parameter."
    name: str
    description: str
    type: str = 'string'
    pattern: str | None = None
    format: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: list | None = None
    # (status, code) of the refusal of a value not matching the pattern,
    # when it is not 422 validation_error.
    invalid: tuple | None = None


PAGE_PARAMS = [
    Param('limit', f"Page size (1-{MAX_PAGE_SIZE}, default "
        f"{DEFAULT_PAGE_SIZE}).", type='integer', minimum=1,
        maximum=MAX_PAGE_SIZE),
    Param('cursor', "Opaque cursor: `next_cursor` of the previous page.",
        pattern=CURSOR_PATTERN, invalid=(400, 'bad_cursor')),
    ]


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
    # Answers 404 without a path parameter (a lookup by body).
    not_found: bool = False
    # Creates ID numbers: refused for a duplicate one, which is rate
    # limited (routes.check_unique_refusals).
    unique_ids: bool = False
    # Bytes the body may hold, or a function giving them (configured);
    # None: routes.MAX_BODY.
    max_body: object = None
