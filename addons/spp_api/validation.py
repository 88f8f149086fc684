"""Requests checked against their declarations (resources.py): bodies
with `validate_body`, query and path parameters with `validate_query` and
`check_param`. A request that does not match answers 422 naming the field
(`ValidationFailure`), before any query runs.

`unpaired_surrogate()` serves every JSON body the API reads (REST and
DCI): JSON may escape half of a UTF-16 pair (`"\\ud800"`), which decodes
to a string no database, log or answer can encode."""
import datetime as dt
import json
import re

from .declarations import HANDLE_PATTERN, with_id_types
from .resources import schema_fields


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
        if (spec.min_length is not None
                and len(value.strip()) < spec.min_length):
            raise ValidationFailure(f"{where}: may not be empty.")
        if spec.pattern and not matches(spec.pattern, value):
            raise ValidationFailure(
                f"{where}: {_shown(value)} is not valid here.")
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


def _shown(value, size=100):
    "A refused value as a message quotes it: its start when long (a file)."
    if len(value) > size:
        return f"{value[:size]!r}... ({len(value)} characters)"
    return repr(value)


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


def validate_query(args, params, id_types=None):
    """Check query parameters (a werkzeug MultiDict) against an
    operation's declared parameters; unknown or repeated ones are
    refused. Return {name: value}.

    A registrant handle filter naming an ID type that `id_types()` (the
    database's codes) lacks is refused too: the document lists the types,
    and such a filter would otherwise answer an empty page."""
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
        if (id_types and declared[name].pattern == HANDLE_PATTERN
                and '|' in values[name]):
            id_type = values[name].split('|', 1)[0]
            if id_type not in id_types():
                raise ValidationFailure(
                    f"{name}: unknown ID type {id_type!r}.")
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
    if param.pattern and not matches(param.pattern, raw):
        if param.invalid:
            status, code = param.invalid
            raise ValidationFailure(
                f"{where}: not a {where} given by this API.", status, code)
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

def matches(pattern, value):
    """Whether value matches a declared pattern (ID types by their syntax:
    the operation checks the code against the database's ID types)."""
    return re.fullmatch(with_id_types(pattern).strip('^$'), value) is not None


def unpaired_surrogate(value, root='body'):
    """The path of the first string (or field name) of a decoded JSON
    value holding a lone UTF-16 surrogate, or None.

    The whole value is encoded first (in C): only a body that fails is
    walked, without recursion (a body may be nested deeply)."""
    try:
        json.dumps(value, ensure_ascii=False).encode('utf-8')
        return None
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        pass
    stack = [(root, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _encodes(item):
                return path
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if not _encodes(key):
                    return f"{path} (a field name)" if path else (
                        "a field name")
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            for index in reversed(range(len(item))):
                stack.append((f"{path}[{index}]", item[index]))
    return None


def _encodes(text):
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def surrogate_message(path):
    return (f"{path or 'body'}: not valid Unicode text (a lone UTF-16 "
        "surrogate such as \\ud800).")
