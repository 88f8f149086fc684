"""Generate a population into the database of the current transaction."""
import time
from contextlib import nullcontext

from trytond import backend
from trytond.pool import Pool
from trytond.transaction import Transaction

from . import rebuild
from .areas import ensure_areas, load_refs
from .bulk import deferred_indexes
from .population import PopulationGenerator, plan_areas
from .writer import PopulationWriter

BATCH = 20_000
# From this many households on PostgreSQL, indexes are built after the load.
BULK_FROM = 20_000
# Connections rebuilding them at once in `spp-demo generate` and the bench
# (rebuild.py): the library's default stays 1, one transaction.
REBUILD_JOBS = 2
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
        start=None, batch=BATCH, progress=None, bulk=None, regions=17,
        jobs=1):
    """Store `households` generated households (continuing after the
    existing ones unless `start` is given); return figures of the run.

    `bulk` (default: from BULK_FROM households on PostgreSQL) builds the
    secondary indexes and foreign keys of the registry tables once after
    the load; with `jobs` 1 in the transaction, the tables locked until it
    ends. With `jobs` above 1 this function commits the load, then
    rebuilds on `jobs` connections (rebuild.py). A rebuild that failed is
    finished first by the next call (`households` 0 included), which then
    commits the transaction before anything else."""
    started = time.perf_counter()
    transaction = Transaction()
    figures = {}
    if backend.name == 'postgresql' and rebuild.pending(
            transaction.connection.cursor()):
        # On other connections: this one must hold no lock, and see what
        # they build (a new snapshot) before it drops anything.
        transaction.commit()
        earlier = figures['finished_earlier_rebuild'] = {}
        _rebuild(transaction, max(jobs, 2), earlier)
    if start is None:
        start = existing_households()
    if bulk is None:
        bulk = households >= BULK_FROM
    bulk = bulk and backend.name == 'postgresql'
    generator, refs = prepare(seed, country, locale, regions)
    writer = PopulationWriter(refs, generator)
    parties = 0

    def load():
        nonlocal parties
        for offset in range(0, households, batch):
            count = min(batch, households - offset)
            parties += writer.write(
                generator.households(count, start + offset))
            if progress:
                progress(offset + count, households,
                    time.perf_counter() - started)
    if bulk and jobs > 1:
        cursor = transaction.connection.cursor()
        rebuild.drop_for_load(cursor, TABLES)
        load()
        rebuild.add_foreign_keys(cursor)
        committed = time.perf_counter()
        transaction.commit()
        figures['load_commit_seconds'] = round(
            time.perf_counter() - committed, 3)
        _rebuild(transaction, jobs, figures)
    else:
        with (deferred_indexes(transaction.connection, TABLES, figures)
                if bulk else nullcontext()):
            load()
    return {
        'households': households,
        'individuals': parties - households,
        'rows': writer.counts,
        'seconds': round(time.perf_counter() - started, 3),
        'bulk': bulk,
        **figures,
        'table_seconds': {t: round(s, 3) for t, s in writer.seconds.items()},
        }


def _rebuild(transaction, jobs, figures):
    "Run rebuild.py's plan on connections of the transaction's database."
    database = transaction.database
    rebuild.rebuild(lambda: database.get_connection(autocommit=True),
        database.put_connection, jobs=jobs, figures=figures)
