"""The DCI specs the client tests validate messages against (copies in
tests/data: CI runs from the repository alone)."""
import copy
import functools
from pathlib import Path

import yaml
from openapi_schema_validator import OAS30Validator

DATA = Path(__file__).resolve().parent / 'data'


def any_of(node):
    "The spec's oneOf alternatives overlap (upstream slip): read as anyOf."
    if isinstance(node, dict):
        return {('anyOf' if k == 'oneOf' else k): any_of(v)
            for k, v in node.items()}
    if isinstance(node, list):
        return [any_of(v) for v in node]
    return node


@functools.lru_cache
def spec(name):
    return any_of(yaml.safe_load((DATA / name).read_text()))


def validate(name, instance, pointer):
    "Validate `instance` against the schema at `pointer` of spec `name`."
    schema = copy.copy(spec(name))
    schema['$ref'] = pointer
    OAS30Validator(schema).validate(instance)
