"""Program figures: beneficiaries by program, state and area with the
coverage (enrolled / eligible), exits and their reasons, and the program
targets (planned beneficiaries and budget per program and cycle)."""
from sql.aggregate import Count, Min

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import sql_views
from .registry import RecordsMixin
from .scope import (
    by_level, count_if, month_bounds, month_start, period_domain, scoped,
    share, source, write_columns)
from .snapshot import Indicator, _Trend

# Eligible: found eligible and in the program, whether enrolled yet or not.
ELIGIBLE = ('draft', 'enrolled', 'paused')


class Context(metaclass=PoolMeta):
    __name__ = 'spp.report.context'
    program = fields.Many2One('spp.program', "Program")
    cycle = fields.Many2One('spp.cycle', "Cycle",
        domain=[('program', '=', Eval('program', -1))],
        states={'invisible': ~Eval('program')})

    @fields.depends('program', 'cycle')
    def on_change_program(self):
        if self.cycle and self.cycle.program != self.program:
            self.cycle = None


def program_domain(field='program'):
    "The domain of the context's program on `field`."
    program = Transaction().context.get('program')
    return [(field, '=', program)] if program else []


class ProgramCoverage(RecordsMixin, ModelSQL, ModelView):
    "Program Coverage"
    __string__ = "Program Coverage"
    __name__ = 'spp.report.program.coverage'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True)
    eligible = fields.Integer("Eligible", readonly=True,
        help="Found eligible and in the program: draft (not enrolled yet), "
        "enrolled or paused.")
    draft = fields.Integer("Draft", readonly=True)
    enrolled = fields.Integer("Enrolled", readonly=True)
    paused = fields.Integer("Paused", readonly=True)
    exited = fields.Integer("Exited", readonly=True)
    not_eligible = fields.Integer("Not Eligible", readonly=True)
    duplicated = fields.Integer("Duplicated", readonly=True)
    coverage = fields.Float("Coverage (%)", digits=(3, 1), readonly=True,
        help="Enrolled beneficiaries out of the eligible ones, now (the "
        "period filter does not apply).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('program', 'ASC'), ('enrolled', 'DESC'),
            ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Membership = Pool().get('spp.program.membership')
        # A figure of now: the period does not apply (draft memberships
        # have no enrolment date).
        tables, where = scoped(Membership, 'area', program_domain())
        from_, membership = source(tables)
        from_, area = by_level(from_, membership.area)
        state = membership.state
        eligible = count_if(state.in_(ELIGIBLE))
        enrolled = count_if(state == 'enrolled')
        return from_.select(
            Min(membership.id).as_('id'), *write_columns(),
            membership.program.as_('program'), area.as_('area'),
            eligible.as_('eligible'),
            *[count_if(state == s).as_(s) for s in [
                    'draft', 'paused', 'exited', 'not_eligible',
                    'duplicated']],
            enrolled.as_('enrolled'),
            share(enrolled, eligible).as_('coverage'),
            where=where, group_by=[membership.program, area])

    def _records(self):
        return 'spp.program.membership', [
            ('program', '=', self.program.id)] + self._area_domain(
            'area', self.area)


class ProgramExit(RecordsMixin, ModelSQL, ModelView):
    "Program Exits"
    __string__ = "Program Exits"
    __name__ = 'spp.report.program.exit'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    month = fields.Date("Month", readonly=True)
    reason = fields.Char("Reason", readonly=True)
    exits = fields.Integer("Exits", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('exits', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Membership = Pool().get('spp.program.membership')
        tables, where = scoped(Membership, 'area',
            [('state', '=', 'exited')] + program_domain()
            + period_domain('exit_date'))
        from_, membership = source(tables)
        # Grouped in an outer query: the month's parameter ('month')
        # would be bound apart in SELECT and GROUP BY on PostgreSQL.
        dated = from_.select(membership.id.as_('id'),
            membership.program.as_('program'),
            month_start(membership.exit_date).as_('month'),
            membership.exit_reason.as_('reason'), where=where)
        return dated.select(
            Min(dated.id).as_('id'), *write_columns(),
            dated.program.as_('program'), dated.month.as_('month'),
            dated.reason.as_('reason'),
            Count().as_('exits'),
            group_by=[dated.program, dated.month, dated.reason])

    def _records(self):
        domain = [('program', '=', self.program.id),
            ('state', '=', 'exited'), ('exit_reason', '=', self.reason)]
        if self.month:
            start, end = month_bounds(self.month)
            domain += [('exit_date', '>=', start),
                ('exit_date', '<', end)]
        return 'spp.program.membership', domain


class Target(ModelSQL, ModelView):
    "Program Target"
    __string__ = "Program Target"
    __name__ = 'spp.program.target'
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE')
    cycle = fields.Many2One('spp.cycle', "Cycle", ondelete='CASCADE',
        domain=[('program', '=', Eval('program', -1))],
        help="Leave empty for the plan of every cycle of the program that "
        "has no target of its own.")
    beneficiaries = fields.Integer("Planned Beneficiaries",
        domain=['OR', ('beneficiaries', '=', None),
            ('beneficiaries', '>=', 0)])
    budget = fields.Numeric("Planned Budget", digits=(16, 2),
        domain=['OR', ('budget', '=', None), ('budget', '>=', 0)])
    note = fields.Text("Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('program_cycle_unique', Unique(t, t.program, t.cycle),
                'spp_reporting.msg_target_cycle_unique'),
            ]
        cls._order = [('program', 'ASC'), ('cycle', 'ASC NULLS FIRST'),
            ('id', 'ASC')]

    def get_rec_name(self, name):
        return (self.cycle or self.program).rec_name

    @classmethod
    def validate_fields(cls, targets, field_names):
        super().validate_fields(targets, field_names)
        # UNIQUE lets several NULL cycles through: one standing plan.
        if field_names and not field_names & {'program', 'cycle'}:
            return
        standing = [t for t in targets if not t.cycle]
        if standing:
            others = cls.search([
                    ('program', 'in', [t.program.id for t in standing]),
                    ('cycle', '=', None)])
            programs = {}
            for target in others:
                programs.setdefault(target.program, []).append(target)
            for program, same in programs.items():
                if len(same) > 1:
                    raise ValidationError(gettext(
                            'spp_reporting.msg_target_unique',
                            program=program.rec_name))
        for target in targets:
            if target.cycle and target.cycle.program != target.program:
                raise ValidationError(gettext(
                        'spp_reporting.msg_target_cycle_program',
                        cycle=target.cycle.rec_name,
                        program=target.program.rec_name))


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    targets = fields.One2Many('spp.program.target', 'program', "Targets")



class Snapshot(metaclass=PoolMeta):
    __name__ = 'spp.report.snapshot'
    program = fields.Many2One('spp.program', "Program", readonly=True,
        ondelete='CASCADE')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        sql_views.create_views(sql_views.PROGRAMS)

    @classmethod
    def _indicators(cls):
        Membership = Pool().get('spp.program.membership')

        def members(states):
            def query(start, end):
                membership = Membership.__table__()
                return membership.select(membership.area.as_('area'),
                    membership.program.as_('program'),
                    Count().as_('value'),
                    where=membership.state.in_(states),
                    group_by=[membership.area, membership.program])
            return query
        return super()._indicators() + [
            Indicator('enrolled', "Enrolled Beneficiaries",
                members(['enrolled'])),
            Indicator('eligible', "Eligible Beneficiaries",
                members(list(ELIGIBLE))),
            ]


class TrendProgram(_Trend):
    "Program Trend"
    __string__ = "Program Trend"
    __name__ = 'spp.report.trend.program'
    _indicator_fields = {'enrolled': 'enrolled', 'eligible': 'eligible'}
    _by_program = True
    program = fields.Many2One('spp.program', "Program", readonly=True)
    enrolled = fields.Integer("Enrolled", readonly=True)
    eligible = fields.Integer("Eligible", readonly=True)
