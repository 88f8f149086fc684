"""With spp_programs: a registrant exited by a change request leaves the
programs it is a beneficiary of, with the request's reason."""
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class ChangeRequest(metaclass=PoolMeta):
    __name__ = 'spp.change_request'

    @classmethod
    def registrants_exited(cls, requests):
        super().registrants_exited(requests)
        Membership = Pool().get('spp.program.membership')
        Implementation = Pool().get(
            'spp.change_request.kind.exit_registrant')
        with without_check_access():
            for request in requests:
                memberships = Membership.search([
                        ('registrant', '=', request.registrant.id),
                        ('state', 'in', ['enrolled', 'paused']),
                        ])
                if memberships:
                    Membership.write(memberships, {'exit_reason': (
                                Implementation.disable_reason(request))})
                    Membership.exit(memberships)
