"Addresses of registrants: hidden by the area rules like the registrant."
from trytond.pool import PoolMeta

from .record_rules import HiddenAsMissingMixin


class Address(HiddenAsMissingMixin, metaclass=PoolMeta):
    __name__ = 'party.address'
