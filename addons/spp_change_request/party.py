"""A registrant's change requests, shown on its form, and the request
that last changed it (kept in its history)."""
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .change_request import OPEN_STATES


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    change_request = fields.Many2One('spp.change_request',
        "Last Change Request", readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('change_request')},
        help="The change request applied last to the registrant: each "
        "revision of the registrant's history names the request that "
        "made it.")
    # Read through the ORM: the record rules of change requests apply.
    change_requests = fields.One2Many('spp.change_request', 'registrant',
        "Change Requests", readonly=True,
        states={'invisible': ~Eval('registrant_type')})
    open_change_requests = fields.Function(fields.Integer(
            "Open Change Requests",
            states={'invisible': ~Eval('registrant_type')}),
        'get_open_change_requests')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'request_change': {
                    'invisible': ~Eval('registrant_type') | Eval('disabled'),
                    'depends': ['registrant_type', 'disabled'],
                    },
                })

    @classmethod
    def get_open_change_requests(cls, parties, name):
        "Counted with the reader's rules, in one search for the batch."
        ChangeRequest = Pool().get('spp.change_request')
        counts = {p.id: 0 for p in parties}
        for request in ChangeRequest.search([
                    ('registrant', 'in', list(counts)),
                    ('state', 'in', OPEN_STATES)], order=[]):
            counts[request.registrant.id] += 1
        return counts

    @classmethod
    @ModelView.button_action('spp_change_request.wizard_new')
    def request_change(cls, parties):
        pass

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('change_request', None)
        default.setdefault('change_requests', None)
        return super().copy(parties, default=default)
