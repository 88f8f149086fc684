"""Where a registrant came from: the external registry a pull created or
matched it from, its record id there, and when a pull or refresh last
wrote it. A refresh re-reads the registrants of a registry by these.

The columns are technical provenance, written with SQL by the pull (as
spp_registry writes identifiers' unique_code): linking a household we
registered ourselves to its record at the registry is not a change of the
household, and re-running a pull that finds nothing new writes nothing."""
from trytond.model import Index, fields
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    dci_registry = fields.Many2One('spp.dci.registry', "Source Registry",
        readonly=True, ondelete='SET NULL',
        help="The external registry this registrant was pulled from.")
    dci_ref = fields.Char("Record at Source", readonly=True,
        help="Its record id at the source registry.")
    dci_pulled = fields.DateTime("Pulled", readonly=True,
        help="When a pull or refresh last created or changed it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.dci_registry, Index.Equality()),
                (t.dci_ref, Index.Equality()),
                where=t.dci_registry != None))  # noqa: E711

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        for name in ('dci_registry', 'dci_ref', 'dci_pulled'):
            default.setdefault(name, None)
        return super().copy(parties, default=default)
