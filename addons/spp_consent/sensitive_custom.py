"""Sensitive custom fields (spp_custom_field): a definition marked
sensitive is hidden from the users outside the "View Sensitive Data"
group, as a field restricted to other groups is: they neither see its
value nor change it, and their writes keep it."""
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .sensitive import masked_caller, sees_sensitive


class CustomField(metaclass=PoolMeta):
    __name__ = 'spp.custom_field'
    sensitive = fields.Boolean("Sensitive",
        help="Only the users of the \"View Sensitive Data\" group see "
        "its values (health, income, ...).")

    @staticmethod
    def default_sensitive():
        return False

    @classmethod
    def definitions(cls):
        result = super().definitions()
        if result and 'sensitive' not in next(iter(result.values())):
            with Transaction().set_context(active_test=False):
                flags = {r.name: bool(r.sensitive) for r in cls.search([])}
            for name, definition in result.items():
                definition['sensitive'] = flags.get(name, False)
            # Cached with the definitions, filled once.
            cls._types_cache.set('all', result)
        return result

    @classmethod
    def exported_fields(cls):
        return super().exported_fields() + ['sensitive']

    def user_can(self, mode):
        if self.sensitive and not sees_sensitive():
            return False
        return super().user_can(mode)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def _hidden_custom_keys(cls, mode='read'):
        hidden = super()._hidden_custom_keys(mode=mode)
        if masked_caller():
            hidden |= {n for n, d in cls._custom_definitions().items()
                if d.get('sensitive')}
        return hidden

    @classmethod
    def _custom_definitions(cls):
        return Pool().get('spp.custom_field').definitions()
