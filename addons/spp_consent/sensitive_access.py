"""Search and export of sensitive fields by the users who see them masked,
for every model (a mixin, tryton.cfg [register_mixin]): any model may
reach a registrant's birth date through a relation ('individual.
birth_date' from a membership).

A masked value must not be found out by the search either: a condition
comparing it (<, >) or matching part of it (ilike '%12%') answers, one
query after another, what the mask hides. For these users a search keeps
only the exact conditions on a number masked to its last characters (the
caseworker finds a person by the number they are told: = and != , in and
not in with a few values; like and ilike of the whole number are read
as =) and refuses any other condition on a sensitive field; a sort on one
is dropped. Exports mask the columns of sensitive fields as read() does."""
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.transaction import Transaction

from .sensitive import (
    HIDDEN, MAX_EXACT_VALUES, RESTRICTED_SEARCH, mask, masked_caller,
    masked_search, sensitive_custom_fields, sensitive_fields)

RELATIONS = {'many2one', 'one2many', 'many2many'}
EXACT = {'=', '!='}
LISTS = {'in', 'not in'}
LIKES = {'like': '=', 'ilike': '=', 'not like': '!=', 'not ilike': '!='}


class SensitiveSearchError(AccessError):
    pass


def _refuse(Model, name):
    field = Model._fields.get(name)
    string = field.string if field is not None else name
    return SensitiveSearchError(gettext(
            'spp_consent.msg_sensitive_search', field=string))


def _whole(value):
    "The text a like pattern stands for, its wildcards taken literally."
    return value.strip('%').replace('\\%', '%').replace('\\_', '_')


def exact_clause(Model, name, clause, style):
    """The clause, or its exact form, on a sensitive field masked with
    `style`; raise when it compares or matches part of the value."""
    operator, value = clause[1], clause[2]
    if style == 'last4':
        if operator in EXACT:
            return clause
        if (operator in LISTS and isinstance(value, (list, tuple))
                and len(value) <= MAX_EXACT_VALUES):
            return clause
        if operator in LIKES and isinstance(value, str) and _whole(value):
            return (clause[0], LIKES[operator], _whole(value), *clause[3:])
    raise _refuse(Model, name)


def restrict_domain(Model, domain):
    "`domain` of Model with only exact conditions on sensitive fields."
    if not isinstance(domain, (list, tuple)) or not domain:
        return domain
    if (len(domain) > 2 and isinstance(domain[0], str)
            and isinstance(domain[1], str)
            and domain[0] not in {'AND', 'OR'}):
        return restrict_clause(Model, tuple(domain))
    return [d if isinstance(d, str) else restrict_domain(Model, d)
        for d in domain]


def restrict_clause(Model, clause):
    name, operator, value = clause[:3]
    Current, path = Model, name
    while True:
        local, _, relate = path.partition('.')
        field = Current._fields.get(local)
        if field is None:
            return clause
        style = sensitive_fields(Current.__name__).get(local)
        if style:
            return exact_clause(Current, local, (
                    name, operator, value, *clause[3:]), style)
        if local == 'custom_values' and relate:
            if relate.split('.', 1)[0] in sensitive_custom_fields():
                raise _refuse(Current, local)
            return clause
        if (local == 'custom_filter' and not relate
                and hasattr(Current, 'search_custom_filter')):
            # The filter is turned into conditions on custom fields (and,
            # with programs, on any field): they are checked.
            restrict_domain(Current, Current.search_custom_filter(
                    local, (local, operator, value)))
            return clause
        Target = (field.get_target() if field._type in RELATIONS
            else None)
        if Target is None:
            return clause
        if relate:
            Current, path = Target, relate
            continue
        if operator.endswith('where'):
            return (name, operator, restrict_domain(Target, value),
                *clause[3:])
        return clause


def target_field(Model, path):
    """(Model, field name, style) of the last field of a path (a list of
    names, as an export's, or one dotted name), style None when not
    sensitive; a relation whose target shows a sensitive rec_name (an
    identifier) is sensitive too."""
    names = path.split('.') if isinstance(path, str) else path
    Current = Model
    for i, name in enumerate(names):
        name = name.split(':lang=')[0]
        if name.endswith('.translated'):
            name = name[:-len('.translated')]
        field = Current._fields.get(name)
        if field is None:
            return Current, name, None
        style = sensitive_fields(Current.__name__).get(name)
        if style:
            return Current, name, style
        Target = (field.get_target() if field._type in RELATIONS
            else None)
        if Target is None:
            return Current, name, None
        if i == len(names) - 1:
            target_style = sensitive_fields(Target.__name__).get('rec_name')
            if target_style:
                return Current, name, (target_style
                    if field._type == 'many2one' else 'hidden')
            return Current, name, None
        Current = Target
    return Current, names[-1], None


def restrict_order(Model, order):
    "The order without its sorts on sensitive fields."
    if not order:
        return order
    return [o for o in order
        if not (isinstance(o, (list, tuple)) and o
            and isinstance(o[0], str) and target_field(Model, o[0])[2])]


class SensitiveAccess:
    "Exact searches only and masked exports of sensitive fields."
    __slots__ = ()

    @classmethod
    def search(cls, domain, *args, **kwargs):
        if (Transaction().context.get(RESTRICTED_SEARCH)
                or not masked_search()):
            return super().search(domain, *args, **kwargs)
        domain = restrict_domain(cls, domain)
        # search(domain, offset, limit, order, count, ...)
        if 'order' in kwargs:
            kwargs['order'] = restrict_order(cls, kwargs['order'])
        elif len(args) > 2:
            args = (*args[:2], restrict_order(cls, args[2]), *args[3:])
        with Transaction().set_context({RESTRICTED_SEARCH: True}):
            result = super().search(domain, *args, **kwargs)
        if isinstance(result, list):
            # Out of the searching context, which only conversions need.
            result = cls.browse([r.id for r in result])
        return result

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        data = super().export_data(records, fields_names, header=header)
        if not masked_caller():
            return data
        columns = {}
        for i, name in enumerate(fields_names):
            Model, field_name, style = target_field(cls, name.split('/'))
            if style:
                columns[i] = style
            elif field_name == 'custom_values':
                columns[i] = 'custom'
        if not columns:
            return data
        hidden_keys = sensitive_custom_fields()
        for row in data[1:] if header else data:
            for i, style in columns.items():
                if style == 'custom':
                    if isinstance(row[i], dict):
                        row[i] = {k: v for k, v in row[i].items()
                            if k not in hidden_keys}
                elif row[i] not in (None, ''):
                    row[i] = (HIDDEN if isinstance(row[i], (list, tuple))
                        else mask(row[i], style))
        return data
