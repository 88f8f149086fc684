"Beneficiaries by program, area and state, for graph and pivot views."
from sql import Literal
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool

from .membership import STATES


class MembershipByArea(ModelSQL, ModelView):
    "Beneficiaries by Area"
    __name__ = 'spp.program.membership.by_area'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True)
    total = fields.Integer("Total", readonly=True)
    draft = fields.Integer("Draft", readonly=True)
    enrolled = fields.Integer("Enrolled", readonly=True)
    paused = fields.Integer("Paused", readonly=True)
    exited = fields.Integer("Exited", readonly=True)
    not_eligible = fields.Integer("Not Eligible", readonly=True)
    duplicated = fields.Integer("Duplicated", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('program', 'DESC'), ('total', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        "One row per program and area, with a count per state (GROUP BY)."
        Membership = Pool().get('spp.program.membership')
        membership = Membership.__table__()
        counts = [
            Sum(Case((membership.state == state, Literal(1)),
                    else_=Literal(0))).as_(state)
            for state, _ in STATES]
        return membership.select(
            Min(membership.id).as_('id'),
            membership.program.as_('program'),
            membership.area.as_('area'),
            Count(membership.id).as_('total'),
            *counts,
            group_by=[membership.program, membership.area])
