"""Entitlement rules of a program: cash items, a cap and a transfer fee.

A cash item gives `amount` (times a multiplier field of the beneficiary,
bounded by `max_multiplier`) to the beneficiaries matching its condition.
A beneficiary's items add up; the program's `max_amount` caps the total
(it never raises it); the fee is a percentage or a fixed amount."""
from decimal import Decimal

from sql import Null
from sql.conditionals import Case, Coalesce, Greatest, Least
from sql.functions import Round

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields, sequence_ordered
from trytond.modules.currency.fields import Monetary
from trytond.modules.spp_programs.program import decode_domain, encode_domain
from trytond.modules.spp_programs.rule import compile_rule
from trytond.modules.spp_registry.bulk import number
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from .exceptions import ItemValidationError

class RuleItemMixin:
    """A condition on the beneficiary and an optional multiplier field with
    a maximum: what cash items and in-kind items share."""
    __slots__ = ()
    condition = fields.Text("Condition",
        help='Who receives the item, e.g. female_head or child_count >= 1 '
        '(the rule language of eligibility); empty: every beneficiary.')
    condition_domain = fields.Text("Condition Domain", readonly=True)
    multiplier_field = fields.Selection('get_multiplier_fields',
        "Multiplier", help="A number of the beneficiary (e.g. children, "
        "a registry indicator or a numeric custom field) that multiplies "
        "the item; empty: once.")
    max_multiplier = fields.Integer("Maximum Multiplier",
        domain=['OR', ('max_multiplier', '=', None),
            ('max_multiplier', '>=', 0)],
        states={'invisible': ~Eval('multiplier_field')})

    @classmethod
    def get_multiplier_fields(cls):
        Party = Pool().get('party.party')
        return [(None, "")] + Party.entitlement_multiplier_fields()

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'condition' in values:
            values['condition_domain'] = encode_domain(
                cls.compile_condition(values['condition']))
        return values

    @classmethod
    def compile_condition(cls, condition):
        "The condition as a domain; a RuleError names the problem."
        return compile_rule(condition)

    def sql_multiplier(self, party):
        """SQL expression of the multiplier of the registrant row `party`:
        the field's value, at least 0, at most the maximum."""
        Party = Pool().get('party.party')
        multiplier = Greatest(Coalesce(Party.entitlement_multiplier_sql(
                    party, self.multiplier_field), 0), 0)
        if self.max_multiplier is not None:
            multiplier = Least(multiplier, self.max_multiplier)
        return multiplier

    def multiplier(self, party):
        "The multiplier of `party` computed in Python (the SQL reference)."
        value = party.entitlement_multiplier(self.multiplier_field)
        multiplier = max(Decimal(str(value or 0)), 0)
        if self.max_multiplier is not None:
            multiplier = min(multiplier, self.max_multiplier)
        return multiplier

    def matches(self, party):
        "Whether `party` meets the condition, checked by one search."
        Party = Pool().get('party.party')
        domain = decode_domain(self.condition_domain)
        if not domain:
            return True
        with without_check_access():
            return bool(Party.search([('id', '=', party.id)] + [domain]))

    def condition_query(self):
        "Sub-query of registrants matching the condition, or None (all)."
        Party = Pool().get('party.party')
        domain = decode_domain(self.condition_domain)
        if not domain:
            return None
        with without_check_access():
            return Party.search(domain, order=[], query=True)


class EntitlementItem(RuleItemMixin, sequence_ordered(), ModelSQL, ModelView):
    "Entitlement Item"
    __name__ = 'spp.entitlement.item'
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE')
    name = fields.Char("Name", required=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'on_change_with_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True, domain=[('amount', '>', 0)],
        help="Per beneficiary, or per unit of the multiplier.")

    @fields.depends('program', '_parent_program.currency')
    def on_change_with_currency(self, name=None):
        return self.program.currency if self.program else None

    @classmethod
    def validate_fields(cls, items, field_names):
        super().validate_fields(items, field_names)
        if field_names & {'amount', 'program'}:
            for item in items:
                rounded = item.program.currency.round(item.amount)
                if rounded != item.amount:
                    raise ItemValidationError(gettext(
                            'spp_entitlement.msg_item_amount_digits',
                            item=item.rec_name, amount=item.amount,
                            currency=item.program.currency.code))

    def sql_amount(self, party, conditions):
        """The SQL expression of this item's amount for the registrant
        row `party`; `conditions` maps an item to the SQL condition that
        the registrant matches the item's condition."""
        amount = number(self.amount)
        if self.multiplier_field:
            amount = amount * self.sql_multiplier(party)
        if self in conditions:
            amount = Case((conditions[self], amount),
                else_=number(0))
        return amount


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    entitlement_items = fields.One2Many('spp.entitlement.item', 'program',
        "Cash Items")
    max_amount = Monetary("Maximum per Beneficiary", currency='currency',
        digits='currency',
        domain=['OR', ('max_amount', '=', None), ('max_amount', '>=', 0)],
        help="Caps the total of the items; never raises an amount.")
    fee_percentage = fields.Numeric("Fee (%)", digits=(6, 4),
        domain=['OR', ('fee_percentage', '=', None),
            [('fee_percentage', '>=', 0), ('fee_percentage', '<=', 100)]],
        states={'readonly': Eval('fee_fixed', None) != None},  # noqa: E711
        help="Transfer fee as a percentage of the amount (or a fixed fee, "
        "not both).")
    fee_fixed = Monetary("Fixed Fee", currency='currency', digits='currency',
        domain=['OR', ('fee_fixed', '=', None), ('fee_fixed', '>=', 0)],
        states={
            'readonly': Eval('fee_percentage', None) != None,  # noqa: E711
            })
    entitlement_kind = fields.Selection([
            ('cash', "Cash"),
            ('voucher', "Voucher"),
            ], "Entitlement Kind", required=True,
        help="Cash is paid through payment batches; a voucher gets a code "
        "redeemed at vendors.")
    entitlement_validity_days = fields.Integer("Validity (Days)",
        domain=['OR', ('entitlement_validity_days', '=', None),
            ('entitlement_validity_days', '>=', 1)],
        help="How long entitlements stay valid after the cycle starts; "
        "empty: until the cycle ends.")

    @classmethod
    def default_entitlement_kind(cls):
        return 'cash'

    @classmethod
    def validate_fields(cls, programs, field_names):
        super().validate_fields(programs, field_names)
        if field_names & {'fee_percentage', 'fee_fixed', 'max_amount',
                'currency'}:
            for program in programs:
                if (program.fee_percentage is not None
                        and program.fee_fixed is not None):
                    raise ItemValidationError(gettext(
                            'spp_entitlement.msg_fee_exclusive',
                            program=program.rec_name))
                for value in [program.fee_fixed, program.max_amount]:
                    if (value is not None
                            and program.currency.round(value) != value):
                        raise ItemValidationError(gettext(
                                'spp_entitlement.msg_program_amount_digits',
                                program=program.rec_name, amount=value,
                                currency=program.currency.code))

    @classmethod
    def copy(cls, programs, default=None):
        default = default.copy() if default else {}
        default.setdefault('entitlement_items', None)
        return super().copy(programs, default=default)

    def has_entitlement_rules(self):
        "Whether preparing entitlements has anything to compute."
        return bool(self.entitlement_items)

    def sql_round(self, expression):
        "Round to the currency (half up, as ROUND does in SQL)."
        rounding = number(self.currency.rounding)
        return Round(expression / rounding) * rounding

    def sql_entitlement(self, party, from_):
        """(from_, amount, fee): SQL expressions of the entitlement of the
        registrant row `party` (the sum of the items, capped) and `from_`
        LEFT JOINed to the registrants matching each item's condition (a
        hash join; `IN (sub-query)` degrades to a scan per row when the
        sub-query outgrows work_mem)."""
        conditions = {}
        for item in self.entitlement_items:
            query = item.condition_query()
            if query is not None:
                from_ = from_.join(query, 'LEFT',
                    condition=query.id == party.id)
                conditions[item] = query.id != Null
        total = number(0)
        for item in self.entitlement_items:
            total = total + item.sql_amount(party, conditions)
        if self.max_amount is not None:
            total = Least(total, number(self.max_amount))
        total = self.sql_round(total)
        if self.fee_percentage is not None:
            fee = self.sql_round(
                total * number(self.fee_percentage) / 100)
        elif self.fee_fixed is not None:
            fee = number(self.fee_fixed)
        else:
            fee = number(0)
        return from_, total, fee

    def compute_entitlement(self, party):
        """The (amount, fee) of one registrant computed in Python, the
        reference the SQL path is tested against."""
        from decimal import ROUND_HALF_UP
        total = Decimal(0)
        for item in self.entitlement_items:
            if not item.matches(party):
                continue
            amount = item.amount
            if item.multiplier_field:
                amount *= item.multiplier(party)
            total += amount
        if self.max_amount is not None:
            total = min(total, self.max_amount)
        total = self.currency.round(total, rounding=ROUND_HALF_UP)
        if self.fee_percentage is not None:
            fee = self.currency.round(
                total * self.fee_percentage / 100, rounding=ROUND_HALF_UP)
        else:
            fee = self.fee_fixed or Decimal(0)
        return total, fee

