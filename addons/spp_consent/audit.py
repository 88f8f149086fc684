"""With spp_audit: what consents record. Creation and edits as changes
(audit_consent.xml), the workflow buttons as actions, the expiry pass and
a program-wide recording as one entry each with their counts."""
from trytond.modules.spp_audit.audited import AuditedModel
from trytond.pool import Pool, PoolMeta


def log():
    return Pool().get('spp.audit.log')


class Consent(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.consent'
    _audit_actions = ('expired', 'recorded_for_program')
    _audit_access = True

    @classmethod
    def expire(cls, date=None):
        count = super().expire(date=date)
        if count:
            log().record_action(cls.__name__, [], 'expired',
                details={'before': str(
                        date or Pool().get('ir.date').today())},
                count=count)
        return count

    @classmethod
    def record_for_program(cls, start):
        count = super().record_for_program(start)
        if count:
            log().record_action(cls.__name__, [], 'recorded_for_program',
                details={'program': start.program.id,
                    'purpose': start.purpose.id, 'state': start.record_as},
                count=count)
        return count
