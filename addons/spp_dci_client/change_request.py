"""With spp_change_request: a birth the civil registry notifies is
proposed, not applied. The child becomes an "Add a member" request on the
parent's household, submitted to its validation stages like any other
(four eyes: the requester is the system, or the caseworker who reviewed
the event); the life event is *proposed* and links to the request."""
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access


class LifeEvent(metaclass=PoolMeta):
    __name__ = 'spp.dci.life.event'
    change_request = fields.Many2One('spp.change_request', "Change Request",
        readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('change_request')})

    @classmethod
    def _add_child(cls, event, household, person, today):
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        Kind = pool.get('spp.change_request.kind')
        Role = pool.get('spp.group.membership.role')
        kinds = Kind.search([('implementation', '=', 'add_member')],
            limit=1)
        if not kinds:
            return super()._add_child(event, household, person, today)
        if not (event.family_name or event.given_name):
            cls.send_to_review([event], 'unreadable',
                household.area.id if household.area else None,
                household=household)
            return
        roles = Role.search([('code', '=', 'child')], limit=1)
        reason = gettext('spp_dci_client.msg_crvs_birth_request_reason',
            registry=event.registry.rec_name,
            date=event.event_date.isoformat() if event.event_date else '-')
        with without_check_access(), Transaction().set_context(
                _skip_warnings=True):
            request, = ChangeRequest.create([{
                        'kind': kinds[0].id,
                        'registrant': household.id,
                        'new_family_name': event.family_name,
                        'new_given_name': event.given_name,
                        'new_birth_date': event.event_date,
                        'new_gender': event.gender.id if event.gender
                        else None,
                        'role': roles[0].id if roles else None,
                        'effective_date': event.event_date,
                        'reason': reason,
                        }])
            ChangeRequest.submit([request])
            cls.write([event], {'state': 'proposed',
                    'household': household.id,
                    'area': household.area.id if household.area else None,
                    'change_request': request.id,
                    'changes': gettext(
                        'spp_dci_client.msg_crvs_event_child_proposed',
                        household=household.rec_name,
                        request=request.rec_name)})
        cls._record_applied([event.id], 'birth_proposed',
            {'household': household.id, 'change_request': request.id})
