"""Basket vouchers: a voucher item of a program carries either a cash
amount or a basket of products (product, quantity, unit), never both.

Preparing a voucher program's cycle issues, per basket item, one voucher
per matching beneficiary and then its basket lines (the item's quantities
times the item's multiplier, rounded to each unit), in one INSERT ...
SELECT for the vouchers and one per basket line. Redemption of the
products is in voucher.py."""
from decimal import Decimal

from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import (
    ModelSQL, ModelView, Unique, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.modules.spp_registry.bulk import (
    insert_select, invalidate_cache, number, typed)

from .exceptions import ItemValidationError
from .product_quantity import ProductQuantityMixin


class BasketLine(ProductQuantityMixin, sequence_ordered(), ModelSQL,
        ModelView):
    "Voucher Basket Line"
    __name__ = 'spp.entitlement.item.basket_line'
    item = fields.Many2One('spp.entitlement.item', "Item", required=True,
        ondelete='CASCADE')
    quantity = fields.Numeric("Quantity", digits=(16, 4), required=True,
        domain=[('quantity', '>', 0)],
        help="Per voucher, or per unit of the item's multiplier.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('item_product_unique', Unique(t, t.item, t.product),
                'spp_entitlement.msg_basket_product_unique'),
            ]

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if field_names & {'uom', 'quantity'}:
            for line in lines:
                if line.round(line.quantity) != line.quantity:
                    raise ItemValidationError(gettext(
                            'spp_entitlement.msg_basket_quantity_digits',
                            product=line.product.rec_name,
                            quantity=line.quantity, uom=line.uom.rec_name))

    def sql_quantity(self, multiplier):
        "SQL expression of the quantity for `multiplier` (None: once)."
        quantity = number(self.quantity)
        if multiplier is not None:
            quantity = quantity * multiplier
        return self.sql_round(quantity)


class EntitlementItem(metaclass=PoolMeta):
    __name__ = 'spp.entitlement.item'
    basket_lines = fields.One2Many('spp.entitlement.item.basket_line',
        'item', "Basket",
        states={'invisible': Eval('amount', None) != None},  # noqa: E711
        help="The products of a voucher item, instead of an amount "
        "(voucher programs only).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.amount.required = False
        cls.amount.domain = ['OR', ('amount', '=', None),
            ('amount', '>', 0)]
        cls.amount.help = ("Per beneficiary, or per unit of the "
            "multiplier; empty for a voucher item with a basket.")

    @property
    def is_basket(self):
        return self.amount is None

    @classmethod
    def validate_fields(cls, items, field_names):
        # The cash checks of the amount (its currency digits) only apply
        # to items with an amount.
        super().validate_fields(
            [i for i in items if not i.is_basket], field_names)
        if field_names & {'amount', 'basket_lines', 'program'}:
            for item in items:
                item.check_amount_or_basket()

    def check_amount_or_basket(self):
        "Exactly one of an amount and a basket; a basket on vouchers only."
        if self.amount is not None and self.basket_lines:
            raise ItemValidationError(gettext(
                    'spp_entitlement.msg_item_amount_and_basket',
                    item=self.rec_name, amount=self.amount))
        if self.amount is None and not self.basket_lines:
            raise ItemValidationError(gettext(
                    'spp_entitlement.msg_item_no_amount_nor_basket',
                    item=self.rec_name))
        if self.basket_lines and self.program.entitlement_kind != 'voucher':
            raise ItemValidationError(gettext(
                    'spp_entitlement.msg_item_basket_not_voucher',
                    item=self.rec_name, program=self.program.rec_name,
                    kind=self.program.entitlement_kind))

    def sql_amount(self, party, conditions):
        "A basket adds nothing to the cash value of a beneficiary."
        if self.is_basket:
            return number(0)
        return super().sql_amount(party, conditions)


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'

    @property
    def basket_items(self):
        "The voucher items with a basket of products."
        return [i for i in self.entitlement_items if i.is_basket]

    @classmethod
    def validate_fields(cls, programs, field_names):
        super().validate_fields(programs, field_names)
        if 'entitlement_kind' in field_names:
            for program in programs:
                for item in program.basket_items:
                    item.check_amount_or_basket()

    def compute_entitlement(self, party):
        "The cash value leaves the baskets out (as `sql_amount` does)."
        if not self.basket_items:
            return super().compute_entitlement(party)
        cash = self.__class__(self.id)
        cash.entitlement_items = [
            i for i in self.entitlement_items if not i.is_basket]
        return super(Program, cash).compute_entitlement(party)


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'

    @classmethod
    def _basket_query(cls, cycle, item):
        """Sub-query (membership, registrant, multiplier) of the basket
        vouchers `item` gives to the cycle's beneficiaries who have no
        live one of this item beyond draft; the multiplier is NULL when
        the item has none, and a beneficiary whose multiplier is 0 gets
        no voucher."""
        from_, membership, party, where = cls._item_beneficiaries(
            cycle, item, 'voucher')
        if item.multiplier_field:
            multiplier = item.sql_multiplier(party)
            where &= multiplier > 0
        else:
            multiplier = Literal(None)
        return from_.select(
            membership.id.as_('membership'),
            membership.registrant.as_('registrant'),
            multiplier.as_('multiplier'),
            where=where)

    @classmethod
    def preview_baskets(cls, cycle):
        """[(item, count, [(basket line, total quantity)])] of the basket
        vouchers that preparing would issue (one query per item)."""
        if cycle.program.entitlement_kind != 'voucher':
            return []
        result = []
        cursor = Transaction().connection.cursor()
        for item in cycle.program.basket_items:
            computed = cls._basket_query(cycle, item)
            multiplier = computed.multiplier if item.multiplier_field else None
            cursor.execute(*computed.select(Count(Literal(1)),
                    *(Coalesce(Sum(line.sql_quantity(multiplier)), 0)
                        for line in item.basket_lines)))
            count, *quantities = cursor.fetchone()
            result.append((item, count, [
                        (line, line.round(Decimal(str(quantity))))
                        for line, quantity in zip(
                            item.basket_lines, quantities)]))
        return result

    @classmethod
    def prepare(cls, cycle):
        """Also issue the basket vouchers of a voucher program: per basket
        item, one draft voucher per matching beneficiary (one INSERT ...
        SELECT), then its lines (one per basket line). The drafts of
        an earlier preparation went with the program's other drafts."""
        count = super().prepare(cycle)
        program = cycle.program
        if program.entitlement_kind != 'voucher':
            return count
        pool = Pool()
        Party = pool.get('party.party')
        VoucherLine = pool.get('spp.entitlement.voucher.line')
        table = cls.__table__()
        voucher_line = VoucherLine.__table__()
        valid_from, valid_until = cls.validity(cycle)
        user = Transaction().user
        for item in program.basket_items:
            computed = cls._basket_query(cycle, item)
            count += insert_select(cls, table.insert([
                        table.cycle, table.cycle_membership,
                        table.registrant, table.kind, table.item,
                        table.item_key, table.slot, table.amount, table.fee,
                        table.valid_from, table.valid_until, table.state,
                        table.create_uid, table.create_date],
                    computed.select(
                        typed(cls, 'cycle', cycle.id), computed.membership,
                        computed.registrant, typed(cls, 'kind', 'voucher'),
                        typed(cls, 'item', item.id),
                        typed(cls, 'item_key', item.id),
                        typed(cls, 'slot', 1), number(0), number(0),
                        Literal(valid_from), Literal(valid_until),
                        typed(cls, 'state', 'draft'),
                        typed(cls, 'create_uid', user), CurrentTimestamp(),
                        order_by=[computed.registrant.asc])))
            voucher = cls.__table__()
            party = Party.__table__()
            multiplier = (item.sql_multiplier(party)
                if item.multiplier_field else None)
            for line in item.basket_lines:
                quantity = line.sql_quantity(multiplier)
                insert_select(VoucherLine, voucher_line.insert([
                            voucher_line.entitlement, voucher_line.product,
                            voucher_line.quantity, voucher_line.uom,
                            voucher_line.redeemed_quantity,
                            voucher_line.create_uid,
                            voucher_line.create_date],
                        voucher.join(party,
                            condition=voucher.registrant == party.id).select(
                            voucher.id,
                            typed(VoucherLine, 'product', line.product.id),
                            quantity, typed(VoucherLine, 'uom', line.uom.id),
                            number(0),
                            typed(VoucherLine, 'create_uid', user),
                            CurrentTimestamp(),
                            where=(voucher.cycle == cycle.id)
                            & (voucher.kind == 'voucher')
                            & (voucher.item_key == item.id)
                            & (voucher.state == 'draft')
                            & (quantity > 0))))
        invalidate_cache(cls, VoucherLine)
        return count


class PreviewEntitlements(metaclass=PoolMeta):
    __name__ = 'spp.entitlement.preview'

    def default_start(self, fields):
        "The preview lists the basket vouchers after the in-kind items."
        Entitlement = Pool().get('spp.entitlement')
        values = super().default_start(fields)
        baskets = [
            f'{item.rec_name}: ' + ', '.join(
                f'{line.product.rec_name} {quantity} {line.uom.symbol}'
                for line, quantity in lines) + f' for {count}'
            for item, count, lines in Entitlement.preview_baskets(
                self.record)]
        values['in_kind'] = '\n'.join(
            filter(None, [values.get('in_kind')] + baskets))
        return values
