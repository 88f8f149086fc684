"Beneficiaries by program, area and state, for graph and pivot views."
from sql import Literal
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.spp_registry.area import (
    default_area_level, level_rollup)
from trytond.pool import Pool
from trytond.transaction import Transaction

from .membership import STATES


class MembershipByAreaContext(ModelView):
    "Beneficiaries by Area"
    __string__ = "Beneficiaries by Area"
    __name__ = 'spp.program.membership.by_area.context'
    area_level = fields.Many2One('spp.area.kind', "Area Level",
        help="Count the beneficiaries in the areas of this level, those of "
        "the areas below them included.")
    program = fields.Many2One('spp.program', "Program",
        help="Leave empty to count every program.")

    @classmethod
    def default_area_level(cls):
        return default_area_level()


class MembershipByArea(ModelSQL, ModelView):
    "Beneficiaries by Area"
    __string__ = "Beneficiaries by Area"
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
        """One row per program and area of the chosen level (context
        `area_level`, Region by default), with a count per state: members
        of an area below that level count in its ancestor of that level;
        members of an area with none (above the level, or in a branch
        without it) in their own area. One GROUP BY, no loop."""
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        context = Transaction().context
        membership = Membership.__table__()
        level = context.get('area_level') or default_area_level()
        if level:
            rollup = level_rollup(level)
            source = membership.join(rollup, 'LEFT',
                condition=rollup.area == membership.area)
            area_column = Coalesce(rollup.level_area, membership.area)
        else:
            source, area_column = membership, membership.area
        where = Literal(True)
        if context.get('program'):
            where &= membership.program == context['program']
        registrants = cls._readable_registrants()
        if registrants is not None:
            where &= membership.registrant.in_(registrants)
        counts = [
            Sum(Case((membership.state == state, Literal(1)),
                    else_=Literal(0))).as_(state)
            for state, _ in STATES]
        return source.select(
            Min(membership.id).as_('id'),
            membership.program.as_('program'),
            area_column.as_('area'),
            Count(membership.id).as_('total'),
            *counts,
            where=where,
            group_by=[membership.program, area_column])

    @classmethod
    def _readable_registrants(cls):
        """A query of the registrants the user may read when a record rule
        limits them (e.g. to the user's areas), else None: the counts obey
        the same area rules as the registry."""
        pool = Pool()
        Rule = pool.get('ir.rule')
        Party = pool.get('party.party')
        if not Transaction().check_access:
            return None
        if not Rule.domain_get('party.party', mode='read'):
            return None
        return Party.search([], query=True, order=[])
