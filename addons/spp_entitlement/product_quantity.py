"""A product in a quantity and unit: what an in-kind item and a voucher's
basket line both are."""
from decimal import ROUND_HALF_UP, Decimal

from sql.functions import Round

from trytond.model import fields
from trytond.modules.spp_registry.bulk import number
from trytond.pyson import Eval


class ProductQuantityMixin:
    """Product, unit (of the product's unit category) and rounding of a
    quantity to the unit, in Python and in SQL alike. The class defines its
    own `quantity` field (its help says per what)."""
    __slots__ = ()
    product = fields.Many2One('product.product', "Product", required=True,
        ondelete='RESTRICT', domain=[('type', 'in', ['goods', 'assets'])])
    uom = fields.Many2One('product.uom', "Unit", required=True,
        ondelete='RESTRICT',
        domain=[('category', '=', Eval('product_uom_category', -1))])
    product_uom_category = fields.Function(fields.Many2One(
            'product.uom.category', "Product UoM Category"),
        'on_change_with_product_uom_category')

    @fields.depends('product')
    def on_change_with_product_uom_category(self, name=None):
        if self.product:
            return self.product.default_uom.category.id

    @fields.depends('product', 'uom')
    def on_change_product(self):
        if self.product and (not self.uom
                or self.uom.category != self.product.default_uom.category):
            self.uom = self.product.default_uom

    def get_rec_name(self, name):
        return self.product.rec_name if self.product else str(self.id)

    @property
    def _rounding(self):
        return Decimal(str(self.uom.rounding))

    def round(self, quantity):
        "Round half up to the unit's rounding (as ROUND does in SQL)."
        rounding = self._rounding
        return (quantity / rounding).quantize(Decimal(1), ROUND_HALF_UP) \
            * rounding

    def sql_round(self, quantity):
        "SQL expression of `quantity` rounded to the unit's rounding."
        rounding = number(self._rounding)
        return Round(quantity / rounding) * rounding
