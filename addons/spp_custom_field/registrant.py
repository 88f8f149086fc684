"""The custom values of registrants: one Dict field, typed and checked."""
import datetime as dt
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from . import registry_import  # noqa: F401 (installs the import hooks)
from .custom_field import check_value, parse_text

FILTER_PATTERN = re.compile(
    r'\s*(?P<name>[a-z][a-z0-9_]*)\s*(?P<operator><=|>=|!=|=|<|>)'
    r'\s*(?P<value>.+?)\s*')


def _definitions():
    return Pool().get('spp.custom_field').definitions()


def to_json(value):
    """The JSON form of a value: dates as ISO text and decimals as numbers,
    so that the database orders and compares them (trytond's encoder would
    write objects that do not sort)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(
            value)
    return value


def from_json(definition, value):
    "The Python value of a stored JSON value of the definition's type."
    if value is None or definition is None:
        return value
    type_ = definition['type']
    if type_ == 'date' and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if type_ == 'numeric' and not isinstance(value, Decimal):
        return Decimal(str(value))
    if type_ == 'boolean' and not isinstance(value, bool):
        return bool(value)
    return value


class CustomValues(fields.Dict):
    "Dict of custom values stored with JSON-native dates and numbers."

    def get(self, ids, model, name, values=None):
        """The stored values, typed, with the values of the computed
        indicators read from their own table."""
        result = super().get(ids, model, name, values=values)
        definitions = _definitions()
        computed = {n for n, d in definitions.items() if d['computed']}
        indicators = {}
        if computed:
            IndicatorValue = Pool().get('spp.custom_field.indicator_value')
            indicators = IndicatorValue.values_of(ids)
        for id_, data in result.items():
            data = {k: from_json(definitions.get(k), v)
                for k, v in (data or {}).items() if k not in computed}
            data.update(indicators.get(id_, {}))
            result[id_] = data or None
        return result

    def convert_domain(self, domain, tables, Model):
        "Clauses on an indicator are answered by its values table."
        name, operator, value = domain[:3]
        if '.' in name:
            key = name.split('.', 1)[1]
            definition = _definitions().get(key)
            if definition and definition['computed']:
                IndicatorValue = Pool().get(
                    'spp.custom_field.indicator_value')
                table, _ = tables[None]
                return IndicatorValue.condition(
                    definition, table, operator, value)
        return super().convert_domain(domain, tables, Model)

    def sql_format(self, value):
        if isinstance(value, dict):
            value = {k: to_json(v) for k, v in value.items()}
        return super().sql_format(value)

    def _domain_value(self, operator, value):
        if isinstance(value, (list, tuple)):
            value = [to_json(v) for v in value]
        else:
            value = to_json(value)
        return super()._domain_value(operator, value)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    custom_values = CustomValues('spp.custom_field', "Custom Fields",
        states={'invisible': ~Eval('registrant_type')},
        help="Fields defined by the registry administrators.")
    custom_filter = fields.Function(fields.Char("Custom Filter",
            help="Search on custom fields, e.g. "
            "\"dwelling_type = mud\" or \"meals < 3\" (with programs "
            "installed: any eligibility rule)."),
        'get_custom_filter', searcher='search_custom_filter')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        Pool().get('spp.custom_field').create_value_indexes()

    def get_custom_filter(self, name):
        return None

    @classmethod
    def search_custom_filter(cls, name, clause):
        """The domain of a filter typed in the client's search bar: the
        client sends it as (custom_filter, ilike, %text%)."""
        _, operator, value = clause[:3]
        text = (value or '').strip('%').strip()
        if not text:
            return []
        if operator.startswith('not') or operator == '!=':
            raise ValidationError(gettext(
                    'spp_custom_field.msg_filter_negated'))
        return cls.custom_filter_domain(text)

    @classmethod
    def custom_filter_domain(cls, text):
        """The domain of `name operator value` on a custom field
        (spp_programs extends it to its rule language)."""
        match = FILTER_PATTERN.fullmatch(text)
        definitions = _definitions()
        definition = match and definitions.get(match.group('name'))
        if not definition or not definition['active']:
            raise ValidationError(gettext(
                    'spp_custom_field.msg_filter_invalid', filter=text))
        name = match.group('name')
        if definition['computed']:
            definition = {**definition, 'type': {
                    'integer': 'integer', 'boolean': 'boolean'}.get(
                    definition['type'], 'numeric')}
        value = parse_text(name, definition,
            match.group('value').strip().strip('"\''))
        return [('custom_values.' + name, match.group('operator'), value)]

    @classmethod
    def rule_extra_fields(cls):
        "Custom fields usable by name in eligibility rules (spp_programs)."
        return rule_fields()

    @classmethod
    def default_custom_values(cls):
        "Defaults of the active fields of the registrant type being made."
        registrant_type = Transaction().context.get('registrant_type')
        if not registrant_type:
            return None
        CustomField = Pool().get('spp.custom_field')
        values = {}
        for record in CustomField.search([
                    ('default', '!=', None), ('default', '!=', ''),
                    ('applies_to', 'in', [registrant_type, 'both']),
                    ]):
            values[record.name] = record.parse_text(record.default)
        return values or None

    @classmethod
    def preprocess_values(cls, mode, values):
        """Check and convert every custom value before anything is written:
        a wrong type, an unknown option or field raises naming the field."""
        values = super().preprocess_values(mode, values)
        if values.get('custom_values'):
            values['custom_values'] = cls.check_custom_values(
                values['custom_values'])
        return values

    @classmethod
    def check_custom_values(cls, custom_values):
        """The values checked and converted; computed indicators are
        dropped (they are stored by the recompute, never written)."""
        definitions = _definitions()
        checked = {}
        for name, value in custom_values.items():
            definition = definitions.get(name)
            if definition is None:
                raise ValidationError(gettext(
                        'spp_custom_field.msg_unknown_field', name=name))
            if definition['computed']:
                continue
            checked[name] = check_value(name, definition, value)
        return checked

    @classmethod
    def read(cls, ids, fields_names):
        result = super().read(ids, fields_names)
        if 'custom_values' in fields_names:
            hidden = cls._hidden_custom_keys()
            if hidden:
                for row in result:
                    if row.get('custom_values'):
                        row['custom_values'] = {
                            k: v for k, v in row['custom_values'].items()
                            if k not in hidden} or None
        return result

    @classmethod
    def _hidden_custom_keys(cls, mode='read'):
        """Keys the user may not see (or change): inactive fields and fields
        restricted to groups the user is not in."""
        definitions = _definitions()
        # Inactive values are always kept on write, whoever writes.
        hidden = {n for n, d in definitions.items()
            if not d['active'] and (mode == 'write'
                or Transaction().check_access)}
        if not Transaction().check_access:
            return hidden
        groups = set(Pool().get('res.user').get_groups())
        for name, definition in definitions.items():
            if not definition['active']:
                continue
            elif definition['read_groups'] and not (
                    groups & set(definition['read_groups'])):
                hidden.add(name)
            elif (mode == 'write' and definition['write_groups']
                    and not (groups & set(definition['write_groups']))):
                hidden.add(name)
        return hidden

    @classmethod
    def write(cls, *args):
        """Keep the values the user cannot see: a form sends back only the
        keys it shows, and hiding a field must never erase it."""
        actions = iter(args)
        new_args = []
        hidden = None
        for parties, values in zip(actions, actions):
            if 'custom_values' not in values:
                new_args.extend((parties, values))
                continue
            if hidden is None:
                hidden = cls._hidden_custom_keys('write')
                computed = {n for n, d in _definitions().items()
                    if d['computed']}
            sent = dict(values['custom_values'] or {})
            with without_check_access():
                stored = {p.id: dict(p.custom_values or {})
                    for p in cls.browse(parties)}
            for party in parties:
                old = stored[party.id]
                changed = {k for k in sent.keys() & (hidden - computed)
                    if sent[k] != old.get(k)}
                if changed:
                    raise AccessError(gettext(
                            'spp_custom_field.msg_value_forbidden',
                            name=', '.join(sorted(changed))))
                kept = {k: v for k, v in old.items()
                    if k in hidden and k not in computed}
                new = {k: v for k, v in sent.items()
                    if k not in hidden and k not in computed}
                new_args.extend(([party], {**values,
                            'custom_values': {**kept, **new} or None}))
        super().write(*new_args)

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        if field_names and not (field_names & {
                    'custom_values', 'registrant_type'}):
            return
        definitions = _definitions()
        required = {n: d for n, d in definitions.items()
            if d['required'] and d['active'] and not d['computed']}
        for party in parties:
            values = party.custom_values or {}
            for name in values:
                definition = definitions.get(name)
                if definition and definition['applies_to'] not in {
                        'both', party.registrant_type}:
                    raise ValidationError(gettext(
                            'spp_custom_field.msg_not_applicable',
                            field=definition['string'], name=name,
                            party=party.rec_name))
            for name, definition in required.items():
                if (definition['applies_to'] in {
                            'both', party.registrant_type}
                        and values.get(name) is None):
                    raise ValidationError(gettext(
                            'spp_custom_field.msg_value_required',
                            field=definition['string'], name=name,
                            party=party.rec_name))


class RuleField:
    """What the rule compiler of spp_programs needs to know of a custom
    field: its type, label, options or target, and the name it is
    searched under."""

    def __init__(self, name, definition):
        self.name = name
        self.search_name = f'custom_values.{name}'
        self.string = definition['string']
        self._type = definition['type']
        self.selection = [(k, v) for k, v in definition['selection']]
        self.model_name = definition['target']


def rule_fields():
    "{name: RuleField} of the active custom fields."
    return {name: RuleField(name, d) for name, d in _definitions().items()
        if d['active']}
