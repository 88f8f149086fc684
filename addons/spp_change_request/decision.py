"The timeline of a change request: every submission and decision."
import datetime as dt

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

ACTIONS = [
    ('submitted', "Submitted"),
    ('resubmitted', "Resubmitted"),
    ('approved', "Approved"),
    ('revision', "Revision Requested"),
    ('rejected', "Rejected"),
    ('sent_back', "Sent Back: Registrant Changed"),
    ('applied', "Applied"),
    ('cancelled', "Cancelled"),
    ]


class Decision(ModelSQL, ModelView):
    "Change Request Decision"
    __string__ = "Change Request Decision"
    __name__ = 'spp.change_request.decision'
    request = fields.Many2One('spp.change_request', "Request",
        required=True, ondelete='CASCADE')
    date = fields.DateTime("Date", required=True)
    user = fields.Many2One('res.user', "By", ondelete='RESTRICT')
    stage = fields.Many2One('spp.change_request.stage', "Stage",
        ondelete='SET NULL')
    action = fields.Selection(ACTIONS, "Action", required=True)
    comment = fields.Text("Comment")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.request, Index.Range())))
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def add(cls, requests, action, comment=None):
        """Record one decision per request, by the current user at the
        request's current stage. action and comment may be functions of
        the request."""
        # One INSERT per thousand decisions: a bulk approval decides
        # thousands at once, and a decision has no rule to check.
        now = dt.datetime.now()
        user = Transaction().user
        table = cls.__table__()
        cursor = Transaction().connection.cursor()

        def value(v, request):
            return v(request) if callable(v) else v
        columns = [table.request, table.date, table.user, table.stage,
            table.action, table.comment, table.create_uid,
            table.create_date]
        for sub_requests in grouped_slice(requests, 1000):
            cursor.execute(*table.insert(columns, [[
                            r.id, now, user or None,
                            r.stage.id if r.stage else None,
                            value(action, r), value(comment, r), user, now]
                        for r in sub_requests]))
