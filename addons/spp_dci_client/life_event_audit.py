"""With spp_audit: the set-based steps of life events are audited as
named actions of spp.dci.life.event (one entry per step and batch, with
its counts): people marked deceased, memberships exited, entitlements
held, spouses widowed, births applied or proposed. The review buttons
are audited as actions too (audit_life_event.xml)."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.pool import Pool, PoolMeta


class LifeEvent(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.dci.life.event'
    _audit_actions = ('deceased_marked', 'memberships_exited',
        'entitlements_held', 'spouse_widowed', 'birth_applied',
        'birth_proposed')

    @classmethod
    def _record_applied(cls, event_ids, action, details):
        super()._record_applied(event_ids, action, details)
        Pool().get('spp.audit.log').record_action(cls.__name__, event_ids,
            action, details=details, count=len(event_ids))
