"""Batches of a population-wide action: ranges of party ids."""
from sql.aggregate import Max, Min

from trytond import config
from trytond.pool import Pool
from trytond.transaction import Transaction


def batch_size():
    """How many registrant ids a batch of a population-wide action covers:
    the context key `spp_programs_batch_size` or `[spp_programs] batch_size`
    in the configuration file (default 500,000; the names are those of the
    programs, where the setting was first). A run's progress is updated
    after each batch."""
    size = Transaction().context.get('spp_programs_batch_size')
    if size is None:
        size = config.getint('spp_programs', 'batch_size', default=500000)
    return max(int(size), 1)


def registrant_ranges():
    """Ranges [low, high) of party ids, `batch_size()` ids each, that cover
    the whole registry: the batches of a population-wide action. The bounds
    come from the primary key index, without a scan."""
    Party = Pool().get('party.party')
    party = Party.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*party.select(Min(party.id), Max(party.id)))
    low, high = cursor.fetchone()
    if low is None:
        return []
    size = batch_size()
    return [(start, start + size) for start in range(low, high + 1, size)]
