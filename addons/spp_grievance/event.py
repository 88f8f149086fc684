"The timeline of a grievance: its receipt and every step, escalation, appeal."
import datetime as dt

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

ACTIONS = [
    ('received', "Received"),
    ('acknowledged', "Acknowledged"),
    ('assigned', "Assigned"),
    ('investigating', "Investigation Started"),
    ('escalated', "Escalated"),
    ('breached', "Deadline Missed: Escalated to the Manager"),
    ('resolved', "Resolved"),
    ('closed', "Closed"),
    ('reopened', "Reopened"),
    ('appealed', "Appealed"),
    ]


class Event(ModelSQL, ModelView):
    "Grievance Event"
    __string__ = "Grievance Event"
    __name__ = 'spp.grievance.event'
    grievance = fields.Many2One('spp.grievance', "Grievance", required=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True)
    user = fields.Many2One('res.user', "By", ondelete='RESTRICT',
        help="Empty: the system (the SLA pass, an intake).")
    action = fields.Selection(ACTIONS, "Action", required=True)
    from_team = fields.Many2One('spp.grievance.team', "From Team",
        ondelete='SET NULL')
    to_team = fields.Many2One('spp.grievance.team', "Team",
        ondelete='SET NULL')
    to_user = fields.Many2One('res.user', "Assigned To",
        ondelete='SET NULL')
    comment = fields.Text("Comment")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.grievance, Index.Range())))
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def add(cls, grievances, action, comment=None, from_team=None):
        """One event per ticket by the current user, with the ticket's
        team and assignee after the step; comment may be a function of the
        ticket. One INSERT per thousand tickets."""
        # Read afresh: the step may have just written team and assignee.
        grievances = Pool().get('spp.grievance').browse(
            [g.id for g in grievances])
        now = dt.datetime.now()
        user = Transaction().user or None
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        columns = [table.grievance, table.date, table.user, table.action,
            table.from_team, table.to_team, table.to_user, table.comment,
            table.create_uid, table.create_date]
        for sub in grouped_slice(grievances, 1000):
            cursor.execute(*table.insert(columns, [[
                            g.id, now, user, action,
                            from_team.id if from_team else None,
                            g.team.id if g.team else None,
                            g.assigned_to.id if g.assigned_to else None,
                            comment(g) if callable(comment) else comment,
                            user or 0, now]
                        for g in sub]))
