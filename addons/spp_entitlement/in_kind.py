"""In-kind items: goods (a product of trytond-product) in a quantity and
unit of measure, with a condition, a multiplier and a maximum quantity,
prepared set-based into one in-kind entitlement per beneficiary and item.

The quantity of a beneficiary is `quantity` × multiplier (the multiplier
bounded by `max_multiplier`), capped at `max_quantity` (never raised) and
rounded to the unit's rounding."""
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce, Least
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.modules.spp_registry.bulk import (
    insert_select, invalidate_cache, number, typed)

from .exceptions import ItemValidationError
from .item import RuleItemMixin
from .product_quantity import ProductQuantityMixin


class InKindItem(ProductQuantityMixin, RuleItemMixin, sequence_ordered(),
        ModelSQL, ModelView):
    "In-Kind Entitlement Item"
    __name__ = 'spp.entitlement.in_kind_item'
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE')
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True,
        domain=[('quantity', '>', 0)],
        help="Per beneficiary, or per unit of the multiplier.")
    max_quantity = fields.Numeric("Maximum Quantity", digits=(16, 4),
        domain=['OR', ('max_quantity', '=', None),
            ('max_quantity', '>=', 0)],
        help="Caps the quantity of a beneficiary; never raises it.")

    @classmethod
    def validate_fields(cls, items, field_names):
        super().validate_fields(items, field_names)
        if field_names & {'uom', 'quantity', 'max_quantity'}:
            for item in items:
                for value in [item.quantity, item.max_quantity]:
                    if value is not None and item.round(value) != value:
                        raise ItemValidationError(gettext(
                                'spp_entitlement.msg_in_kind_quantity_digits',
                                item=item.rec_name, quantity=value,
                                uom=item.uom.rec_name))

    def sql_quantity(self, party):
        "SQL expression of the quantity of the registrant row `party`."
        quantity = number(self.quantity)
        if self.multiplier_field:
            quantity = quantity * self.sql_multiplier(party)
        if self.max_quantity is not None:
            quantity = Least(quantity, number(self.max_quantity))
        return self.sql_round(quantity)

    def compute_quantity(self, party):
        """The quantity of one registrant computed in Python (0 when the
        condition does not match), the reference of the SQL path."""
        if not self.matches(party):
            return Decimal(0)
        quantity = self.quantity
        if self.multiplier_field:
            quantity *= self.multiplier(party)
        if self.max_quantity is not None:
            quantity = min(quantity, self.max_quantity)
        return self.round(quantity)


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    in_kind_items = fields.One2Many('spp.entitlement.in_kind_item',
        'program', "In-Kind Items")

    def has_entitlement_rules(self):
        return super().has_entitlement_rules() or bool(self.in_kind_items)

    @classmethod
    def copy(cls, programs, default=None):
        default = default.copy() if default else {}
        default.setdefault('in_kind_items', None)
        return super().copy(programs, default=default)


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'
    _states = {
        'readonly': Eval('state') != 'draft',
        'invisible': Eval('kind') != 'in_kind',
        }
    in_kind_item = fields.Many2One('spp.entitlement.in_kind_item',
        "In-Kind Item", ondelete='RESTRICT', states=_states)
    product = fields.Many2One('product.product', "Product",
        ondelete='RESTRICT', states=_states)
    quantity = fields.Numeric("Quantity", digits=(16, 4),
        domain=['OR', ('quantity', '=', None), ('quantity', '>', 0)],
        states=_states)
    uom = fields.Many2One('product.uom', "Unit", ondelete='RESTRICT',
        states=_states)
    del _states

    @classmethod
    def get_item_name(cls, entitlements, name):
        "An in-kind entitlement is named by its product."
        result = super().get_item_name(entitlements, name)
        for entitlement in entitlements:
            if not result[entitlement.id] and entitlement.product:
                result[entitlement.id] = entitlement.product.rec_name
        return result

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.in_kind_item, Index.Equality()),
                where=t.in_kind_item != Null))

    @classmethod
    def preprocess_values(cls, mode, values):
        if mode == 'create' and values.get('in_kind_item'):
            values = values.copy()
            values.setdefault('item_key', values['in_kind_item'])
            values.setdefault('kind', 'in_kind')
        return super().preprocess_values(mode, values)

    @classmethod
    def _in_kind_query(cls, cycle, item):
        """Sub-query (membership, registrant, quantity) of the in-kind
        entitlements `item` gives to the cycle's beneficiaries who have
        no live one of this item beyond draft."""
        from_, membership, party, where = cls._item_beneficiaries(
            cycle, item, 'in_kind')
        return from_.select(
            membership.id.as_('membership'),
            membership.registrant.as_('registrant'),
            item.sql_quantity(party).as_('quantity'),
            where=where)

    @classmethod
    def preview_in_kind(cls, cycle):
        "[(item, count, total quantity)] that preparing would write."
        result = []
        cursor = Transaction().connection.cursor()
        for item in cycle.program.in_kind_items:
            computed = cls._in_kind_query(cycle, item)
            cursor.execute(*computed.select(Count(computed.membership),
                    Coalesce(Sum(computed.quantity), 0),
                    where=computed.quantity > 0))
            count, quantity = cursor.fetchone()
            result.append((item, count, item.round(Decimal(str(quantity)))))
        return result

    @classmethod
    def prepare(cls, cycle):
        """Also (re)prepare the in-kind entitlements: delete the cycle's
        in-kind drafts and insert, per item, one draft per beneficiary
        with a positive quantity (one statement per item)."""
        count = super().prepare(cycle)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=(table.cycle == cycle.id)
                & (table.state == 'draft') & (table.kind == 'in_kind')))
        valid_from, valid_until = cls.validity(cycle)
        user = Transaction().user
        for item in cycle.program.in_kind_items:
            computed = cls._in_kind_query(cycle, item)
            count += insert_select(cls, table.insert([
                        table.cycle, table.cycle_membership,
                        table.registrant, table.kind, table.in_kind_item,
                        table.item_key, table.slot, table.product,
                        table.quantity, table.uom, table.amount, table.fee,
                        table.valid_from, table.valid_until, table.state,
                        table.create_uid, table.create_date],
                    computed.select(
                        typed(cls, 'cycle', cycle.id), computed.membership,
                        computed.registrant, typed(cls, 'kind', 'in_kind'),
                        typed(cls, 'in_kind_item', item.id),
                        typed(cls, 'item_key', item.id),
                        typed(cls, 'slot', 1),
                        typed(cls, 'product', item.product.id),
                        computed.quantity, typed(cls, 'uom', item.uom.id),
                        number(0), number(0),
                        Literal(valid_from), Literal(valid_until),
                        typed(cls, 'state', 'draft'),
                        typed(cls, 'create_uid', user), CurrentTimestamp(),
                        where=computed.quantity > 0)))
        invalidate_cache(cls)
        return count
