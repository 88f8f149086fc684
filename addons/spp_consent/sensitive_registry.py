"""The masked values of registrants, their identifiers and contacts, for
the users outside the "View Sensitive Data" group calling over RPC: read
(and so search_read and the related fields other models read through
them), the client's field definitions, and writes.

Only calls whose access is checked are masked: buttons, wizards, crons
and the server's own code keep reading the values."""
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import PoolMeta
from trytond.pyson import Eval, Or, PYSONDecoder, PYSONEncoder
from trytond.tools import is_full_text, lstrip_wildcard
from trytond.transaction import Transaction, without_check_access

from .sensitive import (
    MAX_EXACT_VALUES, RESTRICTED_SEARCH, mask, masked_caller, sees_sensitive,
    sensitive_fields)

# Types the client shows a mask in as they are; others become text.
TEXT_TYPES = {'char', 'text'}


class SensitiveWriteError(AccessError):
    pass


def mask_value(name, value, style):
    "The masked value of the field `name` (a contact's keeps its name)."
    if (name == 'rec_name' and isinstance(value, str)
            and value.endswith('>') and ' <' in value):
        label, number = value[:-1].rsplit(' <', 1)
        return f'{label} <{mask(number, style)}>'
    return mask(value, style)


class SensitiveMixin:
    "Masked read, field definitions and refused writes."
    __slots__ = ()

    @classmethod
    def read(cls, ids, fields_names):
        result = super().read(ids, fields_names)
        styles = sensitive_fields(cls.__name__)
        if not styles or not masked_caller():
            return result
        masked = {n: styles[n] for n in (fields_names or cls._fields)
            if n in styles}
        if masked:
            for row in result:
                for name, style in masked.items():
                    if name in row:
                        row[name] = mask_value(name, row[name], style)
        return result

    @classmethod
    def fields_get(cls, fields_names=None, level=0):
        """Masked fields are text, and read-only on saved records (a new
        record may be given its value): the client shows the mask."""
        result = super().fields_get(fields_names, level=level)
        styles = sensitive_fields(cls.__name__)
        if not styles or not Transaction().user or sees_sensitive():
            return result
        encoder, decoder = PYSONEncoder(), PYSONDecoder(noeval=True)
        for name, style in styles.items():
            definition = result.get(name)
            if not definition:
                continue
            if definition['type'] not in TEXT_TYPES:
                definition['type'] = 'char'
                for key in ['digits', 'format', 'selection']:
                    definition.pop(key, None)
            # The client would check the field's domain on the mask.
            definition['domain'] = encoder.encode([])
            definition['sortable'] = False
            definition['searchable'] = style == 'last4'
            if style == 'hidden' or definition.get('readonly'):
                definition['readonly'] = True
                continue
            states = decoder.decode(definition.get('states') or '{}')
            readonly = Eval('id', -1) >= 0
            if states.get('readonly') is not None:
                readonly = Or(states['readonly'], readonly)
            states['readonly'] = readonly
            definition['states'] = encoder.encode(states)
        return result

    @classmethod
    def write(cls, *args):
        if masked_caller():
            cls.check_sensitive_write(args)
        super().write(*args)

    @classmethod
    def check_sensitive_write(cls, args):
        """Refuse the change of a sensitive value by a user who sees it
        masked: they cannot know what they overwrite. The value the
        record has may be sent back unchanged."""
        styles = sensitive_fields(cls.__name__)
        actions = iter(args)
        for records, values in zip(actions, actions):
            names = [n for n in values if n in styles
                and not cls._fields[n].readonly]
            if names:
                with without_check_access():
                    stored = cls.read([r.id for r in records], names)
                for row in stored:
                    changed = [n for n in names if values[n] != row[n]]
                    if changed:
                        raise SensitiveWriteError(gettext(
                                'spp_consent.msg_sensitive_write',
                                field=cls._fields[changed[0]].string))
            for name, value in values.items():
                field = cls._fields.get(name)
                if (field is not None and field._type == 'one2many'
                        and isinstance(value, (list, tuple))):
                    cls._check_nested_writes(field.get_target(), value)

    @classmethod
    def _check_nested_writes(cls, Target, actions):
        "The identifiers or contacts changed through their registrant."
        if not hasattr(Target, 'check_sensitive_write'):
            return
        for action in actions:
            if action and action[0] == 'write':
                Target.check_sensitive_write(_pairs(Target, action[1:]))


def _pairs(Target, items):
    "(records, values, ...) of the items of a One2Many write action."
    result = []
    for i in range(0, len(items) - 1, 2):
        result.extend([Target.browse(items[i]), items[i + 1]])
    return result


class Party(SensitiveMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def search_rec_name(cls, name, clause):
        """A user who sees ID numbers and phones masked finds a registrant
        by the whole number only, never by a part of it."""
        if not Transaction().context.get(RESTRICTED_SEARCH):
            return super().search_rec_name(name, clause)
        _, operator, operand, *extra = clause
        negated = operator.startswith('!') or operator.startswith('not ')
        code_value = number = operand
        if isinstance(operand, str):
            if operator.endswith('like') and is_full_text(operand):
                code_value = lstrip_wildcard(operand)
            number = operand.strip('%').replace('\\%', '%').replace(
                '\\_', '_')
        if operator in {'in', 'not in'}:
            exact = operator
        else:
            exact = '!=' if negated else '='
        domain = ['AND' if negated else 'OR',
            ('code', operator, code_value, *extra),
            ('name', operator, operand, *extra),
            ('identifiers.code', exact, number, *extra),
            ('identifiers.code_compact', exact, number, *extra),
            ('contact_mechanisms.value', exact, number, *extra),
            ('contact_mechanisms.value_compact', exact, number, *extra),
            ]
        if (operator in {'in', 'not in'}
                and len(operand or []) > MAX_EXACT_VALUES):
            # A long list of candidates would guess numbers.
            domain = domain[:3]
        elif not negated:
            # spp_registry: a group by an ID number of one of its members.
            domain.append(('memberships.individual.identifiers.code_compact',
                    exact, number, *extra))
        return domain


class Identifier(SensitiveMixin, metaclass=PoolMeta):
    __name__ = 'party.identifier'


class ContactMechanism(SensitiveMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'
