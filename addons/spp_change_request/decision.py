"The timeline of a change request: every submission and decision."
import datetime as dt

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

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
        now = dt.datetime.now()
        user = Transaction().user or None

        def value(v, request):
            return v(request) if callable(v) else v
        with without_check_access():
            cls.create([{
                        'request': r.id, 'date': now, 'user': user,
                        'stage': r.stage.id if r.stage else None,
                        'action': value(action, r),
                        'comment': value(comment, r),
                        } for r in requests])
