"""The OpenAPI 3 description, generated from `resources`.

Input schemas are closed (`additionalProperties: false`), as the routes
refuse unknown fields; every operation documents the errors the routes
answer."""
import functools

from .resources import (
    AVAILABLE, MAX_PAGE_SIZE, OPERATIONS, SCHEMAS, SCOPES, Field,
    schema_fields)
from .resources_programs import PROGRAM_SCHEMAS

PROGRAM_SCHEMA_NAMES = set(PROGRAM_SCHEMAS)


def input_schemas():
    "The request schemas of the operations and the schemas they nest."
    names = set()
    pending = [o.request for o in OPERATIONS if o.request]
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


INPUT_SCHEMAS = input_schemas()
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


def field_schema(spec):
    if isinstance(spec, str):
        return {'$ref': f'#/components/schemas/{spec}'}
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
    return schema


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
    if operation.path_params:
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
def document(database_name, models=None):
    """The OpenAPI document of the API served for database_name, whose
    optional models (activated extras) are `models` (None: all)."""
    token = AVAILABLE.set(models)
    try:
        return _document(database_name, models)
    finally:
        AVAILABLE.reset(token)


def _document(database_name, models):
    paths = {}
    for operation in OPERATIONS:
        if operation.requires and models is not None and (
                operation.requires not in models):
            continue
        paths.setdefault(operation.path, {})[operation.method.lower()] = (
            operation_object(operation))
    schemas = {name: object_schema(name) for name in SCHEMAS
        if name not in PROGRAM_SCHEMA_NAMES or any(
            o.method.lower() in paths.get(o.path, {})
            for o in OPERATIONS if name in {o.request, o.response})}
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
