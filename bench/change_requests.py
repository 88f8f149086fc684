#!/usr/bin/env python3
"""Change requests benchmark (spp_change_request): bulk approval and
application of edit requests, and the "waiting for me" list, on a
population made by the spp_demo generator on PostgreSQL.

In a database of --size households with spp_change_request activated
(`bench_change_requests_<size>`, reused when it exists unless --reset),
made by `spp-demo generate` (about 4.6 members per household, areas
country > regions > districts > localities), it:

1. creates, as a requester (Change Request User + registrar, areas: the
   country), --requests `edit_individual` requests on distinct
   individuals (occupation and given name), through the ORM in batches of
   --batch, and submits them in batches (both timed);
2. as a local validator whose areas cover them (the country), times
   `ChangeRequest.decide(all, 'approve')` in one transaction, committed
   (approval and, the kind applying on approval, the registry writes),
   and checks that every request was applied and every registrant shows
   its proposed values;
3. the per-record path for comparison: --per-record requests approved one
   transaction each, extrapolated to --requests;
4. when the bulk target is missed (or --profile), cProfiles decide on
   --profile-batch more requests and reports the top costs;
5. opens --open more submitted requests set-based in SQL (INSERT ...
   SELECT of the requests, their preview lines and their "submitted"
   decisions, as submit leaves them: much faster than the ORM's create
   and submit, whose rate step 1 reports), and times the "waiting for me" list
   as sao shows it (search of the first 80 rows in the action's order,
   then read of the list view's fields with the many2ones' rec_name,
   _timestamp, _write and _delete), for a local validator of one district
   and one of the whole country: median of --repeat runs, each in a
   transaction of its own, plus the count sao asks for.

    .venv/bin/python bench/change_requests.py --size 100000 \\
        --requests 10000 --open 100000

prints JSON and writes bench/results/change_requests_<size>.json.
Targets (issue): bulk approve + apply of 10,000 requests <= 30 s, the
list <= 200 ms. The requests a run creates stay in the database (applied
or open): a rerun on a reused database picks other individuals.
"""
import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgdb import connect, database_exists, executable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
BULK_TARGET_S = 30
BULK_TARGET_REQUESTS = 10_000
LIST_TARGET_MS = 200
LIST_LIMIT = 80
ORDER = [('submitted_on', 'ASC'), ('id', 'ASC')]
LIST_FIELDS = ['reference', 'kind', 'registrant', 'area', 'requested_by',
    'submitted_on', 'status', 'state']
MANY2ONES = ['kind', 'registrant', 'area', 'requested_by']


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default=None,
        help="default: bench_change_requests_<size>")
    parser.add_argument('--size', type=int, default=100_000,
        help="households of the population")
    parser.add_argument('--reset', action='store_true',
        help="recreate the database even when it exists")
    parser.add_argument('--addons', default='spp_change_request',
        help="comma-separated addons to activate (with their "
        "dependencies), e.g. spp_change_request,spp_audit")
    parser.add_argument('--requests', type=int, default=10_000,
        help="requests approved and applied in one decide call")
    parser.add_argument('--batch', type=int, default=1000,
        help="requests per ORM create and submit call")
    parser.add_argument('--per-record', type=int, default=200,
        help="requests approved one transaction each (0: skip)")
    parser.add_argument('--profile', action='store_true',
        help="profile decide even when the bulk target is met")
    parser.add_argument('--profile-batch', type=int, default=1000)
    parser.add_argument('--profile-dump', default=None,
        help="also write decide's profile (pstats) to this file")
    parser.add_argument('--open', type=int, default=100_000,
        help="submitted requests left open for the list")
    parser.add_argument('--repeat', type=int, default=7,
        help="runs of each list timing")
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--output', default=None)
    return parser.parse_args()


# -- database -----------------------------------------------------------------

def create_database(uri, name, size, addons):
    """Create `name` with the addons and generate the population; return
    the seconds of activation and generation."""
    with connect(uri, 'postgres', autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" '
            "TEMPLATE template0 ENCODING 'unicode'")
    seconds = {}
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        started = time.perf_counter()
        subprocess.run([executable('trytond-admin'), '-d', name,
                '-u', *addons, '--activate-dependencies',
                '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)
        seconds['activate_s'] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        subprocess.run([executable('spp-demo'), 'generate', '-d', name,
                '--households', str(size), '--quiet'],
            env=env, check=True, stdout=subprocess.DEVNULL)
        seconds['generate_s'] = round(time.perf_counter() - started, 1)
    with connect(uri, name, autocommit=True) as connection:
        connection.execute('VACUUM ANALYZE')
    return seconds


def analyze(uri, database, tables=()):
    with connect(uri, database, autocommit=True) as connection:
        if tables:
            for table in tables:
                connection.execute(f'VACUUM ANALYZE "{table}"')
        else:
            connection.execute('ANALYZE')


# -- helpers ------------------------------------------------------------------

def transaction(database, user=0, readonly=False, check_access=True):
    from trytond.transaction import Transaction
    context = {'_check_access': True} if check_access and user else {}
    return Transaction().start(database, user, readonly=readonly,
        context=context)


def timed(database, function, user=0, readonly=False):
    "Run function in a transaction of its own, committed: (s, result)."
    started = time.perf_counter()
    with transaction(database, user, readonly=readonly) as current:
        result = function()
        if not readonly:
            current.commit()
    return time.perf_counter() - started, result


def ref(module, xml_id):
    from trytond.pool import Pool
    return Pool().get('ir.model.data').get_id(module, xml_id)


def setup_users(options):
    """The requester, a local validator of the country and one of a
    district (the district with most individuals); {name: id} and the
    district's figures."""
    from trytond.pool import Pool
    pool = Pool()
    User = pool.get('res.user')
    Area = pool.get('spp.area')
    country, = Area.search([('parent', '=', None)], limit=1,
        order=[('id', 'ASC')])
    from trytond.transaction import Transaction
    sql = Transaction().connection.cursor()
    # The districts: the areas two levels below the country.
    sql.execute('SELECT d.id, d.name, COUNT(p.id) FROM spp_area d '
        'JOIN spp_area r ON r.id = d.parent AND r.parent = %s '
        'JOIN spp_area l ON l."left" >= d."left" AND l."right" <= d."right" '
        'JOIN party_party p ON p.area = l.id '
        "AND p.registrant_type = 'individual' "
        'GROUP BY d.id, d.name ORDER BY 3 DESC, 1 LIMIT 1', (country.id,))
    district_id, district_name, district_people = sql.fetchone()
    users = {}
    specs = {
        'bench_cr_requester': (['group_user'], ['group_registrar'],
            [country.id]),
        'bench_cr_validator_country': (['group_local_validator'],
            ['group_registrar'], [country.id]),
        'bench_cr_validator_district': (['group_local_validator'],
            ['group_registrar'], [district_id]),
        'bench_cr_validator_other': (['group_local_validator'],
            ['group_registrar'], [country.id]),
        }
    for login, (groups, registry, areas) in specs.items():
        group_ids = [ref('spp_change_request', g) for g in groups]
        group_ids += [ref('spp_registry', g) for g in registry]
        found = User.search([('login', '=', login)])
        if found:
            user, = found
            User.write([user], {'groups': [('add', group_ids)],
                    'spp_areas': [('add', areas)]})
        else:
            user, = User.create([{'name': login, 'login': login,
                        'groups': [('add', group_ids)],
                        'spp_areas': [('add', areas)]}])
        users[login.removeprefix('bench_cr_')] = user.id
    return users, {'id': district_id, 'name': district_name,
        'individuals': district_people, 'country': country.id}


def pick_individuals(count, seed, salt):
    """`count` individual ids spread over the population, without an open
    or earlier bench request (a stable pseudo-random order)."""
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT p.id FROM party_party p "
        "WHERE p.registrant_type = 'individual' AND p.active "
        'AND p.disabled IS NULL AND p.area IS NOT NULL '
        'AND p.given_name IS NOT NULL '
        'AND NOT EXISTS (SELECT 1 FROM spp_change_request r '
        'WHERE r.registrant = p.id) '
        'ORDER BY md5(p.id::text || %s) LIMIT %s',
        (f'{seed}-{salt}', count))
    return [r for r, in cursor]


def create_and_submit(database, users, individuals, batch, tag):
    """Create edit_individual requests on the individuals as the
    requester, batch by batch, then submit them batch by batch; return
    ({create_s, submit_s}, request ids)."""
    from trytond.pool import Pool
    pool = Pool(database)
    ChangeRequest = pool.get('spp.change_request')
    with transaction(database):
        kind = ref('spp_change_request', 'kind_edit_individual')
    ids = []
    create_s = submit_s = 0
    for start in range(0, len(individuals), batch):
        chunk = individuals[start:start + batch]
        seconds, created = timed(database, lambda: [r.id
                for r in ChangeRequest.create([{
                            'kind': kind, 'registrant': party,
                            'reason': f"Bench {tag}",
                            'proposed': {
                                'occupation': f"Bench {tag} {party}",
                                'given_name': f"Given{party}",
                                },
                            } for party in chunk])],
            user=users['requester'])
        create_s += seconds
        seconds, _ = timed(database, lambda: ChangeRequest.submit(
                ChangeRequest.browse(created)), user=users['requester'])
        submit_s += seconds
        ids.extend(created)
    return {'create_s': round(create_s, 2), 'submit_s': round(submit_s, 2),
        'create_per_s': round(len(ids) / create_s, 1) if create_s else None,
        'submit_per_s': round(len(ids) / submit_s, 1) if submit_s else None,
        }, ids


def verify_applied(database, ids, tag):
    "How many of the requests are applied and their registrants changed."
    with connect_trytond(database) as cursor:
        cursor.execute('SELECT COUNT(*), COUNT(*) FILTER (WHERE '
            "r.state = 'applied' AND p.occupation = 'Bench ' || %s || ' ' "
            "|| p.id AND p.given_name = 'Given' || p.id "
            'AND p.change_request = r.id) '
            'FROM spp_change_request r JOIN party_party p '
            'ON p.id = r.registrant WHERE r.id = ANY(%s)', (tag, ids))
        total, applied = cursor.fetchone()
    return {'requests': total, 'applied_and_changed': applied}


class connect_trytond:
    "A read-only cursor of the database in a Tryton transaction."
    def __init__(self, database):
        self.database = database

    def __enter__(self):
        from trytond.transaction import Transaction
        self._transaction = Transaction().start(self.database, 0,
            readonly=True)
        self._transaction.__enter__()
        return Transaction().connection.cursor()

    def __exit__(self, *exc):
        self._transaction.__exit__(*exc)


def decide(database, user, ids):
    "decide(ids, 'approve') as user in one committed transaction."
    from trytond.pool import Pool
    ChangeRequest = Pool(database).get('spp.change_request')
    return timed(database, lambda: ChangeRequest.decide(
            ChangeRequest.browse(ids), 'approve', None), user=user)


def profile_decide(database, user, ids, top=25, dump=None):
    "cProfile decide on the requests: the top costs by own and total time."
    from trytond.pool import Pool
    ChangeRequest = Pool(database).get('spp.change_request')
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with transaction(database, user) as current:
        profiler.enable()
        outcome = ChangeRequest.decide(ChangeRequest.browse(ids), 'approve',
            None)
        profiler.disable()
        current.commit()
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler, stream=io.StringIO())
    if dump:
        stats.dump_stats(dump)
    return {'requests': len(ids), 'seconds': round(seconds, 2),
        'applied': len(outcome['applied']),
        **summarise_profile(stats, top)}


def summarise_profile(stats, top):
    "The top functions of a profile by own and by cumulative time."
    total = stats.total_tt

    def name(function):
        filename, line, function_name = function
        for marker in ['site-packages/', 'addons/']:
            if marker in filename:
                filename = filename.split(marker, 1)[1]
        return f'{filename}:{line}:{function_name}'
    rows = [(name(f), cc, nc, tt, ct)
        for f, (cc, nc, tt, ct, _) in stats.stats.items()]
    by_own = sorted(rows, key=lambda r: -r[3])[:top]
    by_total = sorted(rows, key=lambda r: -r[4])[:top * 2]
    return {
        'profiled_s': round(total, 3),
        'top_own_time': [{'function': f, 'calls': nc,
                'own_s': round(tt, 3), 'share': round(tt / total, 3)}
            for f, cc, nc, tt, ct in by_own],
        'top_cumulative': [{'function': f, 'calls': nc,
                'cumulative_s': round(ct, 3), 'share': round(ct / total, 3)}
            for f, cc, nc, tt, ct in by_total],
        }


# -- open requests in SQL -----------------------------------------------------

OPEN_SQL = '''
CREATE TEMPORARY TABLE bench_open AS
SELECT nextval(pg_get_serial_sequence('spp_change_request', 'id')) AS id,
    p.id AS party, p.area,
    p.occupation, p.given_name,
    NOW() - make_interval(secs => row_number() OVER () ) AS submitted
FROM (SELECT p.id, p.area, p.occupation, p.given_name FROM party_party p
    WHERE p.registrant_type = 'individual' AND p.active
    AND p.disabled IS NULL AND p.area IS NOT NULL
    AND p.given_name IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM spp_change_request r
        WHERE r.registrant = p.id)
    ORDER BY md5(p.id::text || %(salt)s) LIMIT %(count)s) AS p;
INSERT INTO spp_change_request (id, reference, kind, registrant, area,
    requested_by, requested_on, submitted_on, reason, state, stage,
    proposed, create_uid, create_date)
SELECT o.id, 'CR-B' || lpad(o.id::text, 9, '0'), %(kind)s, o.party, o.area,
    %(user)s, o.submitted, o.submitted, 'Bench open', 'submitted',
    %(stage)s, json_build_object('occupation', 'Open ' || o.party),
    %(user)s, NOW()
FROM bench_open o;
INSERT INTO spp_change_request_line (request, sequence, key, field,
    current, proposed, create_uid, create_date)
SELECT o.id, 0, 'occupation', %(label)s, COALESCE(o.occupation, ''),
    'Open ' || o.party, %(user)s, NOW()
FROM bench_open o;
INSERT INTO spp_change_request_decision (request, date, "user", stage,
    action, create_uid, create_date)
SELECT o.id, o.submitted, %(user)s, %(stage)s, 'submitted', %(user)s, NOW()
FROM bench_open o;
'''


def open_requests(options, database, users, count):
    """--open submitted requests in SQL, as the ORM's submit leaves them:
    the request (reference, area of the registrant, stage 1), its preview
    line and its "submitted" decision. Returns the seconds."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    with transaction(database):
        kind = ref('spp_change_request', 'kind_edit_individual')
        stage = ref('spp_change_request', 'stage_edit_individual_1')
        label = pool.get('party.party').occupation.string
        cursor = Transaction().connection.cursor()
        cursor.execute('SELECT data_type FROM information_schema.columns '
            "WHERE table_name = 'spp_change_request' "
            "AND column_name = 'proposed'")
        proposed_type, = cursor.fetchone()
    sql = OPEN_SQL
    if proposed_type not in {'json', 'jsonb'}:
        sql = sql.replace("json_build_object('occupation', 'Open ' || "
            "o.party)", "json_build_object('occupation', 'Open ' || "
            "o.party)::text")
    started = time.perf_counter()
    with connect(options.uri, database) as connection:
        parameters = {'salt': f'{options.seed}-open', 'count': count,
            'kind': kind, 'stage': stage, 'user': users['requester'],
            'label': label}
        for statement in filter(str.strip, sql.split(';\n')):
            connection.execute(statement, {k: v for k, v in
                    parameters.items() if f'%({k})s' in statement})
        connection.commit()
    seconds = time.perf_counter() - started
    # The ORM caches nothing of these rows: no invalidation needed in a
    # new transaction.
    analyze(options.uri, database, ['spp_change_request',
            'spp_change_request_line', 'spp_change_request_decision'])
    return seconds, proposed_type


def list_fields():
    return (LIST_FIELDS + [f'{f}.rec_name' for f in MANY2ONES]
        + ['rec_name', '_timestamp', '_write', '_delete'])


def waiting_list(database, user):
    """The first page of "waiting for me" as sao loads it: search, then
    read of the list's fields. Returns (search ms, read ms, rows)."""
    from trytond.pool import Pool
    ChangeRequest = Pool(database).get('spp.change_request')
    with transaction(database, user, readonly=True):
        started = time.perf_counter()
        ids = ChangeRequest.search([('waiting_for_me', '=', True)],
            offset=0, limit=LIST_LIMIT, order=ORDER)
        searched = time.perf_counter()
        rows = ChangeRequest.read([r.id for r in ids], list_fields())
        read = time.perf_counter()
    return (searched - started) * 1000, (read - searched) * 1000, rows


def profile_list(database, user, top=15):
    "cProfile one first page of the list (search + read): the top costs."
    profiler = cProfile.Profile()
    profiler.enable()
    waiting_list(database, user)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    return summarise_profile(stats, top)


def waiting_count(database, user):
    from trytond.pool import Pool
    ChangeRequest = Pool(database).get('spp.change_request')
    with transaction(database, user, readonly=True):
        started = time.perf_counter()
        count = ChangeRequest.search_count([('waiting_for_me', '=', True)])
        return (time.perf_counter() - started) * 1000, count


def time_list(database, user, repeat):
    runs = []
    for _ in range(repeat + 1):
        search_ms, read_ms, rows = waiting_list(database, user)
        runs.append((search_ms, read_ms, search_ms + read_ms))
    first, runs = runs[0], runs[1:]
    count_runs = [waiting_count(database, user) for _ in range(3)]
    total = [r[2] for r in runs]
    return {
        'rows': len(rows),
        'first_run_ms': round(first[2], 1),
        'median_ms': round(statistics.median(total), 1),
        'min_ms': round(min(total), 1),
        'max_ms': round(max(total), 1),
        'median_search_ms': round(statistics.median(r[0] for r in runs), 1),
        'median_read_ms': round(statistics.median(r[1] for r in runs), 1),
        'waiting_count': count_runs[-1][1],
        'count_median_ms': round(statistics.median(
                c[0] for c in count_runs), 1),
        'first_row': {k: rows[0].get(k) for k in ['reference', 'status',
                'submitted_on']} if rows else None,
        }


def explain_waiting(database, user):
    "The plan of the list's search query (EXPLAIN ANALYZE)."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    ChangeRequest = Pool(database).get('spp.change_request')
    with transaction(database, user, readonly=True):
        query = ChangeRequest.search([('waiting_for_me', '=', True)],
            offset=0, limit=LIST_LIMIT, order=ORDER, query=True)
        cursor = Transaction().connection.cursor()
        sql, params = tuple(query)
        cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
        return [r for r, in cursor]


# -- main ---------------------------------------------------------------------

def main():
    options = parse_arguments()
    database = options.database or f'bench_change_requests_{options.size}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    addons = [a.strip() for a in options.addons.split(',') if a.strip()]
    figures = {'database': database, 'size': options.size,
        'machine': {'nproc': os.cpu_count(),
            'ram_gb': round(os.sysconf('SC_PAGE_SIZE')
                * os.sysconf('SC_PHYS_PAGES') / 2 ** 30, 1),
            'python_optimize': bool(sys.flags.optimize),
            'load_average_at_start': [round(x, 2)
                for x in os.getloadavg()]},
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds')}
    output = Path(options.output
        or RESULTS / f'change_requests_{options.size}.json')
    output.parent.mkdir(parents=True, exist_ok=True)

    def save():
        output.write_text(json.dumps(figures, indent=2, default=str) + '\n')
    if options.reset or not database_exists(options.uri, database):
        log(f"creating {database} ({options.size} households) ...")
        figures['setup'] = create_database(options.uri, database,
            options.size, addons)
    else:
        figures['setup'] = 'reused'
    analyze(options.uri, database)

    from trytond.pool import Pool
    pool = Pool(database)
    with transaction(database, readonly=True) as current:
        pool.init()
        Party = pool.get('party.party')
        Module = pool.get('ir.module')
        figures['addons'] = sorted(m.name for m in Module.search(
                [('state', '=', 'activated'), ('name', 'like', 'spp_%')]))
        figures['households'] = Party.search_count(
            [('registrant_type', '=', 'group')])
        figures['individuals'] = Party.search_count(
            [('registrant_type', '=', 'individual')])
        cursor = current.connection.cursor()
        cursor.execute('SELECT COUNT(*) FROM spp_change_request')
        figures['requests_before'], = cursor.fetchone()
    _, (users, district) = timed(database, lambda: setup_users(options))
    figures['district'] = district
    run = dt.datetime.now().strftime('%H%M%S')

    # 1. create and submit through the ORM, batch by batch.
    with connect_trytond(database):
        individuals = pick_individuals(options.requests, options.seed,
            f'bulk-{run}')
    log(f"creating and submitting {len(individuals)} requests ...")
    creation, ids = create_and_submit(database, users, individuals,
        options.batch, f'bulk-{run}')
    figures['create_submit'] = {'requests': len(ids),
        'batch': options.batch, **creation}
    save()

    # 2. bulk approve + apply.
    log(f"decide(approve) of {len(ids)} requests in one transaction ...")
    seconds, outcome = decide(database, users['validator_country'], ids)
    verified = verify_applied(database, ids, f'bulk-{run}')
    figures['bulk_decide'] = {
        'requests': len(ids), 'seconds': round(seconds, 2),
        'requests_per_s': round(len(ids) / seconds, 1),
        'approved': len(outcome['approved']),
        'applied': len(outcome['applied']),
        'sent_back': len(outcome['sent_back']),
        'verified': verified,
        'all_applied': verified['applied_and_changed'] == len(ids),
        'target_s_for_10000': BULK_TARGET_S,
        'seconds_per_10000': round(
            seconds * BULK_TARGET_REQUESTS / len(ids), 2),
        'meets_target': seconds * BULK_TARGET_REQUESTS / len(ids)
        <= BULK_TARGET_S,
        }
    log(f"  {seconds:.1f} s, {figures['bulk_decide']['applied']} applied")
    save()

    # 3. per-record path: one transaction per request.
    if options.per_record:
        with connect_trytond(database):
            sample = pick_individuals(options.per_record, options.seed,
                f'one-{run}')
        _, sample_ids = create_and_submit(database, users, sample,
            options.batch, f'one-{run}')
        log(f"decide(approve) of {len(sample_ids)} requests one by one ...")
        started = time.perf_counter()
        applied = 0
        for request_id in sample_ids:
            _, result = decide(database, users['validator_country'],
                [request_id])
            applied += len(result['applied'])
        seconds = time.perf_counter() - started
        per_request = seconds / len(sample_ids)
        figures['per_record_decide'] = {
            'requests': len(sample_ids), 'seconds': round(seconds, 2),
            'applied': applied,
            'ms_per_request': round(per_request * 1000, 1),
            'requests_per_s': round(1 / per_request, 1),
            'extrapolated_s': round(per_request * len(ids), 1),
            'per_record_vs_bulk': round(per_request * len(ids)
                / figures['bulk_decide']['seconds'], 1),
            }
        save()

    # 4. where the time goes.
    if options.profile or not figures['bulk_decide']['meets_target']:
        with connect_trytond(database):
            sample = pick_individuals(options.profile_batch, options.seed,
                f'profile-{run}')
        _, profile_ids = create_and_submit(database, users, sample,
            options.batch, f'profile-{run}')
        log(f"profiling decide of {len(profile_ids)} requests ...")
        figures['profile'] = profile_decide(database,
            users['validator_country'], profile_ids,
            dump=options.profile_dump)
        save()

    # 5. the list with --open submitted requests.
    if options.open:
        log(f"opening {options.open} submitted requests in SQL ...")
        seconds, proposed_type = open_requests(options, database, users,
            options.open)
        figures['open'] = {'requests': options.open,
            'how': "SQL INSERT ... SELECT of the requests, one preview "
            "line and one 'submitted' decision each",
            'seconds': round(seconds, 2), 'proposed_column': proposed_type}
        save()
    with connect_trytond(database) as cursor:
        cursor.execute("SELECT COUNT(*) FROM spp_change_request "
            "WHERE state = 'submitted'")
        figures['submitted_in_database'], = cursor.fetchone()
    figures['list'] = {'limit': LIST_LIMIT, 'order': ORDER,
        'fields': list_fields(), 'repeat': options.repeat,
        'target_ms': LIST_TARGET_MS}
    for name in ['validator_district', 'validator_country']:
        log(f"waiting for me as {name} ...")
        result = time_list(database, users[name], options.repeat)
        result['meets_target'] = result['median_ms'] <= LIST_TARGET_MS
        figures['list'][name] = result
        save()
    for name in ['validator_district', 'validator_country']:
        figures['list'][name]['plan'] = explain_waiting(database,
            users[name])
    if options.profile or not all(figures['list'][n]['meets_target']
            for n in ['validator_district', 'validator_country']):
        figures['list']['profile_country'] = profile_list(database,
            users['validator_country'])
    figures['machine']['load_average_at_end'] = [round(x, 2)
        for x in os.getloadavg()]
    save()
    print(json.dumps(figures, indent=2, default=str))


if __name__ == '__main__':
    main()
