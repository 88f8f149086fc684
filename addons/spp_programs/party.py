"A registrant's program memberships, shown on its form."
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    # A plain One2Many: the client reads it through the ORM, so the
    # record rules of program memberships apply, and the form drops it for
    # users who may not read them.
    program_memberships = fields.One2Many(
        'spp.program.membership', 'registrant', "Programs", readonly=True,
        states={'invisible': ~Eval('registrant_type')},
        help="The programs the registrant is a beneficiary of.")

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('program_memberships', None)
        return super().copy(parties, default=default)
