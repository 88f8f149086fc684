"""With spp_audit: what grievances record. Creation and edits as changes
(rule in audit_grievance.xml), the workflow buttons as actions, and each
escalation, reopening and appeal as one entry with its reason."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.pool import Pool, PoolMeta


def log():
    return Pool().get('spp.audit.log')


class Grievance(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.grievance'
    _audit_actions = ('escalated', 'reopened', 'appealed')
    _audit_access = True

    @classmethod
    def escalate(cls, grievances, reason, team=None):
        super().escalate(grievances, reason, team=team)
        log().record_action(cls.__name__, [g.id for g in grievances],
            'escalated', details={'reason': reason,
                'team': team.id if team else None})

    @classmethod
    def reopen(cls, grievances, reason=None):
        super().reopen(grievances, reason=reason)
        log().record_action(cls.__name__, [g.id for g in grievances],
            'reopened', details={'reason': reason})

    @classmethod
    def appeal(cls, grievances, description, team=None):
        appeals = super().appeal(grievances, description, team=team)
        log().record_action(cls.__name__, [g.id for g in grievances],
            'appealed', details={'appeals': [a.id for a in appeals]})
        return appeals
