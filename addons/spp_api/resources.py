"""The REST API's resources, declared once.

Each schema is a dict of `Field`s; each operation names its method, path,
scope, query parameters, request and response schemas and its handler
(declarations.py). The registry's are in resources_registry.py, those of
programs, entitlements and payments in resources_programs.py, those of
change requests in resources_change_request.py, those of grievances in
resources_grievance.py; this module gathers them.
The routes validate requests against these declarations (validation.py),
and `openapi.document()` turns the same declarations into the OpenAPI
description: the two cannot drift apart."""
from .declarations import (  # noqa: F401 (the names resources offer)
    AVAILABLE, CODE_PATTERN, CURSOR_PATTERN, DEFAULT_PAGE_SIZE,
    HANDLE_PATTERN, ID_FILTER_PATTERN, ID_TYPE_PATTERN, ID_VALUE_PATTERN,
    MAX_PAGE_SIZE, PAGE_PARAMS, TEXT_MAX, Field, Operation, Param,
    available)
from .resources_change_request import (
    CHANGE_REQUEST_OPERATIONS, CHANGE_REQUEST_SCHEMAS)
from .resources_grievance import GRIEVANCE_OPERATIONS, GRIEVANCE_SCHEMAS
from .resources_programs import PROGRAM_OPERATIONS, PROGRAM_SCHEMAS
from .resources_registry import REGISTRY_OPERATIONS, REGISTRY_SCHEMAS

SCHEMAS = {**REGISTRY_SCHEMAS, **PROGRAM_SCHEMAS, **CHANGE_REQUEST_SCHEMAS,
    **GRIEVANCE_SCHEMAS}
OPERATIONS = (REGISTRY_OPERATIONS + PROGRAM_OPERATIONS
    + CHANGE_REQUEST_OPERATIONS + GRIEVANCE_OPERATIONS)
# Models whose presence changes the API (operations and fields).
OPTIONAL_MODELS = sorted({o.requires for o in OPERATIONS if o.requires}
    | {f.requires for s in SCHEMAS.values() for f in s.values()
        if f.requires})

SCOPES = sorted({o.scope for o in OPERATIONS if o.scope}
    | {'registry:search'})


def schema_fields(schema_name):
    "The fields of a schema on the database being served."
    return {n: f for n, f in SCHEMAS[schema_name].items()
        if available(f.requires)}
