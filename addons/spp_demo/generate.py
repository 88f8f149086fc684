"""Generate a population into the database of the current transaction."""
import time
from contextlib import nullcontext

from trytond import backend
from trytond.pool import Pool
from trytond.transaction import Transaction

from .areas import ensure_areas, load_refs
from .bulk import deferred_indexes
from .population import PopulationGenerator, plan_areas
from .writer import PopulationWriter

BATCH = 20_000
# From this many households on PostgreSQL, indexes are built after the load.
BULK_FROM = 20_000
TABLES = ['party_party', 'party_party__history', 'party_party_lang',
    'party_identifier', 'party_identifier__history',
    'party_contact_mechanism', 'spp_group_membership',
    'spp_group_membership__history', 'spp_group_membership-role']


def existing_households():
    "Number of groups already registered (where a new run continues)."
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT COUNT(*) FROM party_party "
        "WHERE registrant_type = 'group'")
    return cursor.fetchone()[0]


def prepare(seed=0, country='PH', locale='en_PH', regions=17):
    "Areas (created when missing), references and the generator."
    plan = plan_areas(seed, country, locale, regions=regions)
    refs = load_refs(ensure_areas(plan))
    today = Pool().get('ir.date').today()
    generator = PopulationGenerator(seed, plan, today=today, country=country,
        locale=locale, child_age=refs.child_age,
        elderly_age=refs.elderly_age)
    return generator, refs


def generate_population(households, seed=0, country='PH', locale='en_PH',
        start=None, batch=BATCH, progress=None, bulk=None, regions=17):
    """Store `households` generated households (continuing after the
    existing ones unless `start` is given); return figures of the run.

    `bulk` (default: from BULK_FROM households on PostgreSQL) builds the
    secondary indexes and foreign keys of the registry tables once after
    the load; the tables stay locked until the transaction ends."""
    started = time.perf_counter()
    if start is None:
        start = existing_households()
    if bulk is None:
        bulk = households >= BULK_FROM
    bulk = bulk and backend.name == 'postgresql'
    generator, refs = prepare(seed, country, locale, regions)
    writer = PopulationWriter(refs, generator)
    figures = {}
    parties = 0
    deferred = (deferred_indexes(Transaction().connection, TABLES, figures)
        if bulk else nullcontext())
    with deferred:
        for offset in range(0, households, batch):
            count = min(batch, households - offset)
            parties += writer.write(
                generator.households(count, start + offset))
            if progress:
                progress(offset + count, households,
                    time.perf_counter() - started)
    return {
        'households': households,
        'individuals': parties - households,
        'rows': writer.counts,
        'seconds': round(time.perf_counter() - started, 3),
        'bulk': bulk,
        **figures,
        'table_seconds': {t: round(s, 3) for t, s in writer.seconds.items()},
        }
