"""With spp_audit: what change requests record. Their creation and edits
as changes (rule in audit_change_request.xml), submission and cancelling
as the buttons they are, and each decision and each apply as one entry
for all the requests it decided, with the decision's comment."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.pool import Pool, PoolMeta

RECORDED = {'approve': 'approved', 'revision': 'revision_requested',
    'reject': 'rejected'}


def log():
    return Pool().get('spp.audit.log')


class ChangeRequest(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.change_request'
    _audit_actions = ('approved', 'revision_requested', 'rejected',
        'applied', 'sent_back')

    @classmethod
    def decide(cls, requests, decision, comment=None):
        result = super().decide(requests, decision, comment)
        log().record_action(cls.__name__, [r.id for r in requests],
            RECORDED[decision], details={'comment': comment})
        return result

    @classmethod
    def applied(cls, requests, sent_back):
        super().applied(requests, sent_back)
        if requests:
            log().record_action(cls.__name__, [r.id for r in requests],
                'applied', details={'registrants': sorted(
                        {r.registrant.id for r in requests if r.registrant})})
        if sent_back:
            log().record_action(cls.__name__, [r.id for r in sent_back],
                'sent_back')
