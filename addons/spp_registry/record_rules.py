"""Record rules of the registry: the area context, and two paths where
trytond's own checks are not enough.

1. The rule context carries the ids of the user's areas (`spp_areas`),
   which the area rules read with `child_of`.

2. Exports check read rules in SQL. trytond checks each record an export
   reaches (the exported records and every record followed through a
   relation, `identifiers/code`, `memberships/individual/name`) by
   evaluating the read rule in Python (`eval_domain`), where `child_of`,
   `where` and dotted paths such as `party.area` are always true: every
   area rule passed and an area-limited user could export the whole
   registry. `export_rule_check()` replaces that one evaluation with the
   same query `read` runs, one query per batch of records of a model.
   trytond gives no hook for it, so `install()` (called by the addon's
   __init__.py) puts the replacement on the name `eval_domain` in
   trytond.model.modelstorage; any other evaluation goes to trytond's
   function.

3. Hidden records read as missing (`HiddenAsMissingMixin`, a mixin of
   every ModelSQL model through tryton.cfg's [register_mixin], so that a
   model an addon adds later is covered too): trytond tells "not allowed
   because of the rule Registrants in the user's areas" from "does not
   exist", so that a user learns which ids exist elsewhere. It acts only
   on an AccessError, so it costs nothing on the paths that succeed.
"""
import operator
import weakref

from trytond.backend import MAX_QUERY_PARAMS
from trytond.i18n import gettext
from trytond.model import ModelSQL, modelstorage
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, inactive_records, without_check_access)


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        context['spp_areas'] = Pool().get('res.user').get_spp_areas()
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        return (*key, tuple(Pool().get('res.user').get_spp_areas()))


# What the export check found, per transaction:
# {transaction: {(model, user, change counter): (read rule, {id: readable})}}
_checked = weakref.WeakKeyDictionary()
_python_eval_domain = modelstorage.eval_domain


def export_rule_check(domain, context, boolop=operator.and_):
    """`eval_domain` for trytond.model.modelstorage: the read rule of a
    stored record, as trytond's export checks it, is evaluated in SQL;
    anything else by trytond's `eval_domain`."""
    if isinstance(context, modelstorage.EvalEnvironment):
        record, Model = context._record, context._model
        if (issubclass(Model, ModelSQL)
                and record.id is not None and record.id >= 0):
            rule, known = _export_state(Model)
            if domain == rule:
                return _is_readable(Model, record, rule, known)
    return _python_eval_domain(domain, context, boolop)


def _export_state(Model):
    "The read rule of Model and the ids checked, in this transaction."
    transaction = Transaction()
    states = _checked.setdefault(transaction, {})
    key = (Model.__name__, transaction.user, transaction.counter)
    if key not in states:
        rule = Pool().get('ir.rule').domain_get(Model.__name__, mode='read')
        states[key] = (rule, {})
    return states[key]


def _is_readable(Model, record, rule, known):
    if record.id not in known:
        # The record's siblings (the records browsed with it) are checked
        # with it: one query for a batch, not one per exported row.
        batch = {i for i in record._ids if i >= 0 and i not in known}
        batch.add(record.id)
        with without_check_access(), inactive_records():
            for ids in grouped_slice(sorted(batch), MAX_QUERY_PARAMS):
                ids = list(ids)
                allowed = set(map(int, Model.search(
                            [('id', 'in', ids), rule], order=[])))
                known.update((i, i in allowed) for i in ids)
    return known[record.id]


def install():
    """Have trytond's export check read rules with export_rule_check()
    (once): the name is looked up in trytond.model.modelstorage at each
    call."""
    if modelstorage.eval_domain is _python_eval_domain:
        modelstorage.eval_domain = export_rule_check


class HiddenAsMissingMixin:
    """Answer a record the user's rules hide exactly as a missing record,
    for read, write and delete."""
    __slots__ = ()

    @classmethod
    def read(cls, ids, fields_names):
        try:
            return super().read(ids, fields_names)
        except AccessError:
            cls._raise_hidden_as_missing(ids, 'read')
            raise

    @classmethod
    def write(cls, *args):
        try:
            return super().write(*args)
        except AccessError:
            records = [r for rs in args[::2] for r in rs]
            cls._raise_hidden_as_missing(list(map(int, records)), 'write')
            raise

    @classmethod
    def delete(cls, records):
        try:
            return super().delete(records)
        except AccessError:
            cls._raise_hidden_as_missing(list(map(int, records)), 'delete')
            raise

    @classmethod
    def _raise_hidden_as_missing(cls, ids, mode):
        "Raise the 'does not exist' error for ids hidden from the user."
        transaction = Transaction()
        if not (transaction.user and transaction.check_access):
            return
        Model = Pool().get('ir.model')
        ids = {i for i in ids if i >= 0}
        with inactive_records():
            visible = set()
            for sub_ids in grouped_slice(sorted(ids), MAX_QUERY_PARAMS):
                visible.update(map(int, cls.search(
                            [('id', 'in', list(sub_ids))], order=[])))
        hidden = sorted(ids - visible)
        if hidden:
            names = ', '.join(map(str, hidden[:5]))
            if len(hidden) > 5:
                names += '...'
            # trytond has no "missing" message for delete: a delete of
            # missing records fails where it reads them.
            message = 'ir.msg_write_error' if mode == 'write' \
                else 'ir.msg_read_error'
            raise AccessError(gettext(message,
                    ids=names, model=Model.get_name(cls.__name__)))
