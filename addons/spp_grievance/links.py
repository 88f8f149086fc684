"""Optional links of a grievance to what it is about, where the addons are
activated: a program and a cycle (spp_programs), an entitlement
(spp_entitlement), a payment (spp_payment)."""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

_open = {'readonly': ~Eval('state').in_(
        ['new', 'acknowledged', 'investigating', 'reopened'])}


class GrievanceProgram(metaclass=PoolMeta):
    __name__ = 'spp.grievance'
    program = fields.Many2One('spp.program', "Program", ondelete='RESTRICT',
        states=_open)
    cycle = fields.Many2One('spp.cycle', "Cycle", ondelete='RESTRICT',
        domain=[('program', '=', Eval('program', -1))], states=_open)


class GrievanceEntitlement(metaclass=PoolMeta):
    __name__ = 'spp.grievance'
    entitlement = fields.Many2One('spp.entitlement', "Entitlement",
        ondelete='RESTRICT', states=_open)


class GrievancePayment(metaclass=PoolMeta):
    __name__ = 'spp.grievance'
    payment = fields.Many2One('spp.payment', "Payment", ondelete='RESTRICT',
        states=_open)
