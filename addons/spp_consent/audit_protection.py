"""With spp_audit: what retention and subject access record. A retention
run is one entry listing the registrants it anonymised; a Personal Data
Report one entry of its registrant, by its requester
(audit_retention.xml declares both actions on registrants)."""
from trytond.pool import Pool, PoolMeta


def log():
    return Pool().get('spp.audit.log')


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._audit_actions = tuple(getattr(cls, '_audit_actions', ())) + (
            'anonymised', 'subject_access_report')

    @classmethod
    def subject_access_reported(cls, registrant_id, format):
        super().subject_access_reported(registrant_id, format)
        log().record_action(cls.__name__, [registrant_id],
            'subject_access_report', details={'format': format})


class RetentionRun(metaclass=PoolMeta):
    __name__ = 'spp.retention.run'

    @classmethod
    def anonymised(cls, run, ids):
        super().anonymised(run, ids)
        if ids:
            log().record_action('party.party', ids,
                'anonymised', details={'run': run.id,
                    'policy': run.policy.id,
                    'situation': run.policy.situation,
                    'before': str(run.cutoff)},
                count=len(ids))
