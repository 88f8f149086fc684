#!/usr/bin/env python3
"""Reporting benchmark (spp_reporting) on PostgreSQL: every dashboard
chart's query, the monthly indicator snapshot and the Program Report.

The population is the lifecycle of bench/run_all.py, not a generator of
its own: when the database (`bench_reporting_<households>`) does not
exist, `bench/run_all.py --uri … --database …` builds it with every
installed addon (spp_reporting, spp_payment and spp_grievance among
them): the registry (`spp-demo generate`), eligibility and enrolment
(`child_count >= 1`, about 80% of the households), a prepared cycle, its
entitlements, approval, payment batches with their export and the
reconciliation, and one grievance ticket per household
(bench/grievances.py, 10% open), which the bench links to the measured
program (they name none, and the Program Report's complaints follow the
program). The database is kept and reused; a
database built without spp_reporting gets it (`trytond-admin -u
spp_reporting --activate-dependencies`, as the other benches update
theirs).

It times, each in its own transaction:

1. every dashboard chart's query: `Model.search_read([],
   fields_names=<all the report's fields>)` of each report model (the
   search runs the report's aggregate, the read runs it again for the ids
   found, as a client's list or graph does), median of --repeat, as the
   administrator (a Reporting Manager: every area) and as a Reporting
   Officer limited to one district (group_reporting_officer, spp_areas
   set), access checks on; the trends after the snapshot. A query above
   its target gets its EXPLAIN ANALYZE in the JSON (`plans`);
2. the monthly snapshot, `spp.report.snapshot.take()` committed, twice:
   the second run replaces the month's rows (same row count);
3. the Program Report of the largest cycle:
   `program_report.figures(program, cycle)`, the XLSX
   (`spp.report.program_report.xlsx`) and the PDF
   (`spp.report.program_report`, WeasyPrint) rendered through
   `Report.execute`.

    .venv/bin/python bench/reporting.py --households 200000

prints JSON and writes bench/results/reporting_<households>.json (or
--output). Targets (issue, at 1,000,000 households): each chart <= 1 s,
the snapshot <= 60 s, the Program Report of a cycle of about 900,000
entitlements <= 30 s.
"""
import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from pgdb import connect, database_exists, executable

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / 'results'

CHART_TARGET_S = 1
SNAPSHOT_TARGET_S = 60
PROGRAM_REPORT_TARGET_S = 30
REPORTS = [
    'spp.report.registry.area', 'spp.report.registry.quality',
    'spp.report.registry.age',
    'spp.report.registry.month', 'spp.report.registry.duplicate',
    'spp.report.program.coverage', 'spp.report.program.exit',
    'spp.report.cycle.area', 'spp.report.cycle.plan', 'spp.report.fund',
    'spp.report.payment.status', 'spp.report.payment.cycle',
    'spp.report.grievance',
    ]
TRENDS = ['spp.report.trend.registry', 'spp.report.trend.program',
    'spp.report.trend.payment', 'spp.report.trend.grievance']
ADDONS = ['spp_reporting', 'spp_payment', 'spp_grievance']
LIFECYCLE = ('generate,eligibility_enrol,cycle_preparation,entitlements,'
    'approval,payment_batches_export,reconciliation,grievances')
OFFICER_LOGIN = 'bench_reporting_officer'


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--households', type=int, default=200_000)
    parser.add_argument('--database', default=None,
        help="default: bench_reporting_<households>")
    parser.add_argument('--settings', choices=['tuned', 'default'],
        default='tuned', help="tuned: the session settings of "
        "bench/postgresql.conf on every connection (PGOPTIONS), as "
        "bench/run_all.py --uri does")
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--snapshot-runs', type=int, default=2)
    parser.add_argument('--output', default=None)
    return parser.parse_args()


# -- database -----------------------------------------------------------------

def build(options, database):
    "The lifecycle of bench/run_all.py into `database` (kept afterwards)."
    log(f"building {database} with bench/run_all.py ...")
    started = time.perf_counter()
    output = Path(tempfile.gettempdir()) / f'{database}_lifecycle.json'
    subprocess.run([sys.executable, '-O', str(BENCH / 'run_all.py'),
            '--size', str(options.households), '--uri', options.uri,
            '--database', database, '--settings', options.settings,
            '--sample', '20', '--generate-sample', '0',
            '--stages', LIFECYCLE, '--output', str(output)],
        check=True, stdout=subprocess.DEVNULL)
    return {'seconds': round(time.perf_counter() - started, 1),
        'lifecycle': str(output)}


def ensure_addons(options, database):
    "Activate spp_reporting (and the others) if the database lacks them."
    with connect(options.uri, database) as connection:
        states = dict(connection.execute(
                'SELECT name, state FROM ir_module WHERE name = ANY(%s)',
                (ADDONS,)).fetchall())
    missing = [a for a in ADDONS if states.get(a) != 'activated']
    if missing:
        log(f"activating {missing} in {database} ...")
        env = dict(os.environ, TRYTOND_DATABASE__URI=options.uri)
        env.pop('TRYTOND_CONFIG', None)
        subprocess.run([executable('trytond-admin'), '-d', database,
                '-u', *missing, '--activate-dependencies'],
            env=env, check=True, stdout=subprocess.DEVNULL)
    return missing


def population(options, database):
    "Row counts of the tables the reports read."
    tables = ['party_party', 'spp_program_membership', 'spp_cycle_membership',
        'spp_entitlement', 'spp_payment', 'spp_grievance',
        'spp_registry_duplicate']
    counts = {}
    with connect(options.uri, database) as connection:
        for table in tables:
            if connection.execute('SELECT to_regclass(%s)',
                    (table,)).fetchone()[0]:
                counts[table] = connection.execute(
                    f'SELECT count(*) FROM {table}').fetchone()[0]
        counts['households'] = connection.execute(
            "SELECT count(*) FROM party_party "
            "WHERE registrant_type = 'group'").fetchone()[0]
        counts['individuals'] = connection.execute(
            "SELECT count(*) FROM party_party "
            "WHERE registrant_type = 'individual'").fetchone()[0]
    return counts


# -- in process ---------------------------------------------------------------

def transaction(database, user=0, readonly=False, check_access=False,
        **extras):
    from trytond.transaction import Transaction
    context = {'_check_access': True} if check_access else {}
    return Transaction().start(database, user, readonly=readonly,
        context=context, **extras)


def retried(database, function, user=0):
    """Run function in a committed transaction of `user`, started again
    with the lock it asks for (as the cron and the RPC dispatcher do:
    Snapshot.take locks its table); return the seconds of the run that
    committed."""
    from trytond.transaction import TransactionError
    extras = {}
    while True:
        try:
            with transaction(database, user, **extras) as t:
                started = time.perf_counter()
                function()
                t.commit()
                return time.perf_counter() - started
        except TransactionError as error:
            error.fix(extras)


def largest_cycle(database):
    "(program id, cycle id, entitlements) of the cycle with the most."
    with transaction(database, readonly=True) as t:
        cursor = t.connection.cursor()
        cursor.execute('SELECT c.program, e.cycle, count(*) '
            'FROM spp_entitlement AS e JOIN spp_cycle AS c ON c.id = e.cycle '
            'GROUP BY c.program, e.cycle ORDER BY 3 DESC LIMIT 1')
        return cursor.fetchone()


def officer(database):
    """A Reporting Officer of the district with the most households
    (created once, kept): (user id, district id, district name)."""
    from trytond.pool import Pool
    with transaction(database) as t:
        pool = Pool()
        User = pool.get('res.user')
        Area = pool.get('spp.area')
        ModelData = pool.get('ir.model.data')
        cursor = t.connection.cursor()
        # Households sit in localities; their district is the parent.
        cursor.execute("SELECT d.id FROM party_party AS p "
            "JOIN spp_area AS l ON l.id = p.area "
            "JOIN spp_area AS d ON d.id = l.parent "
            "JOIN spp_area_kind AS k ON k.id = d.kind "
            "WHERE p.registrant_type = 'group' AND k.code = 'district' "
            "GROUP BY d.id ORDER BY count(*) DESC LIMIT 1")
        district, = cursor.fetchone()
        group = ModelData.get_id('spp_reporting', 'group_reporting_officer')
        users = User.search([('login', '=', OFFICER_LOGIN)])
        if users:
            user, = users
            User.write([user], {'spp_areas': [('add', [district])]})
        else:
            user, = User.create([{'name': "Bench Reporting Officer",
                        'login': OFFICER_LOGIN,
                        'groups': [('add', [group])],
                        'spp_areas': [('add', [district])]}])
        t.commit()
        return user.id, district, Area(district).rec_name


def link_grievances(options, database, program_id):
    """The tickets of bench/grievances.py name no program: link those
    without one to the measured program (once), so that the Program
    Report's complaints section, which follows the program, has rows."""
    with connect(options.uri, database) as connection:
        has_program = connection.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = "
            "'spp_grievance' AND column_name = 'program'").fetchone()
        if not has_program:
            return None
        return connection.execute('UPDATE spp_grievance SET program = %s '
            'WHERE program IS NULL', (program_id,)).rowcount


def report_fields(Model):
    return sorted(Model._fields)


def time_chart(database, model, user, repeat):
    "search_read of every field, median seconds of `repeat` runs."
    from trytond.pool import Pool
    runs, rows = [], None
    for _ in range(repeat):
        with transaction(database, user, readonly=True,
                check_access=bool(user)):
            Model = Pool().get(model)
            names = report_fields(Model)
            started = time.perf_counter()
            result = Model.search_read([], fields_names=names)
            runs.append(time.perf_counter() - started)
            rows = len(result)
    return {'rows': rows, 'seconds': round(statistics.median(runs), 3),
        'runs': [round(r, 3) for r in runs]}


def explain(database, model, user):
    "EXPLAIN ANALYZE of the report's query (its table query) for `user`."
    from trytond.pool import Pool
    with transaction(database, user, readonly=True,
            check_access=bool(user)) as t:
        Model = Pool().get(model)
        query = Model.table_query()
        cursor = t.connection.cursor()
        sql, params = tuple(query)
        cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
        return [line for line, in cursor]


def charts(database, models, users, repeat):
    from trytond.pool import Pool
    results, plans = {}, {}
    for model in models:
        try:
            Pool(database).get(model)
        except KeyError:
            results[model] = {'status': 'not built',
                'reason': "its addon is not activated"}
            continue
        results[model] = {}
        for who, user in users.items():
            log(f"  {model} as {who} ...")
            figures = time_chart(database, model, user, repeat)
            figures['met'] = figures['seconds'] <= CHART_TARGET_S
            results[model][who] = figures
            if not figures['met']:
                plans[f'{model} ({who})'] = explain(database, model, user)
    return results, plans


def snapshot(database, runs):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    figures = []
    for _ in range(runs):
        seconds = retried(database,
            lambda: Pool().get('spp.report.snapshot').take(), user=1)
        with transaction(database, readonly=True) as t:
            cursor = Transaction().connection.cursor()
            cursor.execute('SELECT count(*), count(DISTINCT indicator) '
                'FROM spp_report_snapshot WHERE month = %s',
                (dt.date.today().replace(day=1),))
            rows, indicators = cursor.fetchone()
            cursor.execute('SELECT count(*) FROM spp_report_snapshot')
            total, = cursor.fetchone()
        figures.append({'seconds': round(seconds, 2), 'month_rows': rows,
                'indicators': indicators, 'table_rows': total})
    return {'runs': figures,
        'met': all(r['seconds'] <= SNAPSHOT_TARGET_S for r in figures),
        'second_run_replaces': len(figures) < 2 or (
            figures[0]['month_rows'] == figures[-1]['month_rows']
            == figures[-1]['table_rows'])}


def program_report(database, program_id, cycle_id, repeat):
    from trytond.modules.spp_reporting.program_report import figures
    from trytond.pool import Pool
    data = {'program': program_id, 'cycle': cycle_id}

    def report(name):
        def run():
            Report = Pool().get(name, type='report')
            kind, content, _, _ = Report.execute([], data)
            return {'format': kind, 'bytes': len(content)}
        return run

    parts = {
        'figures': lambda: {'sections': [
                {'title': s['title'], 'rows': len(s['rows'])}
                for s in figures(program_id, cycle_id)]},
        'xlsx': report('spp.report.program_report.xlsx'),
        'pdf': report('spp.report.program_report'),
        }
    results = {}
    for name, function in parts.items():
        runs = []
        for _ in range(repeat):
            with transaction(database, user=1, readonly=True,
                    check_access=True):
                started = time.perf_counter()
                detail = function()
                runs.append(time.perf_counter() - started)
        results[name] = {'seconds': round(statistics.median(runs), 2),
            'runs': [round(r, 2) for r in runs], **detail}
        results[name]['met'] = (
            results[name]['seconds'] <= PROGRAM_REPORT_TARGET_S)
    return results


def code_version():
    "The commit measured, and whether spp_reporting differs from it."
    def git(*arguments):
        return subprocess.run(['git', *arguments], cwd=BENCH.parent,
            capture_output=True, text=True).stdout.strip()
    return {'commit': git('rev-parse', 'HEAD'),
        'spp_reporting_modified': bool(git('status', '--porcelain',
                '--', 'addons/spp_reporting'))}


def main():
    options = parse_arguments()
    database = options.database or f'bench_reporting_{options.households}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    sys.path.insert(0, str(BENCH))
    import run_all
    session, not_applied = run_all.session_settings(SimpleNamespace(
            uri=options.uri, settings=options.settings))
    figures = {'database': database, 'households': options.households,
        'code': code_version(),
        'settings': {'profile': options.settings, 'session': session,
            'not_applied': not_applied},
        'load_average_at_start': os.getloadavg(),
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds')}
    if not database_exists(options.uri, database):
        figures['build'] = build(options, database)
    figures['activated'] = ensure_addons(options, database)
    figures['population'] = population(options, database)

    from trytond.pool import Pool
    Pool.start()
    with transaction(database, readonly=True):
        Pool(database).init()
    program_id, cycle_id, entitlements = largest_cycle(database)
    officer_id, district, district_name = officer(database)
    figures['grievances_linked'] = link_grievances(options, database,
        program_id)
    with connect(options.uri, database, autocommit=True) as connection:
        connection.execute('ANALYZE')
    figures['program'] = {'program': program_id, 'cycle': cycle_id,
        'entitlements': entitlements}
    figures['officer'] = {'user': officer_id, 'district': district,
        'district_name': district_name}
    users = {'manager': 1, 'officer': officer_id}

    log("dashboard charts ...")
    figures['charts'], plans = charts(database, REPORTS, users,
        options.repeat)
    log("snapshot ...")
    figures['snapshot'] = snapshot(database, options.snapshot_runs)
    log("trends ...")
    trends, trend_plans = charts(database, TRENDS, users, options.repeat)
    figures['charts'].update(trends)
    plans.update(trend_plans)
    log("program report ...")
    figures['program_report'] = program_report(database, program_id,
        cycle_id, options.repeat)
    measured = [f for r in figures['charts'].values() for f in r.values()
        if isinstance(f, dict) and 'seconds' in f]
    figures['summary'] = {
        'charts_met': sum(f['met'] for f in measured),
        'charts_measured': len(measured),
        'slowest_chart_s': max(f['seconds'] for f in measured),
        'snapshot_s': [r['seconds'] for r in figures['snapshot']['runs']],
        'program_report_s': {k: v['seconds']
            for k, v in figures['program_report'].items()},
        'targets': {'chart_s': CHART_TARGET_S,
            'snapshot_s': SNAPSHOT_TARGET_S,
            'program_report_s': PROGRAM_REPORT_TARGET_S},
        }
    figures['plans'] = plans
    figures['load_average_at_end'] = os.getloadavg()
    output = Path(options.output or
        RESULTS / f'reporting_{options.households}.json')
    text = json.dumps(figures, indent=2, default=str)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + '\n')
    print(text)


if __name__ == '__main__':
    main()
