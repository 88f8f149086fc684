"""Custom fields in the registry import (spp_registry.registry_import).

A column named after the technical name of an active, non-computed custom
field is read into that field: fields of individuals (or both) on the row's
individual, fields of groups on the household (first non-empty value of its
rows). Values are written as text (12, 3.5, yes, 2024-01-31, an option key
or label, an area or registrant code); a bad value is a row error naming
the column, like any other.

The registry's import is a set of functions, not a model: they are wrapped
here, in the modules that call them, when this module is imported, and the
wrappers do nothing in a database where spp_custom_field is not
activated."""
from trytond.model.exceptions import ValidationError
from trytond.modules.spp_registry import registry_import_rows as base
from trytond.modules.spp_registry import registry_import_write as write
from trytond.pool import Pool

from .custom_field import parse_text


def import_definitions():
    "{name: definition} of the importable custom fields, {} if none."
    try:
        CustomField = Pool().get('spp.custom_field')
    except KeyError:
        return {}
    return {n: d for n, d in CustomField.definitions().items()
        if d['active'] and not d['computed']}


def _wrap(module, name):
    def decorator(function):
        original = getattr(module, name)
        if getattr(original, '_spp_custom_field', False):
            return original
        function.__wrapped__ = original
        function._spp_custom_field = True
        setattr(module, name, function)
        return function
    return decorator


@_wrap(base, 'check_header')
def check_header(header, reference):
    errors = check_header.__wrapped__(header, reference)
    definitions = import_definitions()
    if not definitions:
        return errors
    unknown = base._msg('unknown_column')
    return [e for e in errors
        if not (e.column in definitions and e.reason == unknown)]


@_wrap(base, 'parse_row')
def parse_row(number, values, reference):
    member, errors = parse_row.__wrapped__(number, values, reference)
    definitions = import_definitions()
    individual, group = {}, {}
    for name, definition in definitions.items():
        text = values.get(name) or ''
        if not text.strip():
            if (definition['required']
                    and definition['applies_to'] != 'group'):
                errors.append(base.RowError(number, name,
                        base._msg('required'), member.household))
            continue
        try:
            value = parse_text(name, definition, text)
        except ValidationError as exception:
            errors.append(base.RowError(number, name, exception.message,
                    member.household))
            continue
        if definition['applies_to'] == 'group':
            group[name] = value
        else:
            individual[name] = value
    if individual:
        member.values['custom_values'] = individual
    member.group_custom_values = group
    return member, errors


@_wrap(write, 'group_values')
def group_values(household, reference):
    values = group_values.__wrapped__(household, reference)
    custom = {}
    for member in household.members:
        for name, value in getattr(
                member, 'group_custom_values', {}).items():
            custom.setdefault(name, value)
    if custom:
        values['custom_values'] = custom
    return values
