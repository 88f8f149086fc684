"""Definitions of the custom fields of registrants.

A definition is the schema of one key of ``party.party.custom_values`` (a
Tryton Dict field): its technical name, label, type, options and who may
see or edit it. Values live in the registrant's JSON(B) column; see
README.rst for why."""
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation

from sql import Literal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, DictSchemaMixin, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction

NAME_PATTERN = re.compile(r'[a-z][a-z0-9_]{0,62}')
# Words of the rule language a field may not be named after.
RESERVED = {'and', 'or', 'not', 'in', 'is', 'set', 'true', 'false',
    'contains', 'id'}
TYPES = [
    ('char', "Text"),
    ('integer', "Integer"),
    ('numeric', "Decimal"),
    ('boolean', "Yes/No"),
    ('date', "Date"),
    ('selection', "Selection"),
    ('many2one', "Link"),
    ]
TARGETS = [
    (None, ""),
    ('spp.area', "Area"),
    ('party.party', "Registrant"),
    ]
APPLIES_TO = [
    ('individual', "Individuals"),
    ('group', "Groups"),
    ('both', "Individuals and Groups"),
    ]
# Attributes a definition is exported and imported with.
EXPORTED = ['name', 'string', 'help', 'applies_to', 'type_', 'digits',
    'selection', 'target', 'required', 'default', 'indexed', 'sequence',
    'active']


class CustomField(DeactivableMixin, DictSchemaMixin, ModelSQL, ModelView):
    "Custom Field"
    __string__ = "Custom Field"
    __name__ = 'spp.custom_field'
    sequence = fields.Integer("Sequence")
    applies_to = fields.Selection(APPLIES_TO, "Applies To", required=True)
    target = fields.Selection(TARGETS, "Linked To",
        states={
            'invisible': Eval('type_') != 'many2one',
            'required': Eval('type_') == 'many2one',
            })
    required = fields.Boolean("Required",
        help="Registrants it applies to must have a value.")
    default = fields.Char("Default",
        help="Value given to new registrants, written as in the import "
        "(e.g. 12, 3.5, yes, 2024-01-31, or an option key).")
    read_groups = fields.Many2Many(
        'spp.custom_field-read-res.group', 'field', 'group',
        "Visible To", help="Groups who see the field; empty: everybody.")
    write_groups = fields.Many2Many(
        'spp.custom_field-write-res.group', 'field', 'group',
        "Editable By", help="Groups who may change the value; "
        "empty: whoever may edit the registrant.")
    indexed = fields.Boolean("Indexed",
        help="Create a database index on the value, for fields rules and "
        "searches filter on with ranges (<, >) over a large registry.")
    _types_cache = Cache('spp_custom_field.types', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.type_.selection = list(TYPES)
        # DictSchemaMixin calls them Name and String.
        cls.name.string = "Technical Name"
        cls.string.string = "Label"
        t = cls.__table__()
        cls._sql_constraints += [
            ('name_unique', Unique(t, t.name),
                'spp_custom_field.msg_name_unique'),
            ]
        cls._order.insert(0, ('sequence', 'ASC NULLS FIRST'))
        cls.__rpc__.update({
                'export_definitions': RPC(),
                'import_definitions': RPC(readonly=False),
                })

    @staticmethod
    def default_applies_to():
        return 'individual'

    @staticmethod
    def default_required():
        return False

    @staticmethod
    def default_indexed():
        return False

    @classmethod
    def default_digits(cls):
        return 2

    # Validation --------------------------------------------------------

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        Party = Pool().get('party.party')
        for record in records:
            if not NAME_PATTERN.fullmatch(record.name or ''):
                raise ValidationError(gettext(
                        'spp_custom_field.msg_name_invalid',
                        name=record.name))
            if record.name in Party._fields or record.name in RESERVED:
                raise ValidationError(gettext(
                        'spp_custom_field.msg_name_clash',
                        name=record.name))
            if record.default not in {None, ''}:
                record.parse_text(record.default)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        for records, values in zip(actions, actions):
            if 'name' in values and any(
                    r.name != values['name'] for r in records):
                # The name is the key of stored values: renaming it would
                # orphan them. Labels (string) can change freely.
                raise AccessError(gettext(
                        'spp_custom_field.msg_name_readonly'))
            if 'type_' in values and any(
                    r.type_ != values['type_'] for r in records):
                raise AccessError(gettext(
                        'spp_custom_field.msg_type_readonly'))
        super().write(*args)

    @classmethod
    def delete(cls, records):
        cls.check_delete(records)
        super().delete(records)

    @classmethod
    def check_delete(cls, records):
        "Raise if a definition is still used; extended by other addons."
        pass

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._types_cache.clear()
        if mode != 'delete':
            cls.create_value_indexes()

    # Keys for the client -----------------------------------------------

    @classmethod
    def get_keys(cls, records):
        keys = super().get_keys(records)
        for key, record in zip(keys, records):
            key['sequence'] = record.sequence or 0
            if record.type_ == 'many2one':
                # The Dict widget has no link type: the id is shown.
                key['type'] = 'integer'
        return keys

    @classmethod
    def search_get_keys(cls, domain, limit=None):
        "Only the active fields the user may see are offered."
        records = [r for r in cls.search(domain, limit=limit)
            if r.user_can('read')]
        return cls.get_keys(records)

    def user_can(self, mode):
        "Whether the current user may read or write values of the field."
        if not Transaction().user:
            return True
        groups = self.read_groups if mode == 'read' else self.write_groups
        if mode == 'write' and not self.user_can('read'):
            return False
        if not groups:
            return True
        User = Pool().get('res.user')
        return bool(set(User.get_groups()) & {g.id for g in groups})

    @classmethod
    def definitions(cls):
        """{name: {type, applies_to, selection, target, required, active,
        computed}} of every definition, cached."""
        result = cls._types_cache.get('all')
        if result is not None:
            return result
        result = {}
        with Transaction().set_context(active_test=False):
            records = cls.search([])
        for record in records:
            result[record.name] = {
                'id': record.id,
                'string': record.string,
                'type': record.type_,
                'applies_to': record.applies_to,
                'selection': [tuple(x) for x in json.loads(
                        record.selection_json)],
                'target': record.target,
                'required': bool(record.required),
                'active': record.active,
                'computed': bool(getattr(record, 'compute', None)),
                'read_groups': [g.id for g in record.read_groups],
                'write_groups': [g.id for g in record.write_groups],
                }
        cls._types_cache.set('all', result)
        return result

    # Values ------------------------------------------------------------

    def parse_text(self, text):
        """Convert a value written as text (import, default) to the field's
        type; raise a ValidationError naming the field."""
        return parse_text(self.name, self.definitions().get(self.name) or {
                'type': self.type_, 'target': self.target,
                'selection': json.loads(self.selection_json)}, text)

    # Indexes -----------------------------------------------------------

    @classmethod
    def create_value_indexes(cls):
        """Create an expression index on the value of each field marked
        indexed (PostgreSQL), matching the expression the ORM compares
        with ranges: jsonb_extract_path(custom_values, key)."""
        from trytond import backend
        if backend.name != 'postgresql':
            return
        cursor = Transaction().connection.cursor()
        Party = Pool().get('party.party')
        table = Party._table
        cursor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_custom_values_gin" '
            f'ON "{table}" USING GIN ((custom_values::jsonb) '
            'jsonb_path_ops)')
        # Plain SQL: this also runs while the modules are registered.
        definition = cls.__table__()
        cursor.execute(*definition.select(definition.name,
                where=definition.indexed == Literal(True)))
        for name, in cursor.fetchall():
            if not NAME_PATTERN.fullmatch(name):
                continue
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{table}_cv_{name}" '
                f'ON "{table}" (jsonb_extract_path(custom_values::jsonb, '
                f"'{name}'))")

    # Export / import ---------------------------------------------------

    @classmethod
    def export_definitions(cls, records=None):
        "The definitions as a JSON text, to load in another deployment."
        if records is None:
            with Transaction().set_context(active_test=False):
                records = cls.search([])
        records = cls.browse(records)
        return json.dumps({'custom_fields': [
                    {**{n: getattr(r, n) for n in cls.exported_fields()},
                        'read_groups': [g.name for g in r.read_groups],
                        'write_groups': [g.name for g in r.write_groups]}
                    for r in records]}, indent=2, sort_keys=True)

    @classmethod
    def exported_fields(cls):
        return list(EXPORTED)

    @classmethod
    def import_definitions(cls, text):
        """Create or update (by technical name) the definitions of a JSON
        text made by export_definitions; return their ids."""
        Group = Pool().get('res.group')
        try:
            data = json.loads(text)['custom_fields']
        except (ValueError, KeyError, TypeError):
            raise ValidationError(gettext(
                    'spp_custom_field.msg_import_invalid'))
        groups = {g.name: g.id for g in Group.search([])}
        with Transaction().set_context(active_test=False):
            existing = {r.name: r for r in cls.search([])}
        to_create, ids = [], []
        for item in data:
            values = {n: item[n] for n in cls.exported_fields() if n in item}
            for name in ['read_groups', 'write_groups']:
                values[name] = [('add', [groups[g]
                            for g in item.get(name, []) if g in groups])]
            record = existing.get(values.get('name'))
            if record:
                for name in ['name', 'type_']:
                    values.pop(name, None)
                cls.write([record], values)
                ids.append(record.id)
            else:
                to_create.append(values)
        ids.extend(r.id for r in cls.create(to_create))
        return ids


class CustomFieldReadGroup(ModelSQL):
    "Custom Field - Visible To Group"
    __string__ = "Custom Field - Visible To Group"
    __name__ = 'spp.custom_field-read-res.group'
    field = fields.Many2One('spp.custom_field', "Field", required=True,
        ondelete='CASCADE')
    group = fields.Many2One('res.group', "Group", required=True,
        ondelete='CASCADE')


class CustomFieldWriteGroup(ModelSQL):
    "Custom Field - Editable By Group"
    __string__ = "Custom Field - Editable By Group"
    __name__ = 'spp.custom_field-write-res.group'
    field = fields.Many2One('spp.custom_field', "Field", required=True,
        ondelete='CASCADE')
    group = fields.Many2One('res.group', "Group", required=True,
        ondelete='CASCADE')


TRUE = {'1', 'true', 'yes', 'y', 'x'}
FALSE = {'0', 'false', 'no', 'n'}


def _bad(name, definition, value, reason):
    return ValidationError(gettext('spp_custom_field.msg_value_invalid',
            field=definition.get('string') or name, name=name,
            value=value, reason=reason))


def parse_text(name, definition, text):
    "Convert `text` to the type of the definition, None when empty."
    text = (text or '').strip()
    if not text:
        return None
    type_ = definition['type']
    try:
        if type_ == 'integer':
            return int(text)
        if type_ == 'numeric':
            return Decimal(text)
        if type_ == 'date':
            return dt.date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        pass
    else:
        if type_ == 'boolean':
            if text.lower() in TRUE | FALSE:
                return text.lower() in TRUE
        elif type_ == 'selection':
            for key, label in definition['selection']:
                if text in {key, label}:
                    return key
        elif type_ == 'many2one':
            Target = Pool().get(definition['target'])
            records = Target.search([('code', '=', text)], limit=1)
            if records:
                return records[0].id
        else:
            return text
    return check_value(name, definition, text)


def check_value(name, definition, value):
    """Return `value` in the stored form of the definition's type, or raise
    a ValidationError naming the field and what is expected."""
    if value is None:
        return None
    type_ = definition['type']
    if type_ == 'char':
        if isinstance(value, str):
            return value
        raise _bad(name, definition, value, gettext(
                'spp_custom_field.msg_expected_text'))
    if type_ == 'integer':
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _bad(name, definition, value, gettext(
                'spp_custom_field.msg_expected_integer'))
    if type_ == 'numeric':
        if isinstance(value, bool):
            raise _bad(name, definition, value, gettext(
                    'spp_custom_field.msg_expected_number'))
        try:
            return Decimal(str(value)) if not isinstance(
                value, Decimal) else value
        except InvalidOperation:
            raise _bad(name, definition, value, gettext(
                    'spp_custom_field.msg_expected_number'))
    if type_ == 'boolean':
        if isinstance(value, bool):
            return value
        raise _bad(name, definition, value, gettext(
                'spp_custom_field.msg_expected_boolean'))
    if type_ == 'date':
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise _bad(name, definition, value, gettext(
                    'spp_custom_field.msg_expected_date'))
    if type_ == 'selection':
        keys = [k for k, _ in definition['selection']]
        if value in keys:
            return value
        raise _bad(name, definition, value, gettext(
                'spp_custom_field.msg_expected_option',
                options=', '.join(keys)))
    if type_ == 'many2one':
        if isinstance(value, int) and not isinstance(value, bool):
            Target = Pool().get(definition['target'])
            if Target.search_count([('id', '=', value)]):
                return value
        raise _bad(name, definition, value, gettext(
                'spp_custom_field.msg_expected_record'))
    return value
