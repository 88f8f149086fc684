"""Stage functions of bench/run_all.py.

Each gets the Context and returns {'rows', 'seconds', 'orm', 'floor', ...};
ORDER lists the lifecycle with the addon each stage needs. Stages of
addons other engineers build plug in through bench/stage_<name>.py."""
import importlib.util
import statistics
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
NO_QUEUE = {'spp_programs_queue_threshold': 10 ** 12}

ORDER = [
    ('generate', None),
    ('recompute_indicators', None),
    ('eligibility_enrol', 'spp_programs'),
    ('cycle_preparation', 'spp_programs'),
    ('entitlements', 'spp_entitlement'),
    ('approval', 'spp_entitlement'),
    ('payment_batches_export', 'spp_payment'),
    ('reconciliation', 'spp_payment'),
    ('api_lookups', 'spp_api'),
    ('grievances', 'spp_grievance'),
    ]
# Tables the generator writes: the floor copies them.
GENERATED = ['party_party', 'party_party__history', 'party_party_lang',
    'party_identifier', 'party_identifier__history',
    'party_contact_mechanism', 'spp_group_membership',
    'spp_group_membership__history', 'spp_group_membership-role']


class NotBuilt(Exception):
    "The addon is there but does not offer what the stage measures yet."


@dataclass
class Context:
    options: object
    database: str
    pool: object
    uri: str
    size: int
    state: dict


def timed(context, function, commit=True, extra=None):
    "Run function in its own transaction; return (seconds, result)."
    from trytond.transaction import Transaction
    started = time.perf_counter()
    with Transaction().start(context.database, 0,
            context={**NO_QUEUE, **(extra or {})}) as transaction:
        result = function()
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
    return time.perf_counter() - started, result


def sql(context, query, params=None, fetch=False):
    import psycopg
    with psycopg.connect(context.uri.rstrip('/') + '/' + context.database,
            autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if fetch else cursor.rowcount


def bench_module(name):
    "A sibling bench script (bench/<name>.py) as a module, or None."
    path = BENCH / f'{name}.py'
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f'bench_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- generate -----------------------------------------------------------------

def stage_generate(context):
    from trytond.modules.spp_demo.generate import (
        REBUILD_JOBS, generate_population, prepare)
    from trytond.modules.spp_demo.orm import create_households
    options = context.options
    seconds, figures = timed(context, lambda: generate_population(
            context.size, seed=options.seed, start=0, jobs=REBUILD_JOBS))
    vacuum = time.perf_counter()
    sql(context, 'VACUUM ANALYZE')
    vacuum = time.perf_counter() - vacuum
    rows = figures['households'] + figures['individuals']

    def orm_sample():
        generator, refs = prepare(options.seed)
        households = list(generator.households(options.generate_sample,
                start=context.size))
        people = (p for h in households for p in h.members)
        for ordinal, person in enumerate(people, start=10 ** 8):
            # Documents numbered above every party id: no clash.
            generator.document(person, ordinal)
        started = time.perf_counter()
        create_households(households, refs)
        return time.perf_counter() - started, sum(
            len(h.members) + 1 for h in households)
    if options.generate_sample:
        _, (orm_seconds, orm_rows) = timed(
            context, orm_sample, commit=False)
        orm = {'rows': orm_rows, 'seconds': round(orm_seconds, 2),
            'extrapolated_seconds': round(orm_seconds * rows / orm_rows, 1)}
    else:
        orm = {'status': 'not run', 'reason': "--generate-sample 0"}

    floor = 0.0
    for table in GENERATED:
        copy = f'bench_floor_{table.replace("-", "_")}'
        started = time.perf_counter()
        sql(context, f'CREATE TABLE "{copy}" AS SELECT * FROM "{table}"')
        floor += time.perf_counter() - started
        sql(context, f'DROP TABLE "{copy}"')
    return {
        'rows': rows,
        'seconds': seconds,
        'households': figures['households'],
        'individuals': figures['individuals'],
        'table_rows': figures['rows'],
        'bulk_mode': figures.get('bulk'),
        # Serial rebuild (one transaction): index, constraint, analyze
        # seconds; parallel (spp_demo/rebuild.py): the rebuild's wall time
        # and each kind of step's seconds added over the connections.
        **{key: figures[key] for key in ['index_seconds',
                'constraint_seconds', 'analyze_seconds',
                'load_commit_seconds', 'rebuild_jobs', 'rebuild_seconds',
                'index_task_seconds', 'constraint_task_seconds',
                'analyze_task_seconds', 'attach_seconds', 'indexes_rebuilt',
                'constraints_revalidated', 'slowest_indexes']
            if key in figures},
        'table_seconds': figures.get('table_seconds'),
        'vacuum_analyze_seconds': round(vacuum, 2),
        'orm': orm,
        'floor': {'what': "CREATE TABLE AS SELECT of every generated row "
            "(no index, no constraint, no Python)",
            'rows': sum(figures['rows'].values()),
            'seconds': round(floor, 2)},
        }


# -- indicators -----------------------------------------------------------

def stage_recompute(context):
    Party = context.pool.get('party.party')
    groups = sql(context, "SELECT id FROM party_party "
        "WHERE registrant_type = 'group' ORDER BY id", fetch=True)
    seconds, _ = timed(context, Party.recompute_indicators)
    sample = [g for g, in groups[:context.options.sample]]

    def per_group():
        for group in sample:
            Party.recompute_indicators([group])
    orm_seconds, _ = timed(context, per_group, commit=False)
    floor = time.perf_counter()
    sql(context, 'CREATE TEMP TABLE floor_indicators AS '
        'SELECT m."group", COUNT(*) AS members, '
        "SUM(CASE WHEN p.birth_date > CURRENT_DATE - INTERVAL '18 years' "
        'THEN 1 ELSE 0 END) AS children, '
        "SUM(CASE WHEN p.birth_date <= CURRENT_DATE - INTERVAL '60 years' "
        'THEN 1 ELSE 0 END) AS elderly, '
        'SUM(CASE WHEN p.disability THEN 1 ELSE 0 END) AS disabled '
        'FROM spp_group_membership m JOIN party_party p '
        'ON p.id = m.individual GROUP BY m."group"')
    floor = time.perf_counter() - floor
    return {
        'rows': len(groups),
        'seconds': seconds,
        'orm': {'what': "recompute_indicators per group",
            'rows': len(sample), 'seconds': round(orm_seconds, 2),
            'extrapolated_seconds': round(
                orm_seconds * len(groups) / max(len(sample), 1), 1)},
        'floor': {'what': "one GROUP BY into a temporary table "
            "(4 counts, no UPDATE)", 'rows': len(groups),
            'seconds': round(floor, 2)},
        }


# -- programs -------------------------------------------------------------

def _programs():
    module = bench_module('programs')
    if module is None:
        raise NotBuilt("bench/programs.py is missing")
    return module


def stage_eligibility_enrol(context):
    programs = _programs()
    Program = context.pool.get('spp.program')
    database = context.database
    _, program_id = programs.timed(database,
        lambda: programs.setup_program('RUNALL'))
    import_s, _ = programs.timed(database,
        lambda: Program.import_eligible([Program(program_id)]))
    enrol_s, _ = programs.timed(database,
        lambda: Program.enrol([Program(program_id)]))
    _, counts = programs.timed(database, lambda: programs.counts(program_id))
    _, orm_program = programs.timed(database,
        lambda: programs.setup_program('RUNALL-ORM'))
    orm_s, orm_rows = programs.timed(database,
        lambda: programs.orm_import_enrol(orm_program, context.options.sample))
    floor_s, floor_rows = programs.timed(database,
        lambda: programs.floor_import(program_id))
    context.state.update(program=program_id, orm_program=orm_program)
    rows = counts['enrolled'] + counts['not_eligible']
    return {
        'rows': rows,
        'seconds': import_s + enrol_s,
        'import_eligible_seconds': round(import_s, 2),
        'enrol_seconds': round(enrol_s, 2),
        'counts': counts,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(
                orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }


def stage_cycle(context):
    programs = _programs()
    if 'program' not in context.state:
        raise NotBuilt("needs the eligibility stage")
    Program = context.pool.get('spp.program')
    Cycle = context.pool.get('spp.cycle')
    database = context.database
    program_id = context.state['program']
    _, cycle_id = programs.timed(database,
        lambda: Cycle.create_next(Program(program_id)).id)
    seconds, _ = programs.timed(database,
        lambda: Cycle.prepare([Cycle(cycle_id)]))
    _, rows = programs.timed(database,
        lambda: Cycle(cycle_id).beneficiary_count)
    orm_s, orm_rows = programs.timed(database,
        lambda: programs.orm_prepare_cycle(context.state['orm_program']))
    floor_s, floor_rows = programs.timed(database,
        lambda: programs.floor_cycle(program_id))
    programs.timed(database, programs.drop_floor)
    context.state['cycle'] = cycle_id
    return {
        'rows': rows,
        'seconds': seconds,
        'orm': {'rows': orm_rows, 'seconds': round(orm_s, 2),
            'extrapolated_seconds': round(
                orm_s * rows / max(orm_rows, 1), 1)},
        'floor': {'rows': floor_rows, 'seconds': round(floor_s, 2)},
        }


# -- API ------------------------------------------------------------------

LOOKUP_SECONDS = 10
LOOKUP_THREADS = 4


def stage_api_lookups(context):
    api = bench_module('api')
    if api is None:
        raise NotBuilt("bench/api.py (gunicorn, API client) is missing")
    codes = [c for c, in sql(context, "SELECT code FROM party_identifier "
            "WHERE type = 'national_id' ORDER BY id LIMIT 20000",
            fetch=True)]
    if not codes:
        raise NotBuilt("no national ID to look up")
    server = SimpleNamespace(uri=context.uri, database=context.database,
        workers=2)
    key = api.make_client(server)
    load = bench_module('load')

    def lookup(rng):
        path = (f'/{context.database}/api/v1/individuals/'
            + urllib.parse.quote(f'national_id|{rng.choice(codes)}'))
        return 'GET', path, None
    with api.gunicorn(server) as port:
        latencies, errors, _ = load.drive(port,
            {'Authorization': f'Bearer {key}'}, lookup, LOOKUP_THREADS,
            LOOKUP_SECONDS)
    Identifier = context.pool.get('party.identifier')
    sample = codes[:context.options.sample]

    def orm_lookups():
        for code in sample:
            Identifier.search([('type', '=', 'national_id'),
                    ('code_compact', '=', code)], limit=1)
    orm_s, _ = timed(context, orm_lookups, commit=False)
    floor_s = _floor_lookups(context, sample)
    return {
        'rows': len(latencies),
        'seconds': LOOKUP_SECONDS,
        'http_errors': errors,
        'clients': LOOKUP_THREADS,
        'gunicorn_workers': 2,
        'p50_ms': round(statistics.median(latencies) * 1000, 1),
        'p95_ms': round(load.percentile(latencies, 0.95) * 1000, 1),
        'ratios': {'orm_vs_floor_per_lookup': round(orm_s / floor_s, 1)},
        'orm': {'what': "Identifier.search by national ID in process, "
            "one at a time", 'rows': len(sample),
            'seconds': round(orm_s, 3),
            'ms_per_lookup': round(orm_s * 1000 / len(sample), 2)},
        'floor': {'what': "SELECT on the indexed code, one at a time",
            'rows': len(sample), 'seconds': round(floor_s, 3),
            'ms_per_lookup': round(floor_s * 1000 / len(sample), 3)},
        }


def _floor_lookups(context, codes):
    import psycopg
    with psycopg.connect(context.uri.rstrip('/') + '/' + context.database,
            autocommit=True) as connection:
        started = time.perf_counter()
        for code in codes:
            connection.execute('SELECT party FROM party_identifier '
                "WHERE type = 'national_id' AND code_compact = %s LIMIT 1",
                (code,)).fetchall()
        return time.perf_counter() - started


STAGES = {
    'generate': stage_generate,
    'recompute_indicators': stage_recompute,
    'eligibility_enrol': stage_eligibility_enrol,
    'cycle_preparation': stage_cycle,
    'api_lookups': stage_api_lookups,
    }
