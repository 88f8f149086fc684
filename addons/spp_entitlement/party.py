"""What a registrant offers to entitlement rules as a multiplier: its
stored numeric fields (registry indicators such as child_count). Other
addons add theirs (spp_custom_field: numeric custom fields and computed
indicators, see custom_field.py). Also the registrant's entitlements, shown
on its form."""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

MULTIPLIER_TYPES = {'integer', 'numeric', 'float'}


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    # Read through the ORM: entitlements' record rules apply.
    entitlements = fields.One2Many(
        'spp.entitlement', 'registrant', "Entitlements", readonly=True,
        states={'invisible': ~Eval('registrant_type')},
        help="What the registrant is entitled to, cycle by cycle.")

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('entitlements', None)
        return super().copy(parties, default=default)

    @classmethod
    def entitlement_multiplier_fields(cls):
        "[(name, label)] of the numbers usable as a multiplier."
        return sorted(
            (name, field.string) for name, field in cls._fields.items()
            if field._type in MULTIPLIER_TYPES
            and not getattr(field, 'getter', None)
            and name not in {'id', 'create_uid', 'write_uid'})

    @classmethod
    def entitlement_multiplier_sql(cls, table, name):
        "SQL expression of the multiplier `name` of the registrant row."
        return getattr(table, name)

    def entitlement_multiplier(self, name):
        "The value of the multiplier `name` of the registrant (or None)."
        return getattr(self, name)
