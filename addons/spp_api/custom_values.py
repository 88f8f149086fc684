"""Custom field values (spp_custom_field) in REST payloads.

Read: the values the acting user may see, as JSON (dates as ISO text,
decimals as numbers, links as the linked record's code). Write: JSON values
converted to each field's type; a wrong type answers 422 naming the field
(the registrant model's own check, `check_custom_values`, has the last
word). Only called when the model exists."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool

from .validation import ValidationFailure


def has_custom_fields():
    try:
        Pool().get('spp.custom_field')
    except KeyError:
        return False
    return True


def _json(definition, value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(
            value)
    if definition and definition['type'] == 'many2one' and isinstance(
            value, int):
        Target = Pool().get(definition['target'])
        record = Target(value)
        return getattr(record, 'code', None) or value
    return value


def read_custom(ids):
    "{party id: {name: JSON value}} of what the acting user may read."
    pool = Pool()
    Party = pool.get('party.party')
    definitions = pool.get('spp.custom_field').definitions()
    result = {}
    for row in Party.read(list(ids), ['custom_values']):
        values = row.get('custom_values') or {}
        result[row['id']] = {k: _json(definitions[k], v)
            for k, v in sorted(values.items())
            if k in definitions and definitions[k]['active']}
    return result


def write_custom(values, registrant_type, where, current=None):
    """ORM custom_values for a create (current None) or an update (merged
    with the current values); ValidationFailure naming the field."""
    pool = Pool()
    CustomField = pool.get('spp.custom_field')
    definitions = CustomField.definitions()
    result = dict(current or {})
    for name, value in values.items():
        definition = definitions.get(name)
        if (definition is None or not definition['active']
                or definition['applies_to'] not in {
                    registrant_type, 'both'}):
            raise ValidationFailure(
                f"{where}.{name}: no such custom field for "
                f"{registrant_type}s.")
        if definition['computed']:
            raise ValidationFailure(
                f"{where}.{name}: computed, it cannot be written.")
        if value is None:
            result.pop(name, None)
            continue
        result[name] = _convert(name, definition, value, where)
    return result


def _convert(name, definition, value, where):
    type_ = definition['type']
    expected = {
        'char': "a text", 'integer': "an integer", 'numeric': "a number",
        'boolean': "true or false", 'date': "a date YYYY-MM-DD",
        'selection': "one of " + ', '.join(
            k for k, _ in definition['selection']),
        'many2one': "a code",
        }.get(type_, "a value")
    ok = True
    if type_ == 'char':
        ok = isinstance(value, str)
    elif type_ == 'integer':
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif type_ == 'numeric':
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = Decimal(str(value))
    elif type_ == 'boolean':
        ok = isinstance(value, bool)
    elif type_ == 'date':
        try:
            value = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            ok = False
    elif type_ == 'selection':
        ok = value in [k for k, _ in definition['selection']]
    elif type_ == 'many2one':
        ok = isinstance(value, str)
        if ok:
            Target = Pool().get(definition['target'])
            records = Target.search([('code', '=', value)], limit=1)
            ok = bool(records)
            value = records[0].id if records else None
    if not ok:
        raise ValidationFailure(
            f"{where}.{name}: {expected} is expected.")
    return value
