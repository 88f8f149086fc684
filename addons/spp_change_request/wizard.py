"""Wizards of change requests: start a new one (from the menu or a
registrant's form), decide one or many at once, apply approved ones."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from . import validation
from .kinds import refuse


class NewStart(ModelView):
    "New Change Request"
    __string__ = "New Change Request"
    __name__ = 'spp.change_request.new.start'
    kind = fields.Many2One('spp.change_request.kind', "Kind", required=True,
        domain=[If(Bool(Eval('registrant_type')),
                ('implementation', 'in', Eval('implementations', [])),
                ())])
    target = fields.Function(fields.Char("Target"),
        'on_change_with_target')
    registrant = fields.Many2One('party.party', "Registrant",
        domain=[If(Eval('target').in_(['individual', 'group']),
                ('registrant_type', '=', Eval('target')),
                ('registrant_type', '!=', None))],
        states={
            'invisible': ~Eval('target'),
            'required': Bool(Eval('target')),
            })
    registrant_type = fields.Char("Registrant Type", readonly=True)
    implementations = fields.Function(fields.MultiSelection(
            'get_implementations', "Implementations"),
        'on_change_with_implementations')
    reason = fields.Text("Reason")

    @classmethod
    def get_implementations(cls):
        return Pool().get('spp.change_request.kind').get_implementations()

    @fields.depends('registrant_type')
    def on_change_with_implementations(self, name=None):
        "The implementations that apply to the registrant given."
        Kind = Pool().get('spp.change_request.kind')
        return [name for name, _ in Kind.get_implementations()
            if (Kind(implementation=name).target in {
                    'any', self.registrant_type})]

    @fields.depends('kind')
    def on_change_with_target(self, name=None):
        return self.kind.target if self.kind else None


class New(Wizard):
    "New Change Request"
    __string__ = "New Change Request"
    __name__ = 'spp.change_request.new'
    start = StateView('spp.change_request.new.start',
        'spp_change_request.new_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateAction('spp_change_request.act_change_request_open')

    def default_start(self, fields):
        registrant = self.record if self.model and (
            self.model.__name__ == 'party.party') else None
        if registrant:
            return {'registrant': registrant.id,
                'registrant_type': registrant.registrant_type}
        return {}

    def do_open_(self, action):
        ChangeRequest = Pool().get('spp.change_request')
        request, = ChangeRequest.create([{
                    'kind': self.start.kind.id,
                    'registrant': self.start.registrant.id
                    if self.start.registrant and self.start.kind.target
                    else None,
                    'reason': self.start.reason,
                    }])
        return action, {'res_id': [request.id]}


class DecideStart(ModelView):
    "Decide Change Requests"
    __string__ = "Decide Change Requests"
    __name__ = 'spp.change_request.decide.start'
    count = fields.Integer("Requests", readonly=True)
    comment = fields.Text("Comment",
        states={'required': Eval('comment_required', False)})
    comment_required = fields.Boolean("Comment Required", readonly=True)


class DecideResult(ModelView):
    "Change Requests Decided"
    __string__ = "Change Requests Decided"
    __name__ = 'spp.change_request.decide.result'
    summary = fields.Text("Summary", readonly=True)


class DecideMixin:
    """Decide the selected requests (one or many) at their stage."""
    decision = None
    start = StateView('spp.change_request.decide.start',
        'spp_change_request.decide_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("OK", 'decide', 'tryton-ok', default=True),
            ])
    decide = StateTransition()
    result = StateView('spp.change_request.decide.result',
        'spp_change_request.decide_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        return {'count': len(self.records),
            'comment_required': self.decision != 'approve'}

    def transition_decide(self):
        outcome = self.model.decide(
            self.records, self.decision, self.start.comment)
        self.result.summary = summary(self.model, outcome,
            decided=len(self.records) if self.decision != 'approve'
            else None)
        return 'result'

    def default_result(self, fields):
        return {'summary': self.result.summary}


def summary(ChangeRequest, outcome, decided=None):
    "What a decision or an apply did, in the user's words."
    if decided is not None:
        return gettext('spp_change_request.msg_summary_decided',
            count=decided)
    lines = []
    if outcome['approved']:
        lines.append(gettext('spp_change_request.msg_summary_approved',
                count=len(outcome['approved'])))
    if outcome['applied']:
        lines.append(gettext('spp_change_request.msg_summary_applied',
                count=len(outcome['applied'])))
    for request_id, changes in outcome['sent_back'].items():
        lines.append(gettext('spp_change_request.msg_summary_sent_back',
                request=ChangeRequest(request_id).rec_name,
                changes=validation.stale_comment(changes)))
    return '\n'.join(lines)


class Approve(DecideMixin, Wizard):
    "Approve Change Requests"
    __string__ = "Approve Change Requests"
    __name__ = 'spp.change_request.approve'
    decision = 'approve'


class RequestRevision(DecideMixin, Wizard):
    "Request Revision of Change Requests"
    __string__ = "Request Revision of Change Requests"
    __name__ = 'spp.change_request.request_revision'
    decision = 'revision'


class Reject(DecideMixin, Wizard):
    "Reject Change Requests"
    __string__ = "Reject Change Requests"
    __name__ = 'spp.change_request.reject'
    decision = 'reject'


# Apply approved requests; those whose registrant changed since submission
# go back for review, with what changed.
class Apply(Wizard):
    "Apply Change Requests"
    __string__ = "Apply Change Requests"
    __name__ = 'spp.change_request.apply'
    start = StateTransition()
    result = StateView('spp.change_request.decide.result',
        'spp_change_request.decide_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        requests = [r for r in self.records if r.state == 'approved']
        if not requests:
            refuse('msg_nothing_to_apply')
        validation.check_applier(requests)
        applied, stale = validation.apply_approved(self.model, requests)
        self.result.summary = summary(self.model, {
                'approved': [], 'applied': [r.id for r in applied],
                'sent_back': {r.id: c for r, c in stale.items()}})
        return 'result'

    def default_result(self, fields):
        return {'summary': self.result.summary}
