"""Stored group indicators, recomputed set-based.

Each indicator is one correlated sub-query over active memberships; the
recompute runs one UPDATE per indicator for all groups (or a given set),
so a national registry is refreshed in seconds and rules filter on plain
indexed columns."""
from sql import Literal, Null
from sql.aggregate import Count, Max, Sum
from sql.conditionals import Case, Coalesce
from sql.operators import Exists

from trytond.model import Index, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .bulk import invalidate_cache
from .registrant import years_before

_group_readonly = {'invisible': Eval('registrant_type') != 'group'}

# Individual fields whose change moves an indicator of their groups.
INDICATORS = [
    'member_count', 'child_count', 'elderly_count', 'disabled_member_count',
    'female_head']
INDICATOR_SOURCES = {'birth_date', 'disability', 'gender', 'disabled'}


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    memberships = fields.One2Many(
        'spp.group.membership', 'group', "Members",
        states={'invisible': Eval('registrant_type') != 'group'})
    group_memberships = fields.One2Many(
        'spp.group.membership', 'individual', "Groups",
        states={'invisible': Eval('registrant_type') != 'individual'})
    member_count = fields.Integer(
        "Members", readonly=True, states=_group_readonly,
        help="Active members of the group.")
    child_count = fields.Integer(
        "Children", readonly=True, states=_group_readonly,
        help="Active members younger than the child age limit.")
    elderly_count = fields.Integer(
        "Elderly", readonly=True, states=_group_readonly,
        help="Active members of the elderly age or older.")
    disabled_member_count = fields.Integer(
        "Members with Disability", readonly=True, states=_group_readonly)
    female_head = fields.Boolean(
        "Female Head", readonly=True, states=_group_readonly,
        help="The active head of the group is a woman.")
    multiple_groups = fields.Boolean(
        "In Several Groups", readonly=True,
        states={'invisible': Eval('registrant_type') != 'individual'},
        help="The individual is an active member of more than one group.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.member_count, Index.Range())),
                Index(t, (t.child_count, Index.Range())),
                Index(t, (t.elderly_count, Index.Range())),
                })
        cls._buttons.update({
                'recompute_indicators_button': {
                    'invisible': Eval('registrant_type') != 'group',
                    'depends': ['registrant_type'],
                    },
                })

    @classmethod
    def default_member_count(cls):
        return 0

    @classmethod
    def default_child_count(cls):
        return 0

    @classmethod
    def default_elderly_count(cls):
        return 0

    @classmethod
    def default_disabled_member_count(cls):
        return 0

    @classmethod
    def default_female_head(cls):
        return False

    @classmethod
    def default_multiple_groups(cls):
        return False

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default else {}
        default.setdefault('memberships', None)
        default.setdefault('group_memberships', None)
        return super().copy(parties, default=default)

    @classmethod
    def _indicator_queries(cls, group):
        """Return {column: SQL expression} computing each indicator for the
        row `group` of party_party."""
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        MembershipRole = pool.get('spp.group.membership-role')
        Role = pool.get('spp.group.membership.role')
        Gender = pool.get('spp.gender')
        Configuration = pool.get('spp.registry.configuration')
        today = pool.get('ir.date').today()
        config = Configuration(1)
        child_limit = years_before(today, config.child_age)
        elderly_limit = years_before(today, config.elderly_age)

        def members(condition=None):
            membership = Membership.__table__()
            person = cls.__table__()
            where = ((membership.group == group.id)
                & Membership.active_condition(membership, today)
                & (person.disabled == Null))
            if condition is not None:
                where &= condition(person)
            return membership.join(person,
                condition=membership.individual == person.id
                ).select(Count(), where=where)

        membership = Membership.__table__()
        relation = MembershipRole.__table__()
        role = Role.__table__()
        person = cls.__table__()
        gender = Gender.__table__()
        female_head = Exists(membership
            .join(relation, condition=relation.membership == membership.id)
            .join(role, condition=(role.id == relation.role)
                & (role.code == 'head'))
            .join(person, condition=person.id == membership.individual)
            .join(gender, condition=(gender.id == person.gender)
                & (gender.code == 'female'))
            .select(Literal(1),
                where=(membership.group == group.id)
                & Membership.active_condition(membership, today)))
        return {
            'member_count': members(),
            'child_count': members(lambda p: p.birth_date > child_limit),
            'elderly_count': members(lambda p: p.birth_date <= elderly_limit),
            'disabled_member_count': members(
                lambda p: p.disability == Literal(True)),
            'female_head': Case((female_head, Literal(True)),
                else_=Literal(False)),
            }

    @classmethod
    def _indicator_aggregates(cls, group_ids=None):
        """One row per group (all, or group_ids) with every indicator
        computed from its active, not disabled members in one pass."""
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        MembershipRole = pool.get('spp.group.membership-role')
        Role = pool.get('spp.group.membership.role')
        Gender = pool.get('spp.gender')
        Configuration = pool.get('spp.registry.configuration')
        today = pool.get('ir.date').today()
        config = Configuration(1)
        child_limit = years_before(today, config.child_age)
        elderly_limit = years_before(today, config.elderly_age)

        group = cls.__table__()
        membership = Membership.__table__()
        person = cls.__table__()
        gender = Gender.__table__()
        relation = MembershipRole.__table__()
        role = Role.__table__()
        heads = relation.join(role, condition=(role.id == relation.role)
            & (role.code == 'head')).select(relation.membership.as_('membership'))

        active = (Membership.active_condition(membership, today)
            & (person.disabled == Null))

        def count_if(condition=None):
            if condition is not None:
                condition = active & condition
            else:
                condition = active
            return Sum(Case((condition, 1), else_=0))

        where = group.registrant_type == 'group'
        if group_ids is not None:
            where &= group.id.in_(group_ids)
        female_head = Max(Case((active & (heads.membership != Null)
                    & (gender.code == 'female'), 1), else_=0))
        return (group
            .join(membership, 'LEFT', condition=membership.group == group.id)
            .join(person, 'LEFT', condition=person.id == membership.individual)
            .join(heads, 'LEFT', condition=heads.membership == membership.id)
            .join(gender, 'LEFT', condition=gender.id == person.gender)
            .select(
                group.id.as_('group'),
                Coalesce(count_if(), 0).as_('member_count'),
                Coalesce(count_if(person.birth_date > child_limit), 0
                    ).as_('child_count'),
                Coalesce(count_if(person.birth_date <= elderly_limit), 0
                    ).as_('elderly_count'),
                Coalesce(count_if(person.disability == Literal(True)), 0
                    ).as_('disabled_member_count'),
                Case((Coalesce(female_head, 0) == 1, Literal(True)),
                    else_=Literal(False)).as_('female_head'),
                where=where,
                group_by=[group.id]))

    @classmethod
    def recompute_indicators(cls, group_ids=None, names=None):
        """Recompute stored indicators of the groups (all when None) with
        one UPDATE … FROM an aggregate of their members, writing only the
        rows whose values changed, then the several-groups flag of their
        individuals."""
        if group_ids is not None:
            group_ids = list(group_ids)
            if not group_ids:
                return
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        names = [n for n in INDICATORS if not names or n in names]
        for sub_ids in (grouped_slice(group_ids, 10000)
                if group_ids is not None else [None]):
            values = cls._indicator_aggregates(
                list(sub_ids) if sub_ids is not None else None)
            changed = Literal(False)
            for name in names:
                column = getattr(table, name)
                changed |= ((column == Null)
                    | (column != getattr(values, name)))
            cursor.execute(*table.update(
                    [getattr(table, n) for n in names],
                    [getattr(values, n) for n in names],
                    from_=[values],
                    where=(table.id == values.group) & changed))
        cls._recompute_multiple_groups(group_ids)
        cls._invalidate_cache()

    @classmethod
    def _recompute_multiple_groups(cls, group_ids=None):
        "Flag individuals in more than one active group; write changes only."
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        today = pool.get('ir.date').today()
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        membership = Membership.__table__()
        where = Membership.active_condition(membership, today)
        scope = table.registrant_type == 'individual'
        if group_ids is not None:
            in_groups = Membership.__table__()
            individuals = in_groups.select(in_groups.individual,
                where=in_groups.group.in_(group_ids))
            where &= membership.individual.in_(individuals)
            scope &= table.id.in_(individuals)
        in_several = membership.select(membership.individual,
            where=where, group_by=[membership.individual],
            having=Count() > 1)
        cursor.execute(*table.update(
                [table.multiple_groups], [Literal(True)],
                where=scope & table.id.in_(in_several)
                & ((table.multiple_groups == Null)
                    | (table.multiple_groups == Literal(False)))))
        cursor.execute(*table.update(
                [table.multiple_groups], [Literal(False)],
                where=scope & (table.multiple_groups == Literal(True))
                & ~table.id.in_(in_several)))

    @classmethod
    def _invalidate_cache(cls):
        "Forget cached party values after they were updated in SQL."
        invalidate_cache(cls)

    @classmethod
    def recompute_all_indicators(cls):
        "Cron entry point: ages move with time, so counts do too."
        cls.recompute_indicators()

    @classmethod
    @ModelView.button
    def recompute_indicators_button(cls, parties):
        cls.recompute_indicators([p.id for p in parties])

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'write' and field_names and INDICATOR_SOURCES & field_names:
            individuals = [p.id for p in parties
                if p.registrant_type == 'individual']
            if individuals:
                Membership = Pool().get('spp.group.membership')
                groups = {m.group.id for m in Membership.search([
                            ('individual', 'in', individuals),
                            ])}
                cls.recompute_indicators(groups)
