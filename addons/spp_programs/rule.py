"""The eligibility rule language, compiled to Tryton domains.

A rule reads like ``age >= 60 and area in "District A"``. It is parsed into
a small tree, then compiled against the fields of ``party.party``: field
names, operators and values are checked, records named in values (areas,
genders...) are resolved to ids, and the result is an ordinary domain that
the ORM turns into SQL. Users never write SQL.

Grammar::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" rule ")" | condition
    FIELD      := name ("." name)*        (a path through relations)
    condition  := FIELD OP value | FIELD ["not"] "in" values
                | FIELD "is" ["not"] "set" | FIELD "contains" STRING
                | FIELD                       (a boolean field is true)
    values     := value | "[" value ("," value)* "]"
    value      := NUMBER | STRING | true | false
"""
import datetime as dt
from decimal import Decimal, InvalidOperation

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

from .rule_parser import RuleError, parse

__all__ = ['RuleError', 'compile_rule', 'parse', 'rule_fields']

COMPARISONS = {'=', '!=', '<', '<=', '>', '>='}
# Negation of each compiled operator (used to push "not" down the tree).
NEGATE = {
    '=': '!=', '!=': '=', '<': '>=', '>=': '<', '>': '<=', '<=': '>',
    'in': 'not in', 'not in': 'in', 'child_of': 'not child_of',
    'not child_of': 'child_of', 'ilike': 'not ilike', 'not ilike': 'ilike',
    }
ORDERED_TYPES = {'integer', 'float', 'numeric', 'date', 'datetime'}
SUPPORTED_TYPES = ORDERED_TYPES | {
    'char', 'text', 'boolean', 'selection', 'many2one'}
RELATIONS = {'many2one', 'one2many', 'many2many'}
# Technical fields that make no sense in an eligibility rule (record ids,
# stamps, search keys, merge and archive internals): neither usable nor
# listed. Disabled registrants are left out of every program anyway.
HIDDEN_FIELDS = {'id', 'rec_name', 'create_uid', 'write_uid', 'create_date',
    'write_date', 'name_key', 'disabled_by', 'disabled', 'disabled_reason',
    'active', 'code_alnum', 'code_digit', 'replaced_by', 'tax_identifier'}
# What each type of field is, in words, and an example of a comparison.
KINDS = {
    'integer': ("a whole number", ">= 60"),
    'float': ("a number", ">= 1.5"),
    'numeric': ("a number", ">= 1000"),
    'date': ("a date", '< "2000-01-31"'),
    'datetime': ("a date", '< "2000-01-31"'),
    'char': ("a text", 'contains "Maria"'),
    'text': ("a text", 'contains "Maria"'),
    'boolean': ("a yes-or-no field", "= true"),
    'selection': ("a choice from a list", '= "..."'),
    'many2one': ("a link to a record", '= "name or code"'),
    }
# The models a rule may reach: registrants and the registry's relations.
# A rule is a question about the registry; through any other relation it
# could ask about users (password hashes) or whatever the caller may not
# read, one yes-or-no count at a time. Other addons add theirs through
# `rule_extra_models()` on party.party.
RULE_MODELS = {
    'party.party', 'party.identifier', 'spp.id.type',
    'spp.group.membership', 'spp.group.membership.role',
    'spp.relationship', 'spp.relationship.kind',
    'spp.area', 'spp.area.kind', 'spp.gender', 'spp.group.kind',
    'country.country', 'country.subdivision',
    }
# The database's integer range: a rule on an integer field holds no other.
INTEGER_RANGE = (-2 ** 31, 2 ** 31 - 1)


def rule_models(Party):
    "The models a rule on party.party may reach."
    models = set(RULE_MODELS)
    if hasattr(Party, 'rule_extra_models'):
        models.update(Party.rule_extra_models())
    return models


def _unreadable_fields(Model):
    "Names of Model's fields the user may not read, when access is checked."
    if not Transaction().check_access:
        return set()
    FieldAccess = Pool().get('ir.model.field.access')
    access = FieldAccess.get_access([Model.__name__])[Model.__name__]
    return {name for name, modes in access.items() if not modes['read']}


def relation_fields(Model, models):
    "The relations of Model a rule may follow: {name: field}."
    unreadable = _unreadable_fields(Model)
    return {name: field for name, field in Model._fields.items()
        if field._type in RELATIONS
        and field.get_target().__name__ in models
        and name not in HIDDEN_FIELDS and name not in unreadable
        and not (getattr(field, 'getter', None)
            and not getattr(field, 'searcher', None))}


def rule_fields(Model, models=None):
    """The fields of Model usable in a rule: {name: field}; with `models`,
    a Many2One only to one of them. A field the user may not read is not
    usable."""
    unreadable = _unreadable_fields(Model)
    result = {}
    for name, field in Model._fields.items():
        if (name in HIDDEN_FIELDS or name in unreadable
                or field._type not in SUPPORTED_TYPES):
            continue
        if getattr(field, 'getter', None) and not getattr(
                field, 'searcher', None):
            continue
        if (models is not None and field._type == 'many2one'
                and field.model_name not in models):
            continue
        result[name] = field
    # Hook: other addons add rule names that are not model fields (e.g.
    # spp_custom_field's custom values), as objects with the attributes of
    # a field and the `search_name` the domain uses.
    if hasattr(Model, 'rule_extra_fields'):
        result.update(Model.rule_extra_fields())
    return result


class Compiler:
    "Compile a parsed rule into a domain over `model_name`."

    def __init__(self, model_name='party.party'):
        self.Model = Pool().get(model_name)
        self.reachable = rule_models(self.Model)
        self.fields = rule_fields(self.Model, self.reachable)
        self.models = {}

    def compile(self, tree, negative=False):
        kind = tree[0]
        if kind == 'not':
            return self.compile(tree[1], not negative)
        if kind in {'and', 'or'}:
            # De Morgan: not (a and b) = not a or not b
            is_or = (kind == 'or') != negative
            terms = [self.compile(t, negative) for t in tree[1]]
            return ['OR', *terms] if is_or else terms
        clause = self.condition(*tree[1:], negative=negative)
        search_name = getattr(self.fields[tree[1]], 'search_name', None)
        if search_name:
            clause = self._rename(tree[1], search_name, clause)
        return clause

    def _rename(self, name, search_name, clause):
        "The clause on a hooked rule name, searched as `search_name`."
        prefix = name.rpartition('.')[0]
        operator, value = clause[1], clause[2]
        if operator.endswith('child_of'):
            # Values of a hooked name are plain ids: expand trees here.
            Target = Pool().get(self.fields[name].model_name)
            value = [r.id for r in Target.search(
                    [('parent', 'child_of', value)])]
            operator = 'not in' if operator.startswith('not') else 'in'
        return (f'{prefix}.{search_name}' if prefix else search_name,
            operator, value)

    def resolve(self, name, position):
        """Return the model and field at the end of a path such as
        `memberships.individual.age`, checking each step."""
        ModelAccess = Pool().get('ir.model.access')
        Model, fields_ = self.Model, self.fields
        *relations, last = name.split('.')
        for part in relations:
            relations_ = relation_fields(Model, self.reachable)
            field = relations_.get(part)
            if field is not None and Transaction().check_access:
                if not ModelAccess.check(field.get_target().__name__,
                        'read', raise_exception=False):
                    field = None
            if field is None:
                raise RuleError(gettext(
                        'spp_programs.msg_rule_unknown_field',
                        field=name, position=position + 1,
                        fields=', '.join(sorted(relations_))))
            Model = field.get_target()
            fields_ = rule_fields(Model, self.reachable)
        field = fields_.get(last)
        if field is None:
            raise RuleError(gettext('spp_programs.msg_rule_unknown_field',
                    field=name, position=position + 1,
                    fields=', '.join(sorted(fields_))))
        return Model, field

    def condition(self, name, operator, value, position, negative=False):
        Model, field = self.resolve(name, position)
        self.fields[name] = field
        self.models[name] = Model
        type_ = field._type
        if operator in {'is set', 'is not set'}:
            if type_ == 'boolean':
                clause = (name, '=', operator == 'is set')
            else:
                clause = (name, '!=' if operator == 'is set' else '=', None)
            return self._negate(clause) if negative else clause
        if operator == 'is true':
            if type_ != 'boolean':
                raise self._missing_comparison(name, position, field)
            return (name, '=', not negative)
        allowed = self._operators(type_, field)
        if operator not in allowed:
            raise self._operator_error(name, operator, type_)
        if operator in {'in', 'not in'}:
            values = [self._value(name, field, v) for v in value]
        else:
            values = [self._value(name, field, value)]
        clause = self._clause(name, field, operator, values)
        return self._negate(clause) if negative else clause

    @staticmethod
    def _operators(type_, field):
        if type_ in ORDERED_TYPES:
            return COMPARISONS | {'in', 'not in'}
        if type_ in {'char', 'text'}:
            return {'=', '!=', 'in', 'not in', 'contains'}
        if type_ == 'boolean':
            return {'=', '!='}
        return {'=', '!=', 'in', 'not in'}

    def _operator_error(self, name, operator, type_):
        field = self.fields[name]
        operators = sorted(self._operators(type_, field))
        if type_ == 'boolean':
            operators = [f'{name}', f'not {name}', *operators]
        operators += ['is set', 'is not set']
        return RuleError(gettext('spp_programs.msg_rule_bad_operator',
                operator=operator, field=name, kind=self._kind(field)[0],
                operators=', '.join(operators)))

    def _missing_comparison(self, name, position, field):
        "A field other than yes-or-no written alone, without a comparison."
        kind, example = self._kind(field)
        if field._type == 'selection':
            example = self._selection_example(name, field)
        return RuleError(gettext('spp_programs.msg_rule_no_comparison',
                field=name, position=position + 1, kind=kind,
                example=example))

    @staticmethod
    def _kind(field):
        return KINDS.get(field._type, (field._type, '= ...'))

    def _selection_example(self, name, field):
        selection = field.selection
        if isinstance(selection, str):
            selection = getattr(self.models[name], selection)()
        keys = [k for k, _ in selection if k]
        return f'= "{keys[0]}"' if keys else '= "..."'

    def _value_error(self, name, value, reason):
        return RuleError(gettext('spp_programs.msg_rule_bad_value',
                value=repr(value) if isinstance(value, str) else value,
                field=name, reason=reason))

    def _value(self, name, field, value):
        "Convert a literal to the field's type, or raise RuleError."
        type_ = field._type
        if isinstance(value, bool) != (type_ == 'boolean'):
            expected = ('true or false' if type_ == 'boolean'
                else f'{self._kind(field)[0]} (not true or false)')
            raise self._value_error(name, value, f'{expected} is expected')
        if type_ == 'integer':
            if not isinstance(value, int):
                raise self._value_error(
                    name, value, 'a whole number is expected')
            low, high = INTEGER_RANGE
            if not low <= value <= high:
                raise self._value_error(name, value,
                    f'a whole number from {low} to {high} is expected')
            return value
        if type_ in {'float', 'numeric'}:
            if isinstance(value, str):
                raise self._value_error(name, value, 'a number is expected')
            try:
                return Decimal(value) if type_ == 'numeric' else float(value)
            except (InvalidOperation, ValueError):
                raise self._value_error(name, value, 'a number is expected')
        if type_ in {'date', 'datetime'}:
            try:
                date = dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise self._value_error(
                    name, value, 'a date written "YYYY-MM-DD" is expected')
            if type_ == 'datetime':
                return dt.datetime.combine(date, dt.time())
            return date
        if type_ in {'char', 'text'}:
            if not isinstance(value, str):
                raise self._value_error(
                    name, value, 'a quoted text is expected')
            return value
        if type_ == 'selection':
            return self._selection_value(name, field, value)
        if type_ == 'many2one':
            if not isinstance(value, str):
                raise self._value_error(
                    name, value, 'a quoted name or code is expected')
            return self._record_ids(name, field, value)
        return value

    def _selection_value(self, name, field, value):
        selection = field.selection
        if isinstance(selection, str):
            selection = getattr(self.models[name], selection)()
        for key, label in selection:
            if key is not None and value in {key, label}:
                return key
        keys = ', '.join(f'"{k}"' for k, _ in selection if k is not None)
        raise self._value_error(name, value, f'one of {keys} is expected')

    def _record_ids(self, name, field, value):
        "Ids of the records of the target model whose name or code is value."
        Target = Pool().get(field.model_name)
        domain = [('rec_name', '=', value)]
        if 'code' in Target._fields:
            domain = ['OR', domain, ('code', '=', value)]
        ids = [r.id for r in Target.search(domain)]
        if not ids:
            raise self._value_error(name, value,
                f'no {field.string} has this name or code')
        return ids

    def _clause(self, name, field, operator, values):
        if field._type == 'many2one':
            ids = sorted({i for v in values for i in v})
            Target = Pool().get(field.model_name)
            parent = Target._fields.get('parent')
            tree = getattr(parent, 'model_name', None) == Target.__name__
            if operator in {'in', 'not in'} and tree:
                # Areas (and other trees) include their descendants.
                op = 'child_of' if operator == 'in' else 'not child_of'
                return (name, op, ids, 'parent')
            if operator in {'=', 'in'}:
                return (name, 'in', ids)
            return (name, 'not in', ids)
        if operator == 'contains':
            return (name, 'ilike', f'%{values[0]}%')
        if operator in {'in', 'not in'}:
            return (name, operator, values)
        return (name, operator, values[0])

    @staticmethod
    def _negate(clause):
        return (clause[0], NEGATE[clause[1]], *clause[2:])


def compile_rule(text, model_name='party.party'):
    """Compile the rule `text` into a domain over `model_name`.

    An empty rule is the empty domain (everybody). Raise RuleError naming
    the problem: a syntax error (with its position), an unknown field, an
    operator the field does not support or a value of the wrong kind."""
    if not text or not text.strip():
        return []
    domain = Compiler(model_name).compile(parse(text))
    if isinstance(domain, tuple):
        domain = [domain]
    return domain
