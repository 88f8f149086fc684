"""Search domains and orders from users checked before trytond reads them.

trytond walks a search domain recursively, trusting its shape: a string
instead of a list recurses forever (RecursionError), an unknown field name
is a KeyError, a deeply nested list exhausts the stack, an unknown sort
direction is a KeyError, a NUL character in a value fails in PostgreSQL's
driver. Over JSON-RPC each of these answered a server error with its
traceback, for any model, where a clean error was due.

No single model owns the problem, and trytond offers no hook to validate
the domains of every model: its own check (ModelStorage.search's
check_domain, which collects the fields whose read access it checks) is a
nested function. The check is therefore a mixin of every model (tryton.cfg
[register_mixin]) whose search() runs first and refuses a malformed
domain or order with a user error naming the part at fault. It checks
searches made with the user's access checked only, as trytond's own check
does: those are the ones whose domain a caller can steer; the domains the
code builds for itself are left as they are. Report upstream: trytond
could raise DomainValidationError from check_domain itself."""
from trytond.const import OPERATORS
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.transaction import Transaction

from .text_values import holds_nul

BOOLEAN = {'AND', 'OR'}
RELATIONS = {'many2one', 'one2many', 'many2many'}
# Far beyond the filters of the client, far below the stack trytond's
# recursive conversion of a domain needs.
MAX_DEPTH = 64
DIRECTIONS = {f'{d}{n}' for d in ['ASC', 'DESC']
    for n in ['', ' NULLS FIRST', ' NULLS LAST']}


class InvalidDomainError(UserError):
    pass


def shown(part, limit=60):
    "A short, printable form of a part of a domain."
    text = repr(part)
    return text if len(text) <= limit else text[:limit] + '…'


def _error(name, Model, **variables):
    return InvalidDomainError(gettext(f'spp_registry.msg_domain_{name}',
            model=Model.__names__()['model'], **variables))


def is_condition(part):
    """Whether `part` is meant as a condition (trytond also wants its
    operator known, and walks it as a sub-domain otherwise)."""
    return (isinstance(part, (list, tuple)) and len(part) > 2
        and isinstance(part[1], str)
        and not (isinstance(part[0], str) and part[0] in BOOLEAN))


def check_domain(Model, domain, depth=0):
    "Raise InvalidDomainError unless `domain` is a domain of Model."
    if depth > MAX_DEPTH:
        raise _error('depth', Model, depth=MAX_DEPTH)
    if domain is None and not depth:  # as trytond: no condition
        return
    if not isinstance(domain, (list, tuple)):
        raise _error('not_list', Model, part=shown(domain))
    if is_condition(domain):
        check_condition(Model, domain, depth)
        return
    parts = domain
    if parts and isinstance(parts[0], str) and parts[0] in BOOLEAN:
        parts = parts[1:]
    for part in parts:
        check_domain(Model, part, depth + 1)


def check_condition(Model, condition, depth):
    "Check a (field path, operator, value[, …]) condition of Model."
    name, operator, value = condition[:3]
    if not isinstance(name, str):
        raise _error('field', Model, field=shown(name))
    if operator not in OPERATORS:
        raise _error('operator', Model, field=name[:60],
            operator=shown(operator))
    # PostgreSQL cannot take it even as a parameter.
    if holds_nul(value):
        raise _error('nul', Model, field=name[:60])
    Current, path = Model, name
    while True:
        local, _, relate = path.partition('.')
        field = Current._fields.get(local)
        if field is None:
            raise _error('field', Model, field=name[:60])
        Target = (field.get_target() if field._type in RELATIONS
            else None)
        # A key of a Dict field, or a path trytond reads its own way.
        if not relate or Target is None:
            break
        Current, path = Target, relate
    # Operators of relations: on another field trytond asserts, or fails
    # on the column.
    if operator.endswith(('where', 'child_of', 'parent_of')) and (
            Target is None or (operator.endswith('where') and '.' in name)):
        raise _error('operator', Model, field=name[:60],
            operator=shown(operator))
    if operator.endswith(('child_of', 'parent_of')) and len(condition) > 3:
        parent = condition[3]
        if not isinstance(parent, str) or parent not in Target._fields:
            raise _error('field', Target, field=shown(parent))
    elif operator.endswith('where'):
        check_domain(Target, value, depth + 1)


def check_order(Model, order):
    "Raise InvalidDomainError unless `order` is an order of Model."
    if not order:  # None or False: the model's order
        return
    if not isinstance(order, (list, tuple)):
        raise _error('order', Model, part=shown(order))
    for part in order:
        if not (isinstance(part, (list, tuple)) and len(part) == 2
                and isinstance(part[0], str)
                and (not part[1] or (isinstance(part[1], str)
                        and part[1].upper() in DIRECTIONS))):
            raise _error('order', Model, part=shown(part))
        local, _, relate = part[0].partition('.')
        field = Model._fields.get(local)
        if field is None:
            raise _error('field', Model, field=part[0][:60])
        if relate and field._type in RELATIONS:
            check_order(field.get_target(), [(relate, part[1])])


class DomainCheck:
    "Refuse malformed search domains and orders of users."
    __slots__ = ()

    @classmethod
    def search(cls, domain, *args, **kwargs):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            check_domain(cls, domain)
            # search(domain, offset, limit, order, …)
            check_order(cls, kwargs['order'] if 'order' in kwargs
                else args[2] if len(args) > 2 else None)
        return super().search(domain, *args, **kwargs)
