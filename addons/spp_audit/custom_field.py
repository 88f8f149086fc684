"""What the custom fields record: changes of their definitions (who may
see and change a value included) and the import of definitions from
another deployment, one entry per file. The values themselves are fields
of the registrant, audited with it."""
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .audited import AuditedModel


class CustomField(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.custom_field'
    _audit_actions = ('import_definitions',)

    @classmethod
    def import_definitions(cls, text):
        with Transaction().set_context(active_test=False):
            existing = {r.id for r in cls.search([])}
        ids = super().import_definitions(text)
        Pool().get('spp.audit.log').record_action(cls.__name__, ids,
            'import_definitions', details={'fields': len(ids),
                'created': len(set(ids) - existing),
                'updated': len(set(ids) & existing)})
        return ids
