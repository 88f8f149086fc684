"""What the registry's models record: changes and reads of registrants,
their ID documents, contacts, addresses and memberships, and the registry's
named actions (disable, merge, import, duplicate detection)."""
from trytond.pool import Pool, PoolMeta

from .audited import AuditedModel


def log():
    return Pool().get('spp.audit.log')


class Party(AuditedModel, metaclass=PoolMeta):
    __name__ = 'party.party'
    _audit_access = True
    _audit_actions = ('disable', 'merge', 'import', 'detect_duplicates')
    # Derived: from the code and the name for sorting and matching, and the
    # group indicators the registry recomputes from the memberships.
    _audit_ignored = ('code_alnum', 'code_digit', 'name_key',
        'member_count', 'child_count', 'elderly_count',
        'disabled_member_count', 'female_head', 'multiple_groups')

    @classmethod
    def disable(cls, parties, reason):
        super().disable(parties, reason)
        log().record_action(cls.__name__, [p.id for p in parties], 'disable',
            details={'reason': reason})

    @classmethod
    def registry_imported(cls, result, filename):
        super().registry_imported(result, filename)
        # One entry for the file: the rows are the registrants it created.
        log().record_action(cls.__name__, [], 'import', details={
                'file': filename, 'rows': result.rows,
                'households': result.households,
                'individuals': result.individuals,
                'skipped': result.skipped, 'errors': len(result.errors)},
            count=result.households + result.individuals)


class Identifier(AuditedModel, metaclass=PoolMeta):
    __name__ = 'party.identifier'
    _audit_access = True


class ContactMechanism(AuditedModel, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'
    _audit_access = True


class Address(AuditedModel, metaclass=PoolMeta):
    __name__ = 'party.address'
    _audit_access = True


class Membership(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.group.membership'
    _audit_access = True


class Duplicate(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.registry.duplicate'

    @classmethod
    def detect(cls, reasons=None, approximate_years=True, full=False):
        counts = super().detect(
            reasons, approximate_years=approximate_years, full=full)
        log().record_action('party.party', [], 'detect_duplicates',
            details={'reasons': sorted(reasons or counts),
                'approximate_years': approximate_years, 'full': full,
                **{f'found_{r}': n for r, n in counts.items()}},
            count=sum(counts.values()))
        return counts


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    def transition_replace(self):
        source, destination = self.ask.source, self.ask.destination
        result = super().transition_replace()
        log().record_action('party.party', [source.id, destination.id],
            'merge', details={'kept': destination.id, 'merged': source.id})
        return result
