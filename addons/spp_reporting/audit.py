"""With spp_audit: each snapshot run is one entry (the month, the rows
written); target changes are recorded by the rule of
audit_reporting.xml."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.pool import Pool, PoolMeta


class Snapshot(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.report.snapshot'
    _audit_actions = ('taken',)

    @classmethod
    def take(cls, day=None):
        month, count = super().take(day)
        Pool().get('spp.audit.log').record_action(cls.__name__, [],
            'taken', details={'month': month.isoformat()}, count=count)
        return month, count
