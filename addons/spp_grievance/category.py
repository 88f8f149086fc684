"""Categories of complaints, on two levels (category > subcategory), with
the defaults a new ticket takes: severity, deadlines, team, sensitivity.
A subcategory's empty setting is its category's."""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pyson import Bool, Eval

from .deadline import UNITS

SEVERITIES = [
    (None, ""),
    ('low', "Low"),
    ('medium', "Medium"),
    ('high', "High"),
    ('critical', "Critical"),
    ]


class Category(DeactivableMixin, ModelSQL, ModelView):
    "Grievance Category"
    __string__ = "Grievance Category"
    __name__ = 'spp.grievance.category'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True,
        help="Used by the API to name the category.")
    parent = fields.Many2One('spp.grievance.category', "Category",
        ondelete='RESTRICT', domain=[('parent', '=', None)],
        help="Empty for a category; its category for a subcategory.")
    children = fields.One2Many('spp.grievance.category', 'parent',
        "Subcategories")
    severity = fields.Selection(SEVERITIES, "Severity")
    ack_amount = fields.Integer("Acknowledge Within",
        domain=[('ack_amount', '>=', 0)])
    ack_unit = fields.Selection([(None, "")] + UNITS, "Unit",
        states={'required': Bool(Eval('ack_amount'))})
    resolution_amount = fields.Integer("Resolve Within",
        domain=[('resolution_amount', '>=', 0)])
    resolution_unit = fields.Selection([(None, "")] + UNITS, "Unit",
        states={'required': Bool(Eval('resolution_amount'))})
    team = fields.Many2One('spp.grievance.team', "Responsible Team",
        ondelete='SET NULL',
        help="The team a ticket goes to when no team of its area handles "
        "the category.")
    sensitive = fields.Boolean("Sensitive",
        help="Fraud, staff misconduct, gender-based violence: tickets are "
        "seen only by the Grievance Sensitive Cases group.")
    description = fields.Text("Description", translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_grievance.msg_category_code_unique'),
            ]
        cls._order = [('parent', 'ASC NULLS FIRST'), ('name', 'ASC'), ('id', 'ASC')]

    def get_rec_name(self, name):
        if self.parent:
            return f'{self.parent.rec_name} / {self.name}'
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('name', operator, operand, *extra),
            ('code', operator, operand, *extra),
            ]

    @classmethod
    def validate(cls, categories):
        super().validate(categories)
        for category in categories:
            if category.parent and category.children:
                raise ValidationError(gettext(
                        'spp_grievance.msg_category_two_levels',
                        category=category.rec_name))

    def setting(self, name):
        "The category's own value of `name`, else its parent's."
        value = getattr(self, name)
        if value in (None, '') and self.parent:
            value = getattr(self.parent, name)
        return value

    @property
    def is_sensitive(self):
        return bool(self.sensitive or (self.parent and self.parent.sensitive))
