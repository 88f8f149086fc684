"Membership of individuals in groups, with roles and dates."
import datetime as dt

from sql import Literal, Null
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access

from .registrant import age_on


class MembershipRole(DeactivableMixin, ModelSQL, ModelView):
    "Group Membership Role"
    __string__ = "Group Membership Role"
    __name__ = 'spp.group.membership.role'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    unique = fields.Boolean(
        "Unique", help="Only one active member of a group may hold it "
        "(e.g. head of household).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_code_unique'),
            ]

    @classmethod
    def default_unique(cls):
        return False


class Membership(ModelSQL, ModelView):
    "Group Membership"
    __string__ = "Group Membership"
    __name__ = 'spp.group.membership'
    group = fields.Many2One(
        'party.party', "Group", required=True, ondelete='CASCADE',
        domain=[('registrant_type', '=', 'group')])
    individual = fields.Many2One(
        'party.party', "Individual", required=True, ondelete='RESTRICT',
        domain=[('registrant_type', '=', 'individual')],
        # An individual created from here gets the individual's defaults.
        context={'registrant_type': 'individual'})
    roles = fields.Many2Many(
        'spp.group.membership-role', 'membership', 'role', "Roles")
    start_date = fields.Date(
        "Start Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date(
        "End Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')), ())],
        help="Ending a membership keeps it as history.")
    # Not named "active": Tryton would hide ended memberships everywhere.
    current = fields.Function(
        fields.Boolean("Current", help="The membership is in force today."),
        'get_current', searcher='search_current')
    role_names = fields.Function(fields.Char("Roles"), 'get_role_names')
    age = fields.Function(
        fields.Integer("Age", help="The member's age today."),
        'get_member_details')
    gender = fields.Function(
        fields.Many2One('spp.gender', "Sex"), 'get_member_details')
    main_id = fields.Function(
        fields.Char("Main ID", help="The member's first ID document."),
        'get_member_details')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._history = True
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.group, Index.Range())),
                Index(t, (t.individual, Index.Range())),
                })
        cls._order = [('group', 'ASC'), ('start_date', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'end': {
                    'invisible': Eval('end_date', None) != None,  # noqa: E711
                    'depends': ['end_date'],
                    },
                })

    @classmethod
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return f'{self.individual.rec_name} @ {self.group.rec_name}'

    def get_role_names(self, name):
        return ', '.join(r.rec_name for r in self.roles)

    @classmethod
    def get_member_details(cls, memberships, names):
        """Age, sex and first ID number of the members, in one query for
        the whole list."""
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        table, party = cls.__table__(), Party.__table__()
        identifier = Identifier.__table__()
        first_id = identifier.select(identifier.code,
            where=(identifier.party == party.id)
            & (identifier.active == Literal(True)),
            order_by=[identifier.sequence.asc.nulls_last,
                identifier.id.asc],
            limit=1)
        today = pool.get('ir.date').today()
        result = {n: {m.id: None for m in memberships} for n in names}
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice([m.id for m in memberships], 1000):
            cursor.execute(*table.join(party,
                    condition=party.id == table.individual).select(
                    table.id, table.individual, party.birth_date,
                    party.gender, first_id,
                    where=table.id.in_(list(sub_ids))))
            rows = cursor.fetchall()
            # Getters run without access checks, and a membership is read
            # by its group's area: a member registered in an area the user
            # may not read shows no details, as their own record shows none.
            with check_access(), Transaction().set_context(
                    active_test=False):
                readable = set(map(int, Party.search(
                            [('id', 'in', list({r[1] for r in rows}))])))
            for id_, individual, birth_date, gender, code in rows:
                if individual not in readable:
                    continue
                if isinstance(birth_date, str):
                    birth_date = dt.date.fromisoformat(birth_date)
                values = {
                    'age': age_on(birth_date, today) if birth_date else None,
                    'gender': gender,
                    'main_id': code,
                    }
                for name in names:
                    result[name][id_] = values[name]
        return result

    @classmethod
    def active_condition(cls, table, date):
        "SQL condition: the membership is in force on `date`."
        return (((table.start_date == Null) | (table.start_date <= date))
            & ((table.end_date == Null) | (table.end_date > date)))

    def get_current(self, name):
        today = Pool().get('ir.date').today()
        return ((not self.start_date or self.start_date <= today)
            and (not self.end_date or self.end_date > today))

    @classmethod
    def search_current(cls, name, clause):
        today = Pool().get('ir.date').today()
        _, operator, value = clause[:3]
        active = [
            ['OR', ('start_date', '=', None), ('start_date', '<=', today)],
            ['OR', ('end_date', '=', None), ('end_date', '>', today)],
            ]
        positive = (operator == '=') == bool(value)
        if positive:
            return active
        return ['OR', ('start_date', '>', today), ('end_date', '<=', today)]

    @classmethod
    @ModelView.button
    def end(cls, memberships):
        "End memberships today; they stay as history."
        today = Pool().get('ir.date').today()
        cls.write([m for m in memberships if not m.end_date],
            {'end_date': today})

    @classmethod
    def validate(cls, memberships):
        super().validate(memberships)
        cls.check_unique_roles({m.group.id for m in memberships})
        for membership in memberships:
            if membership.group == membership.individual:
                raise MembershipError(gettext(
                        'spp_registry.msg_membership_self',
                        group=membership.group.rec_name))

    @classmethod
    def check_unique_roles(cls, group_ids):
        """Refuse two members of a group holding a unique role (head) at
        the same time, checked in one query for all groups."""
        if not group_ids:
            return
        pool = Pool()
        Role = pool.get('spp.group.membership.role')
        MembershipRoleRel = pool.get('spp.group.membership-role')
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        m1, m2 = cls.__table__(), cls.__table__()
        r1, r2 = MembershipRoleRel.__table__(), MembershipRoleRel.__table__()
        role = Role.__table__()
        overlap = (
            ((m1.end_date == Null) | (m2.start_date == Null)
                | (m2.start_date < m1.end_date))
            & ((m2.end_date == Null) | (m1.start_date == Null)
                | (m1.start_date < m2.end_date)))
        query = (m1
            .join(r1, condition=r1.membership == m1.id)
            .join(role, condition=(role.id == r1.role) & (role.unique == Literal(True)))
            .join(m2, condition=(m2.group == m1.group) & (m2.id > m1.id))
            .join(r2, condition=(r2.membership == m2.id) & (r2.role == r1.role))
            .select(m1.group, role.id,
                where=overlap & m1.group.in_(list(group_ids)),
                limit=1))
        cursor.execute(*query)
        row = cursor.fetchone()
        if row:
            raise MembershipError(gettext(
                    'spp_registry.msg_unique_role',
                    role=Role(row[1]).rec_name,
                    group=Party(row[0]).rec_name))

    @classmethod
    def on_modification(cls, mode, memberships, field_names=None):
        super().on_modification(mode, memberships, field_names=field_names)
        if mode in {'create', 'write'}:
            Party = Pool().get('party.party')
            Party.recompute_indicators({m.group.id for m in memberships})

    @classmethod
    def on_delete(cls, memberships):
        Party = Pool().get('party.party')
        callback = super().on_delete(memberships)
        groups = {m.group.id for m in memberships}
        callback.append(lambda: Party.recompute_indicators(groups))
        return callback


class MembershipRoleRel(ModelSQL):
    "Group Membership - Role"
    __string__ = "Group Membership - Role"
    __name__ = 'spp.group.membership-role'
    membership = fields.Many2One(
        'spp.group.membership', "Membership", required=True,
        ondelete='CASCADE')
    role = fields.Many2One(
        'spp.group.membership.role', "Role", required=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.membership, Index.Range())))
        cls._sql_constraints += [
            ('membership_role_unique', Unique(t, t.membership, t.role),
                'spp_registry.msg_membership_role_unique'),
            ]

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode in {'create', 'write'}:
            Membership = Pool().get('spp.group.membership')
            Membership.check_unique_roles(
                {r.membership.group.id for r in records})


class MembershipError(ValidationError):
    pass
