"""Custom fields as multipliers (registered only when spp_custom_field is
installed): integer and decimal custom fields and computed indicators
(count, sum) of registrants multiply entitlement items like the
registry's own indicators. Conditions on custom fields need nothing here:
they are names of the rule language."""
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.spp_custom_field.indicator import get_key_number
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

NUMERIC_TYPES = {'integer', 'numeric'}


def numeric_custom_fields():
    "{name: label} of the numeric custom fields and indicators."
    CustomField = Pool().get('spp.custom_field')
    with without_check_access():
        definitions = CustomField.definitions()
    return {name: definition['string']
        for name, definition in definitions.items()
        if definition['type'] in NUMERIC_TYPES}


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def entitlement_multiplier_fields(cls):
        own = super().entitlement_multiplier_fields()
        custom = [(name, label)
            for name, label in sorted(numeric_custom_fields().items())
            if name not in cls._fields]
        return own + custom

    @classmethod
    def entitlement_multiplier_sql(cls, table, name):
        if name in cls._fields:
            return super().entitlement_multiplier_sql(table, name)
        return get_key_number(table.custom_values, name)

    def entitlement_multiplier(self, name):
        if name in self._fields:
            return super().entitlement_multiplier(name)
        value = (self.custom_values or {}).get(name)
        return Decimal(str(value)) if value is not None else None


class CustomField(metaclass=PoolMeta):
    __name__ = 'spp.custom_field'

    @classmethod
    def check_delete(cls, records):
        """Refuse to delete a field an entitlement item multiplies by or
        names in its condition (its amounts would silently become 0)."""
        super().check_delete(records)
        pool = Pool()
        for Item in [pool.get('spp.entitlement.item'),
                pool.get('spp.entitlement.in_kind_item')]:
            with without_check_access(), Transaction().set_context(
                    active_test=False):
                items = Item.search([])
            for record in records:
                word = re.compile(r'(?<![\w.])%s(?![\w])' % re.escape(
                        record.name))
                for item in items:
                    if (item.multiplier_field == record.name
                            or word.search(item.condition or '')):
                        raise AccessError(gettext(
                                'spp_entitlement.msg_custom_field_used',
                                field=record.string, item=item.rec_name,
                                program=item.program.rec_name))
