"""Group indicators defined without code, computed set-based and stored in
a narrow table of (group, indicator, value) rows, one statement per
indicator for all groups (or a given set), run whenever the registry
recomputes its own indicators (member changes, the Recompute button, the
import, the nightly cron). See README.rst for why not in the party row."""
import json
import re

from sql import Cast, Literal, Null
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Function

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

COMPUTES = [
    (None, ""),
    ('count', "Count of members matching"),
    ('any', "Any member matching"),
    ('sum', "Sum of a member field"),
    ]
COMPUTE_TYPES = {'count': 'integer', 'any': 'boolean', 'sum': 'numeric'}


class JsonbExtractPathText(Function):
    __slots__ = ()
    _function = 'jsonb_extract_path_text'


class JsonExtract(Function):
    __slots__ = ()
    _function = 'JSON_EXTRACT'


def get_key_number(column, key):
    """The numeric value of the custom field key of the registrant row of
    column (its custom_values column): read from the JSON (per backend),
    or from the indicator table for a computed indicator (0 for a group
    without a row, NULL for other registrants)."""
    definition = Pool().get('spp.custom_field').definitions().get(key)
    if definition and definition['computed']:
        party = column.table
        value = Pool().get('spp.custom_field.indicator_value').__table__()
        stored = value.select(value.value,
            where=(value.field == definition['id'])
            & (value.group == party.id))
        return Case((party.registrant_type == 'group',
                Coalesce(stored, 0)), else_=Null)
    if backend.name == 'postgresql':
        return Cast(JsonbExtractPathText(Cast(column, 'jsonb'), key),
            'NUMERIC')
    return JsonExtract(column, Literal('$.' + key))


class CustomField(metaclass=PoolMeta):
    __name__ = 'spp.custom_field'
    compute = fields.Selection(COMPUTES, "Computed As",
        help="Leave empty for a value entered by users; otherwise the "
        "value of each group is computed from its active members.")
    condition = fields.Text("Member Condition",
        states={'invisible': ~Eval('compute')},
        help="Which members count, as an eligibility rule over "
        "individuals (e.g. age < 5 and disability) when programs are "
        "installed, else a domain in JSON. Empty: every member.")
    sum_field = fields.Char("Summed Field",
        states={
            'invisible': Eval('compute') != 'sum',
            'required': Eval('compute') == 'sum',
            },
        help="Technical name of a numeric field of individuals: a "
        "registry field (e.g. income) or a custom field.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'recompute': {
                    'invisible': ~Eval('compute'),
                    'depends': ['compute'],
                    },
                })
        for name in ['type_', 'applies_to']:
            field = getattr(cls, name)
            field.states = field.states.copy()
            field.states['readonly'] = Bool(Eval('compute'))

    @classmethod
    def exported_fields(cls):
        return super().exported_fields() + [
            'compute', 'condition', 'sum_field']

    @fields.depends('compute')
    def on_change_compute(self):
        if self.compute:
            self.type_ = COMPUTE_TYPES[self.compute]
            self.applies_to = 'group'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('compute'):
            values['type_'] = COMPUTE_TYPES[values['compute']]
            values['applies_to'] = 'group'
        return values

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            if record.compute:
                record.condition_domain()
                if record.compute == 'sum':
                    record.sum_expression(Pool().get(
                            'party.party').__table__())

    @classmethod
    def compile_condition(cls, text):
        """The domain over individuals of a condition written as a JSON
        domain; spp_programs adds its rule language."""
        try:
            domain = json.loads(text)
        except ValueError:
            domain = None
        if not isinstance(domain, list):
            raise ValidationError(gettext(
                    'spp_custom_field.msg_condition_invalid',
                    condition=text))
        return domain

    def condition_domain(self):
        if not self.condition or not self.condition.strip():
            return []
        return self.compile_condition(self.condition)

    def sum_expression(self, person):
        "The SQL expression of the summed field on the row person."
        Party = Pool().get('party.party')
        name = self.sum_field or ''
        field = Party._fields.get(name)
        if field is not None and field._type in {
                'integer', 'numeric', 'float'} and not hasattr(
                    field, 'getter'):
            return getattr(person, name)
        definition = self.definitions().get(name)
        if definition and definition['type'] in {'integer', 'numeric'}:
            return get_key_number(person.custom_values, name)
        raise ValidationError(gettext(
                'spp_custom_field.msg_sum_field_invalid', field=name))

    @classmethod
    def check_delete(cls, records):
        super().check_delete(records)
        names = {r.name for r in records}
        for other in cls.search([
                    ('id', 'not in', [r.id for r in records]),
                    ('compute', '!=', None),
                    ]):
            words = set(re.findall(r'[A-Za-z_][A-Za-z0-9_]*',
                    f'{other.condition or ""} {other.sum_field or ""}'))
            used = names & words
            if used:
                record = next(r for r in records if r.name in used)
                raise AccessError(gettext(
                        'spp_custom_field.msg_delete_used_indicator',
                        field=record.string, indicator=other.string))

    @classmethod
    def delete(cls, records):
        ids = [r.id for r in records if r.compute]
        super().delete(records)
        Pool().get('spp.custom_field.indicator_value').delete_values(
            fields=ids)

    @classmethod
    @ModelView.button
    def recompute(cls, records):
        Party = Pool().get('party.party')
        Party.recompute_custom_indicators(records=records)

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if (mode in {'create', 'write'} and not Transaction().context.get(
                    'spp_custom_field_no_recompute')):
            computed = [r for r in records if r.compute]
            if computed and (mode == 'create' or field_names & {
                        'compute', 'condition', 'sum_field'}):
                Pool().get('party.party').recompute_custom_indicators(
                    records=computed)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def recompute_indicators(cls, group_ids=None, names=None):
        super().recompute_indicators(group_ids=group_ids, names=names)
        if not names:
            cls.recompute_custom_indicators(group_ids)

    @classmethod
    def recompute_custom_indicators(cls, group_ids=None, records=None):
        """Store the value of each computed custom field (all active ones
        unless records) for the groups (all when None) with one statement
        per indicator (and per slice of 10,000 given groups)."""
        pool = Pool()
        CustomField = pool.get('spp.custom_field')
        IndicatorValue = pool.get('spp.custom_field.indicator_value')
        if group_ids is not None:
            group_ids = list(group_ids)
            if not group_ids:
                return
        if records is None:
            records = CustomField.search([('compute', '!=', None)])
        if not records:
            return
        slices = ([None] if group_ids is None
            else [list(s) for s in grouped_slice(group_ids, 10000)])
        for record in records:
            for sub_ids in slices:
                IndicatorValue.store(record,
                    cls._indicator_values(record, sub_ids), sub_ids)
        cls._invalidate_cache()

    @classmethod
    def _indicator_values(cls, record, group_ids=None):
        """The query of (group, value) of the computed field `record` for
        the groups (all when None) with at least one matching member: one
        aggregate over the active memberships of the matching members (a
        count, 1 for any, a sum)."""
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        today = pool.get('ir.date').today()
        membership = Membership.__table__()
        person = cls.__table__()
        condition = (Membership.active_condition(membership, today)
            & (person.disabled == Null))
        if group_ids is not None:
            condition &= membership.group.in_(group_ids)
        domain = record.condition_domain()
        if domain:
            with without_check_access(), \
                    Transaction().set_context(active_test=False):
                matching = cls.search(domain, query=True, order=[])
            condition &= person.id.in_(matching)
        if record.compute == 'sum':
            aggregate = Coalesce(Sum(record.sum_expression(person)), 0)
        elif record.compute == 'any':
            aggregate = Literal(1)
        else:
            aggregate = Count(Literal(1))
        return (membership
            .join(person, condition=membership.individual == person.id)
            .select(membership.group.as_('group'),
                aggregate.as_('value'),
                where=condition, group_by=[membership.group]))

    @classmethod
    def delete(cls, parties):
        ids = [p.id for p in parties if p.registrant_type == 'group']
        super().delete(parties)
        Pool().get('spp.custom_field.indicator_value').delete_values(
            groups=ids)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if (mode == 'write' and field_names
                and field_names & cls._custom_indicator_sources()):
            individuals = [p.id for p in parties
                if p.registrant_type == 'individual']
            if individuals:
                Membership = Pool().get('spp.group.membership')
                groups = {m.group.id for m in Membership.search([
                            ('individual', 'in', individuals),
                            ])}
                cls.recompute_custom_indicators(groups)

    @classmethod
    def _custom_indicator_sources(cls):
        "Names of individual fields custom indicators may depend on."
        CustomField = Pool().get('spp.custom_field')
        if not any(d['computed'] for d in CustomField.definitions().values()):
            return set()
        return {'custom_values', 'disabled'} | {
            n for n, f in cls._fields.items()
            if not hasattr(f, 'getter') and f._type not in {
                'one2many', 'many2many'}}
