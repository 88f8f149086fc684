"""Wizards of grievances: escalate, appeal and reopen, each asking for the
reason kept in the timeline. They work on the selected tickets."""
from trytond.model import ModelView, fields
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)


class EscalateStart(ModelView):
    "Escalate Grievances"
    __string__ = "Escalate Grievances"
    __name__ = 'spp.grievance.escalate.start'
    team = fields.Many2One('spp.grievance.team', "To Team",
        help="Empty: each ticket's team's next level.")
    reason = fields.Text("Reason", required=True)


class Escalate(Wizard):
    "Escalate Grievances"
    __string__ = "Escalate Grievances"
    __name__ = 'spp.grievance.escalate'
    start = StateView('spp.grievance.escalate.start',
        'spp_grievance.escalate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Escalate", 'escalate', 'tryton-forward', default=True),
            ])
    escalate = StateTransition()

    def default_start(self, fields):
        teams = {r.team.escalation_team for r in self.records if r.team}
        if len(teams) == 1 and None not in teams:
            return {'team': teams.pop().id}
        return {}

    def transition_escalate(self):
        self.model.escalate(self.records, self.start.reason,
            team=self.start.team)
        return 'end'


class AppealStart(ModelView):
    "Appeal a Grievance"
    __string__ = "Appeal a Grievance"
    __name__ = 'spp.grievance.appeal.start'
    description = fields.Text("Grounds of the Appeal", required=True,
        help="What the complainant contests in the decision.")
    team = fields.Many2One('spp.grievance.team', "Handled By",
        help="Empty: the next level of the team that decided.")


class Appeal(Wizard):
    "Appeal a Grievance"
    __string__ = "Appeal a Grievance"
    __name__ = 'spp.grievance.appeal'
    start = StateView('spp.grievance.appeal.start',
        'spp_grievance.appeal_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("File the Appeal", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateAction('spp_grievance.act_grievance_open')

    def do_open_(self, action):
        appeals = self.model.appeal(self.records, self.start.description,
            team=self.start.team)
        # act_grievance_open lists its form first: the appeal opens in it.
        action['res_id'] = [a.id for a in appeals]
        return action, {}


class ReopenStart(ModelView):
    "Reopen Grievances"
    __string__ = "Reopen Grievances"
    __name__ = 'spp.grievance.reopen.start'
    reason = fields.Text("Reason", required=True)


class Reopen(Wizard):
    "Reopen Grievances"
    __string__ = "Reopen Grievances"
    __name__ = 'spp.grievance.reopen'
    start = StateView('spp.grievance.reopen.start',
        'spp_grievance.reopen_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reopen", 'reopen', 'tryton-refresh', default=True),
            ])
    reopen = StateTransition()

    def transition_reopen(self):
        self.model.reopen(self.records, self.start.reason)
        return 'end'
