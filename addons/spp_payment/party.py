"A registrant's payments, shown on its form."
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    # Read through the ORM: payments' record rules apply.
    payments = fields.One2Many(
        'spp.payment', 'registrant', "Payments", readonly=True,
        states={'invisible': ~Eval('registrant_type')},
        help="The payments made for the registrant's entitlements.")

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('payments', None)
        return super().copy(parties, default=default)
