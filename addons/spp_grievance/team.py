"""Teams that handle grievances: their members, their manager, the areas
and categories they cover, and where their tickets go next (escalation,
appeals). A new ticket goes to the team of its area that handles its
category (the deepest area first), else to its category's team."""
from sql import Literal, Null

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.transaction import Transaction

LEVELS = [
    ('1', "Local"),
    ('2', "Regional"),
    ('3', "National"),
    ]


class Team(DeactivableMixin, ModelSQL, ModelView):
    "Grievance Team"
    __string__ = "Grievance Team"
    __name__ = 'spp.grievance.team'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    level = fields.Selection(LEVELS, "Level", required=True, sort=False)
    manager = fields.Many2One('res.user', "Manager", ondelete='RESTRICT',
        help="Breached tickets are escalated to the manager.")
    members = fields.Many2Many('spp.grievance.team-res.user', 'team',
        'user', "Members")
    areas = fields.Many2Many('spp.grievance.team-spp.area', 'team', 'area',
        "Areas",
        help="The areas whose tickets the team handles, with their "
        "sub-areas; none: every area.")
    categories = fields.Many2Many('spp.grievance.team-spp.grievance.category',
        'team', 'category', "Categories",
        domain=[('parent', '=', None)],
        help="The categories the team handles; none: every category.")
    escalation_team = fields.Many2One('spp.grievance.team',
        "Escalates To", ondelete='SET NULL',
        help="The team of the next level, which escalations and appeals "
        "go to.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_grievance.msg_team_code_unique'),
            ]
        cls._order = [('level', 'ASC'), ('name', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_level(cls):
        return '1'

    @classmethod
    def validate(cls, teams):
        super().validate(teams)
        for team in teams:
            seen, current = {team.id}, team.escalation_team
            while current:
                if current.id in seen:
                    raise ValidationError(gettext(
                            'spp_grievance.msg_team_escalation_cycle',
                            team=team.rec_name))
                seen.add(current.id)
                current = current.escalation_team

    @classmethod
    def for_ticket(cls, category, area):
        """The team a ticket of `category` in `area` goes to: of the active
        teams handling the category, the one covering the deepest of the
        area's ancestors (a team of no area covers all, last), a team that
        names the category before one that handles every category, the
        lower level first; else the category's (or its parent's) team.
        Two queries, whatever the number of teams: every intake asks."""
        pool = Pool()
        Area = pool.get('spp.area')
        TeamArea = pool.get('spp.grievance.team-spp.area')
        TeamCategory = pool.get('spp.grievance.team-spp.grievance.category')
        cursor = Transaction().connection.cursor()
        depth = {}
        if area:
            # The area and its ancestors (nested sets), the area first.
            ancestor, this = Area.__table__(), Area.__table__()
            cursor.execute(*ancestor.join(this, condition=(
                        (ancestor.left <= this.left)
                        & (ancestor.right >= this.right))).select(
                    ancestor.id, where=this.id == area.id,
                    order_by=[ancestor.left.desc]))
            depth = {a: i for i, (a,) in enumerate(cursor)}
        team = cls.__table__()
        team_area = TeamArea.__table__()
        named = TeamCategory.__table__()
        listed = TeamCategory.__table__()
        cursor.execute(*team.join(named, 'LEFT',
                condition=(named.team == team.id)
                & (named.category == category.id)
                ).join(team_area, 'LEFT',
                condition=team_area.team == team.id
                ).select(team.id, team.level, team_area.area, named.id,
                where=(team.active == Literal(True))
                & ((named.id != Null)
                    | ~team.id.in_(listed.select(listed.team)))))
        ranks = []
        for team_id, level, area_id, named_id in cursor:
            if area_id is None:
                rank = len(depth)
            elif area_id in depth:
                rank = depth[area_id]
            else:
                continue
            ranks.append((rank, named_id is None, level, team_id))
        if ranks:
            return cls(min(ranks)[3])
        return category.setting('team')

    @classmethod
    def of_user(cls, user_id):
        "The teams `user_id` is a member or the manager of."
        return cls.search(['OR',
                ('members', '=', user_id),
                ('manager', '=', user_id)])


class TeamMember(ModelSQL):
    "Grievance Team Member"
    __string__ = "Grievance Team Member"
    __name__ = 'spp.grievance.team-res.user'
    team = fields.Many2One('spp.grievance.team', "Team", required=True,
        ondelete='CASCADE')
    user = fields.Many2One('res.user', "User", required=True,
        ondelete='CASCADE')


class TeamArea(ModelSQL):
    "Grievance Team Area"
    __string__ = "Grievance Team Area"
    __name__ = 'spp.grievance.team-spp.area'
    team = fields.Many2One('spp.grievance.team', "Team", required=True,
        ondelete='CASCADE')
    area = fields.Many2One('spp.area', "Area", required=True,
        ondelete='CASCADE')


class TeamCategory(ModelSQL):
    "Grievance Team Category"
    __string__ = "Grievance Team Category"
    __name__ = 'spp.grievance.team-spp.grievance.category'
    team = fields.Many2One('spp.grievance.team', "Team", required=True,
        ondelete='CASCADE')
    category = fields.Many2One('spp.grievance.category', "Category",
        required=True, ondelete='CASCADE')
