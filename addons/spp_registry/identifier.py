"""Identification documents: SP-MIS ID types on top of party.identifier.

An ID type sets the format (regular expression), an optional python-stdnum
validator and whether numbers are unique. Uniqueness is enforced by the
database: `unique_code` holds "type:number" for unique types (NULL
otherwise) under a UNIQUE constraint, which both SQLite and PostgreSQL
honour while ignoring NULLs. Ticking or unticking *Unique* of a type in
use recomputes the unique_code of its identifiers in SQL."""
import importlib
import re

import stdnum.exceptions
from sql import Literal, Null, Window
from sql.aggregate import Count
from sql.operators import Concat

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .detection import invalidate_cache

# How many of the numbers held more than once the refusal to make a type
# unique lists.
HELD_TWICE_SHOWN = 10


def load_validator(name):
    "The python-stdnum module called `name` (e.g. 'luhn', 'za.idnr') or None."
    if not name:
        return None
    try:
        module = importlib.import_module(f'stdnum.{name}')
    except ImportError:
        return None
    return module if hasattr(module, 'is_valid') else None


class IdType(DeactivableMixin, ModelSQL, ModelView):
    "ID Type"
    __string__ = "ID Type"
    __name__ = 'spp.id.type'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char(
        "Code", required=True,
        help="Stored on each identifier, used by imports and the API "
        "(e.g. national_id).")
    pattern = fields.Char(
        "Pattern", help="Regular expression the whole number must match.")
    validator = fields.Char(
        "Validator", help="A python-stdnum module checking the number "
        "and its check digit, e.g. \"luhn\" or \"za.idnr\".")
    country = fields.Many2One('country.country', "Country")
    unique = fields.Boolean(
        "Unique", help="A number may be held by one registrant only.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_code_unique'),
            ]

    @classmethod
    def default_unique(cls):
        return True

    @classmethod
    def validate_fields(cls, id_types, field_names):
        super().validate_fields(id_types, field_names)
        for id_type in id_types:
            if id_type.pattern:
                try:
                    re.compile(id_type.pattern)
                except re.error as exception:
                    raise ValidationError(gettext(
                            'spp_registry.msg_id_type_pattern',
                            type=id_type.name, error=str(exception)))
            if id_type.validator and not load_validator(id_type.validator):
                raise ValidationError(gettext(
                        'spp_registry.msg_id_type_validator',
                        type=id_type.name, validator=id_type.validator))
            if id_type.code in dict(IdType._tryton_types()):
                raise ValidationError(gettext(
                        'spp_registry.msg_id_type_code_clash',
                        code=id_type.code))

    @staticmethod
    def _tryton_types():
        Configuration = Pool().get('party.configuration')
        return Configuration(1).get_identifier_types()

    def check(self, number):
        "Return the reason `number` is not valid for this type, or None."
        if self.pattern and not re.fullmatch(self.pattern, number):
            return gettext('spp_registry.msg_id_reason_pattern',
                pattern=self.pattern)
        validator = load_validator(self.validator)
        if validator and not validator.is_valid(number):
            return gettext('spp_registry.msg_id_reason_check_digit')
        return None

    def compact(self, number):
        """The number as stored for comparison and look-ups: the
        validator's compact form (python-stdnum: 800101 5009 087 is
        8001015009087 for za.idnr), else the number without white space."""
        validator = load_validator(self.validator)
        if validator and hasattr(validator, 'compact'):
            try:
                return validator.compact(number)
            except stdnum.exceptions.ValidationError:
                pass
        return ''.join(number.split())

    @classmethod
    def by_code(cls):
        "{code: IdType} for the transaction (ID types change rarely)."
        cache = Transaction().get_cache().setdefault('_spp_id_types', {})
        if 'by_code' not in cache:
            with Transaction().set_context(active_test=False):
                cache['by_code'] = {t.code: t for t in cls.search([])}
        return cache['by_code']

    @classmethod
    def check_modification(cls, mode, id_types, values=None, external=False):
        """Keep the code of a type in use, which its identifiers store, and
        refuse to make a type unique while one of its numbers is held more
        than once."""
        super().check_modification(
            mode, id_types, values=values, external=external)
        if mode == 'delete':
            for id_type in id_types:
                if id_type.in_use():
                    raise AccessError(gettext(
                            'spp_registry.msg_id_type_delete_in_use',
                            type=id_type.rec_name))
        elif mode == 'write':
            for id_type in id_types:
                if ('code' in values and values['code'] != id_type.code
                        and id_type.in_use()):
                    raise AccessError(gettext(
                            'spp_registry.msg_id_type_code_in_use',
                            type=id_type.rec_name, code=id_type.code))
                if values.get('unique') and not id_type.unique:
                    id_type.check_numbers_held_once()

    def in_use(self):
        "Whether an identifier, archived or not, has this type."
        Identifier = Pool().get('party.identifier')
        table = Identifier.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(Literal(1),
                where=table.type == self.code, limit=1))
        return bool(cursor.fetchone())

    def check_numbers_held_once(self):
        """Refuse, listing the first of them, the numbers of this type that
        several identifiers hold: the UNIQUE constraint would refuse their
        unique_code. Archived identifiers count, as they keep theirs."""
        Identifier = Pool().get('party.identifier')
        table = Identifier.__table__()
        cursor = Transaction().connection.cursor()
        # The window counts the numbers the HAVING keeps, in all.
        cursor.execute(*table.select(table.code_compact,
                Count(table.code_compact, window=Window([])),
                where=table.type == self.code,
                group_by=[table.code_compact],
                having=Count(table.id) > 1,
                order_by=[table.code_compact.asc],
                limit=HELD_TWICE_SHOWN))
        rows = cursor.fetchall()
        if rows:
            raise ValidationError(gettext(
                    'spp_registry.msg_id_type_numbers_held_twice',
                    type=self.rec_name, count=rows[0][1],
                    numbers=', '.join(number for number, _ in rows)))

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        flipped = set()
        for id_types, values in zip(actions, actions):
            if 'unique' in values:
                flipped.update(t.id for t in id_types
                    if t.unique != bool(values['unique']))
        super().write(*args)
        if flipped:
            Identifier = Pool().get('party.identifier')
            Identifier.recompute_unique_codes(cls.browse(list(flipped)))

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        Transaction().get_cache().pop('_spp_id_types', None)


class Identifier(metaclass=PoolMeta):
    __name__ = 'party.identifier'
    unique_code = fields.Char("Unique Code", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._history = True
        t = cls.__table__()
        cls._sql_constraints += [
            ('unique_code', Unique(t, t.unique_code),
                'spp_registry.msg_identifier_duplicate'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.code_compact, Index.Equality()),
                (t.type, Index.Equality())))

    @classmethod
    def get_types(cls):
        IdType = Pool().get('spp.id.type')
        types = super().get_types()
        return types + [(t.code, t.name) for t in IdType.by_code().values()]

    @classmethod
    def _unique_code(cls, type_, code_compact):
        IdType = Pool().get('spp.id.type')
        id_type = IdType.by_code().get(type_)
        if id_type and id_type.unique and code_compact:
            return f'{type_}:{code_compact}'
        return None

    @classmethod
    def compact_code(cls, type_, code):
        "The code_compact an identifier of `type_` numbered `code` stores."
        return cls.preprocess_values(
            'create', {'type': type_, 'code': code}).get('code_compact')

    @classmethod
    def stored_unique_code(cls, type_, code):
        """The unique_code an identifier of `type_` numbered `code`, as
        typed, stores: made of the number's compact form, which the party
        module derives for a type named after a python-stdnum module
        (76.086.428-5 is 760864285 for cl_rut)."""
        return cls.preprocess_values(
            'create', {'type': type_, 'code': code}).get('unique_code')

    @classmethod
    def recompute_unique_codes(cls, id_types):
        """Set the unique_code of every identifier of `id_types` from their
        Unique flag, one UPDATE per type.

        No history rows are written: unique_code is a technical column
        derived from the type's flag and code_compact, which the history
        keeps; copying millions of rows into the history, stamped as
        changed by the administrator, would record no change of any ID."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for id_type in id_types:
            if id_type.unique:
                cursor.execute(*table.update([table.unique_code],
                        [Concat(f'{id_type.code}:', table.code_compact)],
                        where=(table.type == id_type.code)
                        & (table.unique_code == Null)))
            else:
                cursor.execute(*table.update([table.unique_code], [Null],
                        where=(table.type == id_type.code)
                        & (table.unique_code != Null)))
        invalidate_cache(cls.__name__)

    @classmethod
    def preprocess_values(cls, mode, values):
        IdType = Pool().get('spp.id.type')
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            id_type = IdType.by_code().get(values.get('type'))
            if id_type and values.get('code'):
                values['code_compact'] = id_type.compact(values['code'])
            values['unique_code'] = cls._unique_code(
                values.get('type'), values.get('code_compact'))
        return values

    def compute_fields(self, field_names=None):
        IdType = Pool().get('spp.id.type')
        values = super().compute_fields(field_names=field_names)
        if field_names is None or {'type', 'code'} & field_names:
            id_type = IdType.by_code().get(self.type)
            if id_type and self.code:
                compact = id_type.compact(self.code)
                if compact != values.get('code_compact', self.code_compact):
                    values['code_compact'] = compact
            unique_code = self._unique_code(
                self.type, values.get('code_compact', self.code_compact))
            if unique_code != self.unique_code:
                values['unique_code'] = unique_code
        return values

    @fields.depends('type', 'code')
    def check_code(self):
        super().check_code()
        IdType = Pool().get('spp.id.type')
        id_type = IdType.by_code().get(self.type)
        if id_type and self.code:
            reason = id_type.check(self.code)
            if reason:
                raise InvalidIdentifier(gettext(
                        'spp_registry.msg_invalid_identifier',
                        type=id_type.name, code=self.code, reason=reason))

    @classmethod
    def validate_fields(cls, identifiers, field_names):
        super().validate_fields(identifiers, field_names)
        if field_names and not {'type', 'code'} & field_names:
            return
        for identifier in identifiers:
            identifier.check_code()

    @classmethod
    def create(cls, vlist):
        cls.check_duplicates(
            [(v.get('type'), v.get('code')) for v in vlist], [])
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        for identifiers, values in zip(actions, actions):
            if {'type', 'code'} & values.keys():
                cls.check_duplicates([
                        (values.get('type', i.type), values.get('code', i.code))
                        for i in identifiers], [i.id for i in identifiers])
        super().write(*args)

    @classmethod
    def check_duplicates(cls, numbers, exclude_ids):
        """Refuse an ID number already held, naming the type and number.

        The UNIQUE constraint on unique_code stays the final guard; this
        check runs first so the caseworker reads which number clashes."""
        wanted = {}
        for type_, code in numbers:
            unique_code = cls.stored_unique_code(type_, code)
            if not unique_code:
                continue
            if unique_code in wanted:
                cls._raise_duplicate(type_, code)
            wanted[unique_code] = (type_, code)
        # Archived identifiers keep their unique_code, and so their number.
        with Transaction().set_context(active_test=False):
            for sub_codes in grouped_slice(list(wanted), 1000):
                others = cls.search([
                        ('unique_code', 'in', list(sub_codes)),
                        ('id', 'not in', exclude_ids),
                        ], limit=1)
                if others:
                    cls._raise_duplicate(others[0].type, others[0].code)

    @classmethod
    def _raise_duplicate(cls, type_, code):
        IdType = Pool().get('spp.id.type')
        raise InvalidIdentifier(gettext(
                'spp_registry.msg_identifier_duplicate_named',
                type=IdType.by_code()[type_].name, code=code))


class InvalidIdentifier(ValidationError):
    pass
