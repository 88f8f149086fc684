"""How audited models record what happens to them.

- `Audited`, a mixin of every model (tryton.cfg [register_mixin]): a
  create, write or delete of a model that an audit rule covers becomes one
  entry per record, with the old and new value of each audited field.
  Set-based operations that bypass the ORM record one entry per run
  instead (`spp.audit.log.record_action`).
- `AuditedModel`, the base of spp_audit's extensions of the suite's models
  (registry.py, programs.py, ...): their buttons are named actions a rule
  may audit, and, for models that hold personal data (`_audit_access`),
  what a caller receives over JSON-RPC (the web client's forms and lists,
  exports) is recorded as access."""
import contextvars
import copy
import functools

from trytond.pool import Pool

from .recorder import json_value


def _log():
    return Pool().get('spp.audit.log')


def _audited(model, kind):
    "The model's audit configuration when `kind` of change is audited."
    try:
        Log = _log()
    except KeyError:
        # spp_audit is not activated on this database.
        return None
    config = Log.config(model)
    if config and config[kind]:
        return config


class Audited:
    "Record creations, changes and deletions of audited models."
    __slots__ = ()

    @classmethod
    def _audit_values(cls, ids, names):
        return {r['id']: {n: json_value(r.get(n)) for n in names}
            for r in cls.read(list(ids), names)}

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode != 'create' or not records:
            return
        config = _audited(cls.__name__, 'create')
        if not config:
            return
        Rule = Pool().get('spp.audit.rule')
        names = Rule.audited_fields(cls.__name__, config)
        values = cls._audit_values(map(int, records), names)
        _log().record_changes(cls.__name__, 'create', {
                i: {n: [None, v] for n, v in vals.items() if v not in (
                        None, [], '')}
                for i, vals in values.items()})

    @classmethod
    def on_write(cls, records, values):
        callbacks = super().on_write(records, values)
        config = _audited(cls.__name__, 'write')
        if not config or not records:
            return callbacks
        Rule = Pool().get('spp.audit.rule')
        names = Rule.audited_fields(cls.__name__, config, values.keys())
        if not names:
            return callbacks
        ids = [r.id for r in records]
        before = cls._audit_values(ids, names)

        def record_changes():
            after = cls._audit_values(ids, names)
            changes = {}
            for record_id, old in before.items():
                new = after.get(record_id, {})
                changed = {n: [old[n], new.get(n)] for n in names
                    if old[n] != new.get(n)}
                if changed:
                    changes[record_id] = changed
            _log().record_changes(cls.__name__, 'write', changes)
        return callbacks + [record_changes]

    @classmethod
    def on_delete(cls, records):
        callbacks = super().on_delete(records)
        config = _audited(cls.__name__, 'delete')
        if config and records:
            Rule = Pool().get('spp.audit.rule')
            names = Rule.audited_fields(cls.__name__, config)
            values = cls._audit_values([r.id for r in records], names)
            _log().record_changes(cls.__name__, 'delete', {
                    i: {n: [v, None] for n, v in vals.items()
                        if v not in (None, [], '')}
                    for i, vals in values.items()})
        return callbacks


# The buttons being run: a button wrapped at two levels of its class (an
# addon loaded later overrides it) is recorded once, by the outer level.
_running = contextvars.ContextVar('spp_audit_buttons', default=frozenset())


def _button(name, function):
    "The button `name`, recording its call as a named action."
    @functools.wraps(function)
    def button(cls, records, *args, **kwargs):
        key = (cls.__name__, name)
        running = _running.get()
        if key in running:
            return function(cls, records, *args, **kwargs)
        token = _running.set(running | {key})
        try:
            result = function(cls, records, *args, **kwargs)
        finally:
            _running.reset(token)
        if records and _audited(cls.__name__, 'actions') is not None:
            _log().record_action(cls.__name__, [r.id for r in records], name)
        return result
    return classmethod(button)


def _received(model, result, fields_names):
    "The ids of `model` and of audited targets of Many2One in a read."
    Model = Pool().get(model)
    targets = {}
    for name in fields_names or ():
        field = Model._fields.get(name)
        if getattr(field, '_type', None) == 'many2one' and getattr(
                Pool().get(field.model_name), '_audit_access', False):
            targets.setdefault(field.model_name, set()).update(
                row[name] for row in result if row.get(name) is not None)
    return targets


def _access_decorator(model, method):
    "Record what a JSON-RPC call of `method` returned of `model`."
    def decorator(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            Log = _log()
            if method == 'read':
                ids, fields_names = args[0], args[1] if len(args) > 1 else (
                    kwargs.get('fields_names'))
                Log.record_access(model, ids, fields=fields_names)
                for target, target_ids in _received(
                        model, result, fields_names).items():
                    Log.record_access(target, target_ids)
            elif method == 'search':
                domain = args[0] if args else kwargs.get('domain')
                count = result if isinstance(result, int) else len(result)
                Log.record_access(model, [], query=domain, count=count)
            elif method == 'search_read':
                domain = args[0] if args else kwargs.get('domain')
                fields_names = (args[4] if len(args) > 4
                    else kwargs.get('fields_names'))
                Log.record_access(model, [r['id'] for r in result],
                    query=domain, fields=fields_names)
            elif method == 'export_data':
                records, fields_names = args[0], args[1]
                Log.record_access(model, [r.id for r in records],
                    fields=fields_names, channel='export')
            elif method == 'export_data_domain':
                domain, fields_names = args[0], args[1]
                Log.record_access(model, [], query=domain,
                    count=len(result) - (1 if kwargs.get('header') or (
                            len(args) > 5 and args[5]) else 0),
                    fields=fields_names, channel='export')
            return result
        return wrapper
    return decorator


ACCESS_METHODS = (
    'read', 'search', 'search_read', 'export_data', 'export_data_domain')


class AuditedModel:
    """Base of spp_audit's extensions of a model of the suite.

    Every button becomes a named action that a rule may audit (`actions`);
    with `_audit_access`, what JSON-RPC returns of the model is recorded
    when a rule audits its access. Other named actions (wizards, imports)
    are listed in `_audit_actions` and recorded by the extension itself."""
    __slots__ = ()
    _audit_access = False
    _audit_actions = ()
    _audit_ignored = ()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        for name in getattr(cls, '_buttons', {}):
            method = getattr(cls, name, None)
            function = getattr(method, '__func__', None)
            if function is None or getattr(function, '_spp_audited', False):
                continue
            wrapped = _button(name, function)
            wrapped.__func__._spp_audited = True
            setattr(cls, name, wrapped)
        if cls._audit_access:
            for method in ACCESS_METHODS:
                rpc = cls.__rpc__.get(method)
                if rpc is None or getattr(
                        rpc.decorator, '_spp_audited', False):
                    continue
                audited = copy.copy(rpc)
                decorate = _access_decorator(cls.__name__, method)
                if rpc.decorator:
                    inner = rpc.decorator

                    def decorate(f, outer=decorate, inner=inner):
                        return outer(inner(f))
                decorate._spp_audited = True
                audited.decorator = decorate
                cls.__rpc__[method] = audited

