"""A registrant's grievances on its form: those about it and those it
filed (read through the ORM: the grievance rules apply, and a confidential
complaint is not listed on its complainant's form but for the sensitive
cases group)."""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    grievances = fields.One2Many('spp.grievance', 'registrant',
        "Grievances About", readonly=True,
        states={'invisible': ~Eval('registrant_type')})
    grievances_filed = fields.One2Many('spp.grievance', 'complainant',
        "Grievances Filed", readonly=True,
        states={'invisible': ~Eval('registrant_type')})

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('grievances', None)
        default.setdefault('grievances_filed', None)
        return super().copy(parties, default=default)
