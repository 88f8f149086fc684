"""The OpenAPI 3 description, generated from `resources`.

It is as strict as the routes: input schemas are closed
(`additionalProperties: false`), as the routes refuse unknown fields; the
ID types and the custom fields are those of the database served (the
routes refuse others), patterns are the routes' own; every operation
documents the errors the routes answer."""
import contextvars
import functools

from .declarations import ID_TYPE_PATTERN, with_id_types
from .resources import (
    AVAILABLE, MAX_PAGE_SIZE, OPERATIONS, SCHEMAS, SCOPES, Field,
    schema_fields)
from .resources_change_request import CHANGE_REQUEST_SCHEMAS
from .resources_grievance import GRIEVANCE_SCHEMAS
from .resources_programs import PROGRAM_SCHEMAS

# What the document describes of the database's data while it is built:
# {'id_types': (code, ...), 'custom': ((name, definition items), ...)}.
DATA = contextvars.ContextVar('spp_api_openapi_data', default={})
# JSON Schema of a custom field's value by its type (null clears it).
CUSTOM_TYPES = {
    'char': {'type': 'string', 'maxLength': 1000},
    'integer': {'type': 'integer'},
    'numeric': {'type': 'number'},
    'boolean': {'type': 'boolean'},
    'date': {'type': 'string', 'format': 'date'},
    'many2one': {'type': 'string', 'maxLength': 1000,
        'description': "The code of the linked record."},
    }

# Schemas of optional addons: documented where their operations are.
OPTIONAL_SCHEMA_NAMES = (set(PROGRAM_SCHEMAS) | set(CHANGE_REQUEST_SCHEMAS)
    | set(GRIEVANCE_SCHEMAS))


def nested_closure(names):
    "The schemas `names` and the schemas they nest, at any depth."
    names, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name in names:
            continue
        names.add(name)
        for spec in SCHEMAS[name].values():
            for nested in [spec.ref, spec.items]:
                if isinstance(nested, str):
                    pending.append(nested)
    return names


# The request schemas of the operations and the schemas they nest.
INPUT_SCHEMAS = nested_closure(o.request for o in OPERATIONS if o.request)
VERSION = '1.0.0'

ERRORS = {
    400: "Malformed request (bad JSON, bad cursor).",
    401: "Missing, invalid, expired or revoked key.",
    403: "The key lacks the scope, or the area is not the client's.",
    404: "Not found (or outside the client's areas: the same answer).",
    405: "Method not allowed on this path.",
    409: "Conflicts with the record's state (e.g. a settled payment).",
    413: "Body too large.",
    415: "The body is not application/json.",
    422: "The request does not satisfy the API's rules "
    "(unknown field, wrong type, invalid ID, page size...).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The database is busy; retry.",
    }


def custom_schema(spec):
    """The custom fields an input accepts: each writable field of the
    registrant type, typed; no other name."""
    properties = {}
    for name, definition in DATA.get().get('custom', ()):
        definition = dict(definition)
        if definition['applies_to'] not in {spec.custom_for, 'both'}:
            continue
        if definition['type'] == 'selection':
            schema = {'type': 'string',
                'enum': [k for k, _ in definition['selection']]}
        else:
            schema = dict(CUSTOM_TYPES.get(definition['type'], {}))
        schema['nullable'] = True
        if 'enum' in schema:
            schema['enum'].append(None)
        properties[name] = schema
    schema = {'type': 'object', 'properties': properties,
        'additionalProperties': False}
    if spec.description:
        schema['description'] = spec.description
    return schema


def id_type_schema(schema):
    "The ID type codes of the database instead of their syntax."
    id_types = DATA.get().get('id_types')
    if schema.get('pattern') == ID_TYPE_PATTERN and id_types:
        del schema['pattern']
        schema['enum'] = list(id_types)
    elif 'pattern' in schema:
        schema['pattern'] = with_id_types(schema['pattern'], id_types)
    return schema


def field_schema(spec):
    if isinstance(spec, str):
        return {'$ref': f'#/components/schemas/{spec}'}
    if spec.type == 'object' and spec.custom_for and 'custom' in DATA.get():
        return custom_schema(spec)
    if spec.type == 'object' and spec.ref is None:
        schema = {'type': 'object', 'additionalProperties': {
                'nullable': True, 'oneOf': [{'type': 'string'},
                    {'type': 'number'}, {'type': 'boolean'}]}}
        if spec.description:
            schema['description'] = spec.description
        if spec.nullable:
            schema['nullable'] = True
        return schema
    if spec.type == 'object':
        schema = {'$ref': f'#/components/schemas/{spec.ref}'}
        if spec.description:
            schema = {'allOf': [schema], 'description': spec.description}
        return schema
    schema = {'type': spec.type}
    for key, attr in [('description', 'description'), ('format', 'format'),
            ('pattern', 'pattern'), ('maxLength', 'max_length'),
            ('enum', 'enum'), ('minItems', 'min_items'),
            ('maxItems', 'max_items'), ('minimum', 'minimum'),
            ('maximum', 'maximum')]:
        value = getattr(spec, attr)
        if value not in (None, ''):
            schema[key] = list(value) if key == 'enum' else value
    if spec.min_length:
        # The routes refuse blank text; a pattern says so in the schema.
        schema['minLength'] = spec.min_length
        schema.setdefault('pattern', r'\S')
    if spec.type == 'array':
        schema['items'] = field_schema(spec.items or Field('string'))
    id_type_schema(schema)
    if spec.nullable:
        schema['nullable'] = True
        if 'enum' in schema:
            schema['enum'].append(None)
    return schema


def object_schema(name):
    fields = schema_fields(name)
    schema = {
        'type': 'object',
        'properties': {n: field_schema(f) for n, f in fields.items()},
        }
    required = [n for n, f in fields.items() if f.required]
    if required:
        schema['required'] = required
    if name in INPUT_SCHEMAS:
        schema['additionalProperties'] = False
    return schema


def param_schema(param):
    schema = {'type': param.type}
    for key, attr in [('pattern', 'pattern'), ('format', 'format'),
            ('minimum', 'minimum'), ('maximum', 'maximum'),
            ('enum', 'enum')]:
        value = getattr(param, attr)
        if value is not None:
            schema[key] = value
    return id_type_schema(schema)


def operation_object(operation):
    content = 'application/json'
    error = {'content': {content: {
                'schema': {'$ref': '#/components/schemas/Error'}}}}
    if operation.list_response:
        body = {'type': 'object', 'required': ['data', 'next_cursor'],
            'properties': {
                'data': {'type': 'array', 'items': {
                        '$ref': f'#/components/schemas/{operation.response}'}},
                'next_cursor': {'type': 'string', 'nullable': True},
                }}
    else:
        body = {'$ref': f'#/components/schemas/{operation.response}'}
    statuses = [400, 401, 403, 405, 422, 429, 503]
    success = {str(s): {'description': "Success.",
            'content': {content: {'schema': body}}}
        for s in [operation.status, *operation.other_statuses]}
    if operation.path_params or operation.not_found:
        statuses.append(404)
    if operation.request:
        statuses += [409, 413, 415]
    result = {
        'operationId': operation.handler,
        'summary': operation.summary,
        'tags': [operation.path.split('/')[1]],
        'parameters': [{
                'name': p.name, 'in': 'path', 'required': True,
                'description': p.description, 'schema': param_schema(p),
                } for p in operation.path_params] + [{
                'name': p.name, 'in': 'query', 'required': False,
                'description': p.description, 'schema': param_schema(p),
                } for p in operation.params],
        'responses': {
            **success,
            **{str(s): {'description': ERRORS[s], **error}
                for s in sorted(statuses)},
            },
        'security': [{'bearerAuth': []}],
        }
    if operation.scope:
        result['description'] = f"Scope: `{operation.scope}`."
    if operation.request:
        result['requestBody'] = {
            'required': True,
            'content': {content: {'schema': {
                        '$ref': f'#/components/schemas/{operation.request}'}}},
            }
    return result


@functools.lru_cache(maxsize=64)
def document(database_name, models=None, id_types=None, custom=None):
    """The OpenAPI document of the API served for database_name, whose
    optional models (activated extras) are `models` (None: all), ID type
    codes `id_types` and custom fields `custom` (see `database_data()`;
    None: described by their syntax only)."""
    data = {}
    if id_types is not None:
        data['id_types'] = id_types
    if custom is not None:
        data['custom'] = custom
    token = AVAILABLE.set(models)
    data_token = DATA.set(data)
    try:
        return _document(database_name, models)
    finally:
        DATA.reset(data_token)
        AVAILABLE.reset(token)


def database_data(pool):
    """(id_types, custom) of the database for `document()`, hashable: the
    ID type codes and the writable custom fields (in a transaction); None
    for what the database has not activated."""
    try:
        id_types = tuple(sorted(pool.get('spp.id.type').by_code()))
    except KeyError:
        return None, None
    try:
        CustomField = pool.get('spp.custom_field')
    except KeyError:
        return id_types, None
    custom = tuple(sorted(
            (name, (('applies_to', d['applies_to']), ('type', d['type']),
                    ('selection', tuple(tuple(s) for s in d['selection']))))
            for name, d in CustomField.definitions().items()
            if d['active'] and not d['computed']))
    return id_types, custom


def _document(database_name, models):
    paths = {}
    for operation in OPERATIONS:
        if operation.requires and models is not None and (
                operation.requires not in models):
            continue
        paths.setdefault(operation.path, {})[operation.method.lower()] = (
            operation_object(operation))
    used = nested_closure(name for o in OPERATIONS
        if o.method.lower() in paths.get(o.path, {})
        for name in [o.request, o.response] if name)
    schemas = {name: object_schema(name) for name in SCHEMAS
        if name not in OPTIONAL_SCHEMA_NAMES or name in used}
    schemas['Error'] = {
        'type': 'object', 'required': ['error'],
        'properties': {'error': {
                'type': 'object', 'required': ['code', 'message'],
                'properties': {
                    'code': {'type': 'string'},
                    'message': {'type': 'string'},
                    'request_id': {'type': 'string', 'nullable': True},
                    }}},
        }
    return {
        'openapi': '3.0.3',
        'info': {
            'title': "SP-MIS Registry API",
            'version': VERSION,
            'description': (
                "Curated REST API of the social registry. Authenticate "
                "with `Authorization: Bearer <key>` (keys are issued to "
                "API clients by administrators). Lists are paged by "
                f"keyset: pass `next_cursor` back as `cursor`; at most "
                f"{MAX_PAGE_SIZE} items a page. Scopes: "
                + ', '.join(f'`{s}`' for s in SCOPES) + '. The DCI Social '
                "Registry sync search (`POST /registry/sync/search`, scope "
                "`registry:search`) follows the DCI specification v1.0.0 "
                "and is described there."),
            },
        'servers': [{'url': f'/{database_name}/api/v1'}],
        'paths': paths,
        'components': {
            'schemas': schemas,
            'securitySchemes': {'bearerAuth': {
                    'type': 'http', 'scheme': 'bearer'}},
            },
        }
