#!/usr/bin/env python3
"""Programs benchmark: set-based enrolment and cycle preparation against the
per-record ORM path and a raw SQL floor, on PostgreSQL.

In a database with spp_programs installed and a synthetic registry made by
the spp_demo population generator (`spp-demo generate`, about 4.6 members
per household, ~79% of households with a child), it creates a program for
households with a child (`child_count >= 1 and area in "<country>"`) and
measures, each step in its own committed transaction:

- import eligible (INSERT ... SELECT of the ORM's eligibility query) and
  enrol (UPDATEs re-checking the rule, then deduplication);
- import and enrol in one pass (`import_and_enrol`, the eligible inserted
  as enrolled, then deduplication), on a program of its own;
- cycle preparation (the snapshot of enrolled members);
- the same operations through per-record ORM calls on a --sample of
  households, extrapolated to the whole population;
- the floor: hand-written INSERT ... SELECT (and, for enrol, UPDATE) of
  the same rule into an equivalent plain table (LIKE the real table
  INCLUDING ALL and its fill factor, without foreign keys).

    .venv/bin/python -O bench/programs.py --households 100000

prints JSON and writes it to bench/results/programs_<households>.json.
--reuse keeps an existing database of that size (generation takes about a
second per thousand households).
"""
import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
RULE = 'child_count >= 1 and area in "{country}"'
NO_QUEUE = {'spp_programs_queue_threshold': 10 ** 12}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default=None,
        help="default: bench_programs_<households>")
    parser.add_argument('--households', type=int, default=100_000)
    parser.add_argument('--sample', type=int, default=10_000,
        help="households of the per-record ORM comparison")
    parser.add_argument('--reuse', action='store_true',
        help="keep the database when it already has the population")
    parser.add_argument('--generator', choices=['demo', 'sql'],
        default='demo', help="the spp_demo population generator, or a "
        "quick generate_series one (2-5 members, 79%% with a child, one "
        "ID each, 0.1%% of people in two households)")
    parser.add_argument('--output', default=None)
    return parser.parse_args()


def executable(name):
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def database_exists(uri, name):
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/postgres') as connection:
        return bool(connection.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s',
                (name,)).fetchone())


def create_database(uri, name, households, generator='demo'):
    "Create `name` with spp_programs and generate the population."
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/postgres',
            autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        subprocess.run([executable('trytond-admin'), '-d', name,
                '-u', 'spp_programs', '--activate-dependencies',
                '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)
        if generator == 'demo':
            subprocess.run([executable('spp-demo'), 'generate', '-d', name,
                    '--households', str(households), '--quiet'],
                env=env, check=True, stdout=subprocess.DEVNULL)
    if generator == 'sql':
        sql_population(uri, name, households)
    with psycopg.connect(uri.rstrip('/') + '/' + name,
            autocommit=True) as connection:
        connection.execute('VACUUM')
        connection.execute('ANALYZE')


GENERATE = '''
CREATE TEMPORARY TABLE bench_household AS
SELECT i, 2 + (i * 7 %% 4) AS members,
    CASE WHEN (i * 13 %% 100) < 79 THEN 1 + i %% 2
        ELSE 0 END AS children
FROM generate_series(0, %(n)s - 1) AS i;
INSERT INTO party_party (id, code, name, registrant_type, group_kind, area,
    active, member_count, child_count, elderly_count, disabled_member_count,
    female_head, multiple_groups, birth_date_approximate, disability,
    registration_date, create_uid, create_date)
SELECT %(base)s + h.i, 'BH' || h.i, 'Household ' || h.i, 'group', %(kind)s,
    (%(districts)s)[1 + h.i %% %(district_count)s], TRUE, h.members,
    h.children, 0, 0, FALSE, FALSE, FALSE, FALSE, CURRENT_DATE, 0, NOW()
FROM bench_household h;
INSERT INTO party_party (id, code, name, registrant_type, area, active,
    birth_date, member_count, child_count, elderly_count,
    disabled_member_count, female_head, multiple_groups,
    birth_date_approximate, disability, registration_date, create_uid,
    create_date)
SELECT %(base)s + %(n)s + h.i * 5 + j, 'BI' || h.i || '-' || j,
    'Person ' || h.i || '-' || j, 'individual',
    (%(districts)s)[1 + h.i %% %(district_count)s], TRUE,
    CASE WHEN j >= h.members - h.children
        THEN CURRENT_DATE - (1 + (h.i + j) %% 15) * 365
        ELSE CURRENT_DATE - (20 + (h.i + j) %% 50) * 365 END,
    0, 0, 0, 0, FALSE, FALSE, FALSE, FALSE, CURRENT_DATE, 0, NOW()
FROM bench_household h CROSS JOIN generate_series(0, 4) AS j
WHERE j < h.members;
INSERT INTO spp_group_membership ("group", individual, create_uid,
    create_date)
SELECT %(base)s + h.i, %(base)s + %(n)s + h.i * 5 + j, 0, NOW()
FROM bench_household h CROSS JOIN generate_series(0, 4) AS j
WHERE j < h.members;
INSERT INTO spp_group_membership ("group", individual, create_uid,
    create_date)
SELECT %(base)s + (h.i + 1) %% %(n)s, %(base)s + %(n)s + h.i * 5, 0, NOW()
FROM bench_household h WHERE h.i %% 1000 = 0;
INSERT INTO party_identifier (party, type, code, code_compact, unique_code,
    active, sequence, create_uid, create_date)
SELECT p.id, 'bench_id', 'B' || p.id, 'B' || p.id, NULL, TRUE, 10, 0, NOW()
FROM party_party p WHERE p.id >= %(base)s + %(n)s;
SELECT setval('party_party_id_seq', (SELECT MAX(id) FROM party_party));
'''


def sql_population(uri, name, households):
    """A population straight from generate_series: fast enough for a
    million households where the spp_demo generator takes half an hour."""
    import psycopg
    with psycopg.connect(uri.rstrip('/') + '/' + name) as connection:
        (base,), = connection.execute(
            'SELECT COALESCE(MAX(id), 0) + 1 FROM party_party').fetchall()
        (kind,), = connection.execute(
            "SELECT id FROM spp_group_kind WHERE code = 'household'"
            ).fetchall()
        connection.commit()
    # Areas through the ORM (nested set), then the rest in SQL.
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    with Transaction().start(name, 0) as transaction:
        Area = pool.get('spp.area')
        country, = Area.create([{'name': "Benchland", 'code': 'BL'}])
        regions = Area.create([{'name': f"Region {i}", 'code': f'BR{i}',
                    'parent': country.id} for i in range(10)])
        districts = Area.create([{'name': f"District {i}",
                    'code': f'BD{i}', 'parent': regions[i % 10].id}
                for i in range(100)])
        transaction.commit()
    with psycopg.connect(uri.rstrip('/') + '/' + name) as connection:
        connection.execute(GENERATE % {
                'n': households, 'base': base, 'kind': kind,
                'districts': 'ARRAY[%s]' % ','.join(
                    str(d.id) for d in districts),
                'district_count': len(districts)})
        connection.commit()


def timed(database, function, context=None):
    "Run function in its own transaction, committed; return (s, result)."
    from trytond.transaction import Transaction
    started = time.perf_counter()
    with Transaction().start(database, 0, context=context or NO_QUEUE) \
            as transaction:
        result = function()
        transaction.commit()
    return time.perf_counter() - started, result


def setup_program(code):
    from trytond.pool import Pool
    pool = Pool()
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    Area = pool.get('spp.area')
    currency = Currency.search([('code', '=', 'BNC')])
    if not currency:
        currency = Currency.create([{
                    'name': "Bench", 'code': 'BNC', 'symbol': 'B'}])
    country, = Area.search([('parent', '=', None)], limit=1)
    for old in Program.search([('code', '=', code)]):
        if not drop_program(old.id):
            Program.write([old], {'code': f'{code}-old-{old.id}'})
    program, = Program.create([{
                'name': f"Bench {code}", 'code': code,
                'target_type': 'group', 'currency': currency[0].id,
                'eligibility_rule': RULE.format(country=country.name),
                }])
    Program.activate([program])
    return program.id


def drop_program(program_id):
    """Delete an earlier run's program with its members, cycles and runs,
    in SQL (the ORM would cascade row by row), so that the tables do not
    grow from run to run; False, and nothing deleted, when something else
    refers to it (entitlements of its cycles, say)."""
    from trytond.modules.spp_registry.bulk import invalidate_cache
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('SAVEPOINT bench_drop_program')
    try:
        cursor.execute('DELETE FROM spp_cycle_membership WHERE cycle IN '
            '(SELECT id FROM spp_cycle WHERE program = %s)', (program_id,))
        for table in ['spp_cycle', 'spp_program_run',
                'spp_program_membership']:
            cursor.execute(f'DELETE FROM {table} WHERE program = %s',
                (program_id,))
        cursor.execute('DELETE FROM spp_program WHERE id = %s',
            (program_id,))
    except Exception:
        cursor.execute('ROLLBACK TO SAVEPOINT bench_drop_program')
        return False
    cursor.execute('RELEASE SAVEPOINT bench_drop_program')
    pool = Pool()
    invalidate_cache(*(pool.get(name) for name in ['spp.program',
                'spp.program.membership', 'spp.cycle', 'spp.cycle.membership',
                'spp.program.run']))
    return True


def counts(program_id):
    from trytond.pool import Pool
    Program = Pool().get('spp.program')
    program = Program(program_id)
    return {
        'eligible_now': program.eligible_count,
        **{state: getattr(program, f'{state}_count') for state in [
                'draft', 'enrolled', 'not_eligible', 'duplicated']},
        }


def orm_import_enrol(program_id, sample):
    """The per-record ORM path: one create per eligible household, one
    eligibility check and one write per membership."""
    from trytond.pool import Pool
    pool = Pool()
    Program = pool.get('spp.program')
    Party = pool.get('party.party')
    Membership = pool.get('spp.program.membership')
    today = pool.get('ir.date').today()
    program = Program(program_id)
    domain = program.eligible_domain()
    households = Party.search_read(domain, limit=sample,
        order=[('id', 'ASC')], fields_names=['area'])
    memberships = []
    for household in households:
        memberships.extend(Membership.create([{
                        'program': program.id,
                        'registrant': household['id'],
                        'area': household['area'],
                        'state': 'draft',
                        }]))
    for membership in memberships:
        eligible = Party.search_count(
            domain + [('id', '=', membership.registrant.id)])
        Membership.write([membership], {
                'state': 'enrolled' if eligible else 'not_eligible',
                'enrolment_date': today,
                })
    return len(memberships)


def orm_prepare_cycle(program_id):
    "The per-record ORM path of cycle preparation: one create per member."
    from trytond.pool import Pool
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Program = pool.get('spp.program')
    Membership = pool.get('spp.program.membership')
    CycleMembership = pool.get('spp.cycle.membership')
    cycle = Cycle.create_next(Program(program_id))
    # Read as dicts: attribute access on one list of thousands of records
    # is quadratic in trytond, which would measure the list, not the path.
    members = Membership.search_read([
            ('program', '=', program_id), ('state', '=', 'enrolled')],
        fields_names=['registrant', 'area'])
    for member in members:
        CycleMembership.create([{
                    'cycle': cycle.id,
                    'registrant': member['registrant'],
                    'program_membership': member['id'],
                    'area': member['area'],
                    }])
    return len(members)


RULE_SQL = (
    'SELECT p.id FROM party_party p JOIN spp_area a ON a.id = p.area '
    'JOIN spp_area root ON root.parent IS NULL '
    'AND a."left" >= root."left" AND a."right" <= root."right" '
    'WHERE p.registrant_type = \'group\' AND p.disabled IS NULL '
    'AND p.active AND p.child_count >= 1')
FLOOR_TABLES = {
    'spp_program_membership': 'bench_floor_membership',
    'spp_cycle_membership': 'bench_floor_cycle_membership',
    }


def plain_copy(cursor, source, name):
    """Create `name` as the plain-SQL equivalent of `source`: the same
    columns, defaults, checks, unique constraints and indexes
    (LIKE ... INCLUDING ALL) and fill factor. No foreign keys: what the
    set-based path pays for them (one check per statement,
    spp_registry/bulk/references.py) is part of what is measured against the
    floor."""
    cursor.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{source}" INCLUDING ALL)')
    # LIKE copies no storage parameter: the same page fill factor too.
    cursor.execute('SELECT reloptions FROM pg_class '
        'WHERE oid = %s::regclass', (source,))
    options, = cursor.fetchone()
    if options:
        cursor.execute(f'ALTER TABLE "{name}" SET ({", ".join(options)})')


def floor_tables():
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    for source, name in FLOOR_TABLES.items():
        plain_copy(cursor, source, name)


def floor_import(program_id, create=True, enrolled=False):
    """The floor of import eligible: a hand-written INSERT ... SELECT of
    the same rule into the equivalent plain table (created first unless
    `create` is false); of import and enrol if `enrolled`: the rows
    inserted as enrolled as of today."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    if create:
        floor_tables()
    state, date = ('enrolled', 'CURRENT_DATE') if enrolled else (
        'draft', 'NULL::date')
    cursor.execute('INSERT INTO bench_floor_membership (program, '
        'registrant, state, enrolment_date, state_date, area, forced, '
        'not_duplicate, create_uid, create_date) '
        f'SELECT %s, p.id, \'{state}\', {date}, {date}, p.area, FALSE, '
        'FALSE, 0, NOW() '
        f'FROM party_party p WHERE p.id IN ({RULE_SQL})', (program_id,))
    return cursor.rowcount


def floor_enrol(program_id):
    """The floor of enrol: one hand-written UPDATE of the draft members
    that match the rule (no deduplication)."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('UPDATE bench_floor_membership SET state = '
        '\'enrolled\', enrolment_date = CURRENT_DATE, '
        'state_date = CURRENT_DATE, write_uid = 0, write_date = NOW() '
        'WHERE program = %s AND state = \'draft\' '
        f'AND registrant IN ({RULE_SQL})', (program_id,))
    return cursor.rowcount


def floor_cycle(program_id, cycle_id=None):
    """The floor of cycle preparation: the snapshot by hand-written SQL
    (for the program's last cycle when no cycle is given)."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    if cycle_id is None:
        cursor.execute('SELECT MAX(id) FROM spp_cycle WHERE program = %s',
            (program_id,))
        cycle_id, = cursor.fetchone()
    cursor.execute('INSERT INTO bench_floor_cycle_membership (cycle, '
        'registrant, program_membership, area, create_uid, create_date) '
        'SELECT %s, registrant, id, area, 0, NOW() '
        'FROM spp_program_membership WHERE program = %s '
        'AND state = \'enrolled\'', (cycle_id, program_id))
    return cursor.rowcount


def drop_floor():
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    for name in FLOOR_TABLES.values():
        cursor.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')


def main():
    options = parse_arguments()
    database = options.database or f'bench_programs_{options.households}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    if not (options.reuse and database_exists(options.uri, database)):
        create_database(options.uri, database, options.households,
            options.generator)
    import psycopg
    with psycopg.connect(options.uri.rstrip('/') + '/' + database,
            autocommit=True) as connection:
        connection.execute('ANALYZE')
    setup_seconds = time.perf_counter() - started

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
        Party = pool.get('party.party')
        households = Party.search_count([('registrant_type', '=', 'group')])
        individuals = Party.search_count(
            [('registrant_type', '=', 'individual')])

    _, program_id = timed(database, lambda: setup_program('BENCH'))
    Program = pool.get('spp.program')
    Cycle = pool.get('spp.cycle')

    import_s, _ = timed(database,
        lambda: Program.import_eligible([Program(program_id)]))
    enrol_s, _ = timed(database,
        lambda: Program.enrol([Program(program_id)]))
    rerun_s, _ = timed(database, lambda: (
            Program.import_eligible([Program(program_id)]),
            Program.enrol([Program(program_id)])))
    dedup_s, _ = timed(database,
        lambda: Program.deduplicate([Program(program_id)]))
    _, cycle_id = timed(database,
        lambda: Cycle.create_next(Program(program_id)).id)
    cycle_s, _ = timed(database, lambda: Cycle.prepare([Cycle(cycle_id)]))
    _, cycle_count = timed(database,
        lambda: Cycle(cycle_id).beneficiary_count)
    _, program_counts = timed(database, lambda: counts(program_id))

    # The floor right after the set-based steps: on a shared machine the
    # load changes over the long per-record run.
    timed(database, floor_tables)
    floor_import_s, floor_rows = timed(database,
        lambda: floor_import(program_id, create=False))
    floor_enrol_s, floor_enrolled = timed(database,
        lambda: floor_enrol(program_id))
    floor_cycle_s, floor_cycle_rows = timed(database,
        lambda: floor_cycle(program_id, cycle_id))
    timed(database, drop_floor)
    floor_s = floor_import_s + floor_enrol_s

    # Import and enrol in one pass, on a program of its own.
    _, one_pass_id = timed(database, lambda: setup_program('BENCH-ONE'))
    one_pass_s, _ = timed(database,
        lambda: Program.import_and_enrol([Program(one_pass_id)]))
    _, one_pass_counts = timed(database, lambda: counts(one_pass_id))
    floor_one_pass_s, floor_one_pass_rows = timed(database,
        lambda: floor_import(one_pass_id, enrolled=True))
    timed(database, drop_floor)

    _, orm_program_id = timed(database, lambda: setup_program('BENCH-ORM'))
    orm_s, orm_rows = timed(database,
        lambda: orm_import_enrol(orm_program_id, options.sample))
    orm_cycle_s, orm_cycle_rows = timed(database,
        lambda: orm_prepare_cycle(orm_program_id))

    set_based_s = import_s + enrol_s
    population = program_counts['eligible_now']
    orm_extrapolated_s = orm_s * population / max(orm_rows, 1)
    orm_cycle_extrapolated_s = (
        orm_cycle_s * cycle_count / max(orm_cycle_rows, 1))
    figures = {
        'database': database,
        'households': households,
        'individuals': individuals,
        'rule': RULE,
        'python_optimize': bool(sys.flags.optimize),
        'setup_s': round(setup_seconds, 1),
        'counts': {**program_counts, 'cycle_beneficiaries': cycle_count},
        'import_eligible_s': round(import_s, 2),
        'enrol_s': round(enrol_s, 2),
        'import_enrol_s': round(set_based_s, 2),
        'import_enrol_rerun_s': round(rerun_s, 2),
        'import_and_enrol_one_pass_s': round(one_pass_s, 2),
        'import_and_enrol_one_pass_counts': one_pass_counts,
        'deduplicate_s': round(dedup_s, 2),
        'cycle_prepare_s': round(cycle_s, 2),
        'orm_sample': {
            'households': orm_rows,
            'import_enrol_s': round(orm_s, 2),
            'import_enrol_extrapolated_s': round(orm_extrapolated_s, 1),
            'cycle_members': orm_cycle_rows,
            'cycle_prepare_s': round(orm_cycle_s, 2),
            'cycle_prepare_extrapolated_s': round(
                orm_cycle_extrapolated_s, 1),
            },
        'floor': {
            'table': "LIKE the real table INCLUDING ALL (columns, "
            "defaults, checks, unique constraints, indexes) and fill factor, "
            "no foreign key; hand-written SQL of the same rule",
            'import_rows': floor_rows,
            'import_s': round(floor_import_s, 2),
            'enrol_rows': floor_enrolled,
            'enrol_s': round(floor_enrol_s, 2),
            'import_enrol_s': round(floor_s, 2),
            'import_enrolled_rows': floor_one_pass_rows,
            'import_enrolled_s': round(floor_one_pass_s, 2),
            'cycle_rows': floor_cycle_rows,
            'cycle_prepare_s': round(floor_cycle_s, 2),
            },
        'ratios': {
            'import_eligible_set_based_vs_floor': round(
                import_s / floor_import_s, 2),
            'enrol_set_based_vs_floor': round(enrol_s / floor_enrol_s, 2),
            'enrol_without_deduplication_vs_floor': round(
                max(enrol_s - dedup_s, 0) / floor_enrol_s, 2),
            'import_enrol_set_based_vs_floor': round(
                set_based_s / floor_s, 2),
            'import_and_enrol_one_pass_vs_floor': round(
                one_pass_s / floor_one_pass_s, 2),
            'cycle_set_based_vs_floor': round(cycle_s / floor_cycle_s, 2),
            'import_enrol_orm_vs_set_based': round(
                orm_extrapolated_s / set_based_s, 1),
            'cycle_orm_vs_set_based': round(
                orm_cycle_extrapolated_s / cycle_s, 1),
            },
        'targets_1m': {
            'import_enrol_s': 20, 'cycle_prepare_s': 15,
            'set_based_vs_floor_max': 1.5, 'orm_vs_set_based_min': 30,
            },
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds'),
        }
    output = Path(options.output or RESULTS / f'programs_{households}.json')
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + '\n')
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
