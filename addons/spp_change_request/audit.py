"""With spp_audit: what change requests record. Their creation and edits
as changes (rule in audit_change_request.xml), submission and cancelling
as the buttons they are, and each decision and each apply as one entry
for all the requests it decided, with the decision's comment."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.modules.spp_audit.recorder import json_value
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
    def registrants_edited(cls, edits):
        """The columns written in SQL, recorded as the registry's write
        records them: one entry per registrant, its audited fields."""
        super().registrants_edited(edits)
        pool = Pool()
        Rule = pool.get('spp.audit.rule')
        config = log().config('party.party')
        if not config or not config['write']:
            return
        changes = {}
        for party_id, by_column in edits.items():
            names = Rule.audited_fields(
                'party.party', config, by_column.keys())
            recorded = {n: [json_value(old), json_value(new)]
                for n, (old, new) in by_column.items() if n in names}
            if recorded:
                changes[party_id] = recorded
        log().record_changes('party.party', 'write', changes)

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
