#!/usr/bin/env python3
"""Grievances benchmark (spp_grievance): the SLA and escalation cron pass,
intake through REST at 20 concurrent clients, and the three reports under
the grievance record rules, on PostgreSQL.

In a database of spp_grievance and spp_api (`bench_grievances_<size>`,
reused when it exists unless --reset) it makes, through the ORM, an area
tree (a country, 10 regions, 100 districts, 500 localities), six
categories with subcategories and their deadlines (hours or working days;
staff misconduct sensitive), a team per district escalating to its
region's team and then the national team (the managers: a user per
region), an integrity team for the sensitive cases, 200 registrants
(complainants), the users (a Grievance Manager, a Grievance Officer of
one district, the API's acting user); then, set-based (INSERT ... SELECT
generate_series), --size tickets, --open-share of them open, with their
timeline events: received, acknowledged, investigation, resolved, closed,
and the escalations of the breached ones.

Closed tickets were received over three years; open ones mostly in the
last days (45 days * u^3), some acknowledged late, some past their
deadline to resolve. Their SLA statuses and escalations are as a pass
`--lag-hours` ago left them (the cron runs every 15 minutes; 24 h is the
catch-up after a day without it), so the pass measured turns some
tickets at risk and some breached, and escalates the newly breached ones
(a few thousand at 100,000 open tickets). The open tickets are kept in a
table of the bench (`bench_grievance_open`) as built; before each
repetition they are put back, their dates moved so that the last pass was
`--lag-hours` ago (or 15 minutes for the routine pass), and the events
of earlier passes removed: every repetition measures the same state.

It times:

1. the cron pass, `Grievance.run_sla()` (sla.run: one UPDATE of the
   statuses, one INSERT of the escalation events, one UPDATE of the
   escalated tickets) in one committed transaction as the cron runs it:
   the catch-up pass and the routine one, median of --repeat; and, for
   comparison, the pass as a loop of ORM calls would make it, on
   --orm-sample open tickets (rolled back), extrapolated;
2. the reports (by category, area, team) as the list of sao loads them:
   search of the first 1000 rows in the model's order, then read of the
   list's fields with the many2one's rec_name, under the record rules
   (access checked, as through JSON-RPC), in process and over JSON-RPC on
   the live server (gunicorn), for a Grievance Manager (every area, not
   the sensitive tickets) and a Grievance Officer of one district; all
   tickets, and the tickets received in the last 30 days;
3. intake: POST /api/v1/grievances (scope grievance:create) by --clients
   threads (a requests session each) for --duration seconds on gunicorn
   with each of --workers (2 and 4 workers); tickets/s of 201 answers,
   server and PostgreSQL CPU per ticket. Below the target, 100 filings
   are profiled in process (werkzeug's test client): where the time goes.
   The tickets made are deleted afterwards (their events with them), so
   the database stays as built.

--update updates the addons of a reused database (after a change of
their models or XML). bench/run_all.py runs the same measurements as its
`grievances` stage (bench/stage_grievances.py), one ticket per household.

    .venv/bin/python bench/grievances.py          # SIZE, or small: 10,000
    .venv/bin/python bench/grievances.py --size 1000000  # 100,000 open

prints JSON and writes bench/results/grievances_<size>.json. Targets
(issue): cron pass <= 10 s, intake >= 200 tickets/s, every report
<= 1 s, at 1,000,000 tickets of which 100,000 open.
"""
import argparse
import base64
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pgdb import connect, database_exists, executable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / 'results'
SETTINGS_FILE = BENCH / 'postgresql.conf'
SIZES = {'small': 10_000, 'medium': 100_000, 'large': 1_000_000}
ADDONS = ['spp_grievance', 'spp_api']

SLA_TARGET_S = 10
INTAKE_TARGET_PER_S = 200
REPORT_TARGET_S = 1
LIST_LIMIT = 1000
REPORTS = {
    'category': 'spp.grievance.report.category',
    'area': 'spp.grievance.report.area',
    'team': 'spp.grievance.report.team',
    }
REPORT_FIELDS = ['total', 'open_count', 'breached', 'resolved',
    'resolved_in_time', 'share_in_time', 'avg_ack_hours',
    'avg_resolution_hours']
PASSWORD = 'Bench-grievance-2026!'
ROUTINE_MINUTES = 15  # the cron's interval (data.xml)

# code: (name, severity, (ack amount, unit), (resolution amount, unit),
#        sensitive, share of the tickets, subcategories)
CATEGORIES = {
    'payment': ("Payment", 'medium', (2, 'working_days'),
        (10, 'working_days'), False, 0.35,
        {'missed': ("Missed Payment", 'high'),
            'amount': ("Wrong Amount", 'medium')}),
    'exclusion': ("Exclusion from a Programme", 'high', (48, 'hours'),
        (15, 'working_days'), False, 0.20,
        {'targeting': ("Targeting", None),
            'enrolment': ("Enrolment", None)}),
    'service': ("Service Quality", 'low', (3, 'working_days'),
        (20, 'working_days'), False, 0.15,
        {'staff_attitude': ("Staff Attitude", None),
            'waiting_time': ("Waiting Time", None)}),
    'information': ("Information Request", 'low', (1, 'working_days'),
        (5, 'working_days'), False, 0.15, {}),
    'data_correction': ("Registry Data Correction", 'medium',
        (2, 'working_days'), (15, 'working_days'), False, 0.12, {}),
    'misconduct': ("Staff Misconduct", 'critical', (24, 'hours'),
        (30, 'working_days'), True, 0.03, {}),
    }
REGIONS, DISTRICTS, LOCALITIES = 10, 10, 5  # per country, region, district
REGISTRANTS = 200


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default=None,
        help="default: bench_grievances_<size>")
    parser.add_argument('--size', default=os.environ.get('SIZE', 'small'),
        help="tickets: a number or small (10,000), medium (100,000), "
        "large (1,000,000)")
    parser.add_argument('--open-share', type=float, default=0.10,
        help="share of the tickets that are open")
    parser.add_argument('--reset', action='store_true',
        help="rebuild the database even when it exists")
    parser.add_argument('--update', action='store_true',
        help="update the addons of a reused database first (trytond-admin "
        "-u), after a change of their models or XML")
    parser.add_argument('--settings', choices=['tuned', 'default'],
        default='tuned', help="tuned: the settings of bench/postgresql.conf "
        "that a session may set, on every connection (PGOPTIONS); "
        "default: the server's own")
    parser.add_argument('--parts', default='sla,reports,intake',
        help="comma-separated parts to run: sla, reports, rpc, intake "
        "(rpc: the reports over JSON-RPC; on by default with reports)")
    parser.add_argument('--repeat', type=int, default=3,
        help="repetitions of each timing")
    parser.add_argument('--lag-hours', type=float, default=24,
        help="how long before the measured pass the last one ran")
    parser.add_argument('--clients', type=int, default=20)
    parser.add_argument('--workers', default='2,4',
        help="gunicorn workers, comma-separated: intake runs with each, "
        "JSON-RPC with the first")
    parser.add_argument('--duration', type=float, default=20,
        help="seconds of intake")
    parser.add_argument('--wait-endpoint', type=float, default=0,
        help="minutes to wait for the REST endpoint to appear")
    parser.add_argument('--orm-sample', type=int, default=300,
        help="open tickets of the per-record ORM pass (0: none)")
    parser.add_argument('--seed', type=float, default=0.42)
    parser.add_argument('--output', default=None)
    options = parser.parse_args(argv)
    size = str(options.size).lower().replace('_', '').replace(',', '')
    options.size = SIZES.get(size) or int(size)
    options.parts = set(options.parts.split(','))
    options.workers = [int(w) for w in str(options.workers).split(',')]
    if 'reports' in options.parts:
        options.parts.add('rpc')
    if 'norpc' in options.parts:
        options.parts.discard('rpc')
    return options


# -- PostgreSQL ---------------------------------------------------------------

def session_settings(uri, mode):
    """The tuned settings a session may set (bench/postgresql.conf) on
    every connection of the run, through PGOPTIONS (trytond, psycopg,
    gunicorn); the server's configuration is left alone."""
    if mode != 'tuned':
        os.environ.pop('PGOPTIONS', None)
        return {}
    wanted = {}
    for line in SETTINGS_FILE.read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if '=' in line:
            name, value = (p.strip() for p in line.split('=', 1))
            wanted[name] = value.strip("'")
    with connect(uri, 'postgres') as connection:
        contexts = dict(connection.execute('SELECT name, context '
                'FROM pg_settings WHERE name = ANY(%s)',
                (list(wanted),)).fetchall())
    session = {n: v for n, v in wanted.items()
        if contexts.get(n) in {'user', 'superuser'}}
    os.environ['PGOPTIONS'] = ' '.join(
        f'-c {n}={v}' for n, v in session.items())
    return session


def server_figures(uri):
    names = ['shared_buffers', 'work_mem', 'effective_cache_size',
        'max_parallel_workers_per_gather', 'random_page_cost',
        'synchronous_commit']
    with connect(uri, 'postgres') as connection:
        settings = dict(connection.execute('SELECT name, '
                'current_setting(name) FROM pg_settings '
                'WHERE name = ANY(%s)', (names,)).fetchall())
        version = connection.execute('SHOW server_version').fetchone()[0]
    return {'server_version': version, 'effective': settings}


def create_database(uri, name, update=False):
    """A new database with spp_grievance and spp_api (or, with update,
    these addons of an existing one updated); return the seconds."""
    if not update:
        with connect(uri, 'postgres', autocommit=True) as connection:
            connection.execute(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}" '
                "TEMPLATE template0 ENCODING 'unicode'")
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        env = dict(os.environ, TRYTOND_DATABASE__URI=uri,
            TRYTONPASSFILE=passfile.name)
        env.pop('TRYTOND_CONFIG', None)
        started = time.perf_counter()
        subprocess.run([executable('trytond-admin'), '-d', name,
                '-u', *ADDONS, '--activate-dependencies',
                '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def meta(uri, database):
    "What the bench recorded of the population it built, or None."
    with connect(uri, database) as connection:
        found = connection.execute("SELECT to_regclass("
            "'bench_grievance_meta')").fetchone()[0]
        if not found:
            return None
        return json.loads(connection.execute(
                'SELECT value FROM bench_grievance_meta').fetchone()[0])


# -- helpers ------------------------------------------------------------------

def transaction(database, user=0, readonly=False, context=None):
    from trytond.transaction import Transaction
    context = dict(context or {})
    if user:
        context['_check_access'] = True
    return Transaction().start(database, user, readonly=readonly,
        context=context)


def ref(module, xml_id):
    from trytond.pool import Pool
    return Pool().get('ir.model.data').get_id(module, xml_id)


def now():
    return dt.datetime.now().replace(microsecond=0)


def summary(values):
    return {'median': round(statistics.median(values), 3),
        'min': round(min(values), 3), 'max': round(max(values), 3),
        'runs': [round(v, 3) for v in values]}


# -- the set-up through the ORM -----------------------------------------------

def get_or_create(Model, code, values, field='code'):
    found = Model.search([(field, '=', code)], limit=1)
    if found:
        return found[0]
    record, = Model.create([{field: code, **values}])
    return record


def setup_orm():
    """Areas, categories, users, teams and registrants through the ORM
    (as root); return the ids the population and the timings need."""
    from trytond.pool import Pool
    pool = Pool()
    Area = pool.get('spp.area')
    Category = pool.get('spp.grievance.category')
    Team = pool.get('spp.grievance.team')
    User = pool.get('res.user')
    Party = pool.get('party.party')
    Channel = pool.get('spp.grievance.channel')

    country = get_or_create(Area, 'GRB', {'name': "Grievland"})
    regions = Area.search([('parent', '=', country.id)], order=[('code',
                'ASC')])
    if not regions:
        regions = Area.create([{'name': f"Region {r:02d}",
                    'code': f'GRB-{r:02d}', 'parent': country.id}
                for r in range(1, REGIONS + 1)])
    districts = Area.search([('parent', 'in', [r.id for r in regions])],
        order=[('code', 'ASC')])
    if not districts:
        districts = Area.create([{'name': f"District {r.code[4:]}-{d:02d}",
                    'code': f'{r.code}-{d:02d}', 'parent': r.id}
                for r in regions for d in range(1, DISTRICTS + 1)])
    localities = Area.search([('parent', 'in', [d.id for d in districts])],
        order=[('code', 'ASC')])
    if not localities:
        localities = Area.create([{'name': f"Locality {d.code[4:]}-{l}",
                    'code': f'{d.code}-{l}', 'parent': d.id}
                for d in districts for l in range(1, LOCALITIES + 1)])

    def user(login, groups, areas=()):
        found = User.search([('login', '=', login)])
        if found:
            return found[0]
        record, = User.create([{'name': login, 'login': login,
                    'password': PASSWORD,
                    'groups': [('add', groups)],
                    'spp_areas': [('add', [a.id for a in areas])]}])
        return record
    manager_group = ref('spp_grievance', 'group_manager')
    officer_group = ref('spp_grievance', 'group_officer')
    officer_district = districts[0]
    users = {
        'manager': user('bench_gr_manager', [manager_group]),
        'officer': user('bench_gr_officer', [officer_group],
            [officer_district]),
        'sensitive': user('bench_gr_sensitive',
            [ref('spp_grievance', 'group_sensitive')]),
        'api': user('bench_gr_api', [officer_group,
                ref('spp_registry', 'group_registry_viewer')], [country]),
        }
    region_managers = [user(f'bench_gr_region_{r.code[4:]}',
            [manager_group]) for r in regions]

    national = get_or_create(Team, 'GRB-NAT', {'name': "National",
            'level': '3', 'manager': users['manager'].id})
    integrity = get_or_create(Team, 'GRB-INT', {'name': "Integrity",
            'level': '3', 'manager': users['sensitive'].id,
            'members': [('add', [users['sensitive'].id])]})
    region_teams = {}
    for region, manager in zip(regions, region_managers):
        region_teams[region.id] = get_or_create(Team, region.code, {
                'name': region.name, 'level': '2', 'manager': manager.id,
                'areas': [('add', [region.id])],
                'escalation_team': national.id})
    district_teams = {}
    for district in districts:
        region_team = region_teams[district.parent.id]
        members = ([users['officer'].id]
            if district == officer_district else [])
        district_teams[district.id] = get_or_create(Team, district.code, {
                'name': district.name, 'level': '1',
                'manager': region_team.manager.id,
                'members': [('add', members)],
                'areas': [('add', [district.id])],
                'escalation_team': region_team.id})

    categories = []
    for code, (name, severity, ack, resolution, sensitive, share,
            children) in CATEGORIES.items():
        category = get_or_create(Category, code, {'name': name,
                'severity': severity, 'ack_amount': ack[0],
                'ack_unit': ack[1], 'resolution_amount': resolution[0],
                'resolution_unit': resolution[1], 'sensitive': sensitive,
                'team': (integrity if sensitive else national).id})
        subs = [get_or_create(Category, sub_code, {'name': sub_name,
                    'severity': sub_severity, 'parent': category.id})
            for sub_code, (sub_name, sub_severity) in children.items()]
        categories.append((category, subs, share))
    if not Team.search([('code', '=', 'GRB-INT'),
                ('categories', '!=', None)]):
        misconduct = [c for c, _, _ in categories
            if c.code == 'misconduct']
        Team.write([integrity], {'categories': [('add',
                        [c.id for c in misconduct])]})

    parties = Party.search([('code', 'like', 'GRB-P%')])
    if not parties:
        parties = Party.create([{'registrant_type': 'individual',
                    'code': f'GRB-P{n:04d}', 'given_name': f"Person {n}",
                    'family_name': "Bench",
                    'area': localities[n % len(localities)].id}
                for n in range(REGISTRANTS)])

    def hours(amount, unit):
        # Working days as calendar time (five of seven days): the bench
        # only needs plausible deadlines, not the calendar's.
        if not amount:  # no deadline
            return None
        return amount * (24 * 7 / 5 if unit == 'working_days' else 1)
    category_rows, low = [], 0.0
    for category, subs, share in categories:
        ack_h = hours(category.ack_amount, category.ack_unit)
        resolution_h = hours(category.resolution_amount,
            category.resolution_unit)
        # A subcategory for 60% of the tickets of a category having them.
        parts = ([(None, share * 0.4)] + [(s, share * 0.6 / len(subs))
                for s in subs]) if subs else [(None, share)]
        for sub, part in parts:
            category_rows.append({'category': category.id,
                    'subcategory': sub.id if sub else None,
                    'severity': (sub.severity if sub and sub.severity
                        else category.severity),
                    'sensitive': bool(category.sensitive),
                    'ack_h': ack_h, 'resolution_h': resolution_h,
                    'lo': low, 'hi': low + part})
            low += part
    category_rows[-1]['hi'] = 1.0 + 1e-9
    return {
        'country': country.id,
        'officer_district': {'id': officer_district.id,
            'code': officer_district.code},
        'localities': [{'id': l.id, 'code': l.code,
                'team': district_teams[l.parent.id].id,
                'manager': district_teams[l.parent.id].manager.id}
            for l in localities],
        'integrity': {'id': integrity.id,
            'manager': integrity.manager.id},
        'categories': category_rows,
        'category_codes': [c.code for c, _, _ in categories],
        'channels': [c.id for c in Channel.search([])],
        'parties': [{'id': p.id, 'code': p.code} for p in parties],
        'users': {k: v.id for k, v in users.items()},
        'logins': {k: v.login for k, v in users.items()},
        }


# -- the tickets in SQL -------------------------------------------------------

# Random draws of each ticket, then its dates and state as of %(t0)s
# (the last pass); the open tickets first (seq 1..open).
TICKETS_SQL = '''
SELECT setseed(%(seed)s);
CREATE TEMPORARY TABLE bench_loc (idx integer, area integer, team integer,
    manager integer);
CREATE TEMPORARY TABLE bench_cat (category integer, subcategory integer,
    severity varchar, sensitive boolean, ack_h float, resolution_h float,
    lo float, hi float);
CREATE TEMPORARY TABLE bench_draw AS
SELECT g AS n, g <= %(open)s AS is_open,
    random() AS r_cat, random() AS r_loc, random() AS r_age,
    random() AS r_ack, random() AS r_res, random() AS r_state,
    random() AS r_kind, random() AS r_conf, random() AS r_party,
    random() AS r_channel, random() AS r_priority
FROM generate_series(1, %(size)s) AS g;
CREATE TEMPORARY TABLE bench_ticket AS
SELECT d.*, c.category, c.subcategory, c.severity, c.sensitive,
    c.ack_h, c.resolution_h,
    CASE WHEN c.sensitive THEN %(integrity)s ELSE l.team END AS team,
    CASE WHEN c.sensitive THEN %(integrity_manager)s ELSE l.manager END
        AS manager,
    l.area,
    %(t0)s::timestamp - CASE WHEN d.is_open
        THEN make_interval(secs => 45 * 86400 * d.r_age ^ 3)
        ELSE make_interval(secs => (2 + 1100 * d.r_age) * 86400) END
        AS received_on
FROM bench_draw d
JOIN bench_cat c ON d.r_cat >= c.lo AND d.r_cat < c.hi
JOIN bench_loc l ON l.idx = floor(d.r_loc * %(localities)s)::integer;
DROP TABLE bench_draw;
CREATE TEMPORARY TABLE bench_dated AS
SELECT t.*,
    t.received_on + make_interval(secs => t.ack_h * 3600) AS ack_due,
    t.received_on + make_interval(secs => 0.75 * t.ack_h * 3600)
        AS ack_risk_on,
    t.received_on + make_interval(secs => t.resolution_h * 3600)
        AS resolution_due,
    t.received_on + make_interval(secs => 0.75 * t.resolution_h * 3600)
        AS resolution_risk_on,
    -- 12%% acknowledged late
    t.received_on + make_interval(secs => t.ack_h * 3600 * 1.3
        * t.r_ack ^ 2) AS ack_time,
    -- closed: 18%% resolved late
    t.received_on + make_interval(secs => t.resolution_h * 3600
        * (0.1 + 1.1 * t.r_res)) AS resolution_time
FROM bench_ticket t;
DROP TABLE bench_ticket;
CREATE TEMPORARY TABLE bench_state AS
SELECT t.*,
    CASE
        WHEN t.is_open AND t.ack_time > %(t0)s THEN 'new'
        WHEN t.is_open AND t.r_state < 0.03 THEN 'reopened'
        WHEN t.is_open AND t.r_state < 0.60 THEN 'investigating'
        WHEN t.is_open THEN 'acknowledged'
        WHEN t.r_state < 0.10 THEN 'resolved'
        ELSE 'closed' END AS state,
    CASE WHEN t.is_open AND t.ack_time > %(t0)s THEN NULL
        ELSE least(t.ack_time, %(t0)s::timestamp - interval '1 hour')
        END AS acknowledged_on,
    CASE WHEN t.is_open THEN NULL
        ELSE greatest(least(t.resolution_time,
                %(t0)s::timestamp - interval '1 hour'),
            least(t.ack_time, %(t0)s::timestamp - interval '1 hour'))
        END AS resolved_on
FROM bench_dated t;
DROP TABLE bench_dated;
CREATE TEMPORARY TABLE bench_sla AS
SELECT t.*,
    CASE
        WHEN (t.acknowledged_on IS NULL AND t.ack_due < %(t0)s)
            OR t.acknowledged_on > t.ack_due
            OR (t.resolved_on IS NULL AND t.resolution_due < %(t0)s)
            OR t.resolved_on > t.resolution_due THEN 'breached'
        WHEN (t.acknowledged_on IS NULL AND t.ack_risk_on <= %(t0)s)
            OR (t.resolved_on IS NULL AND t.resolution_risk_on <= %(t0)s)
            THEN 'at_risk'
        ELSE 'on_time' END AS sla_status,
    CASE WHEN (t.acknowledged_on IS NULL AND t.ack_due < %(t0)s)
            OR t.acknowledged_on > t.ack_due THEN t.ack_due
        ELSE t.resolution_due END AS breached_on,
    row_number() OVER (ORDER BY t.received_on, t.n) AS seq
FROM bench_state t;
DROP TABLE bench_state;
INSERT INTO spp_grievance (id, reference, channel, received_on,
    complainant_kind, complainant, complainant_name, complainant_contact,
    confidential, registrant, area, category, subcategory, description,
    priority, severity, sensitive, team, assigned_to, state,
    acknowledged_on, acknowledged_by, decision, resolution, resolved_on,
    resolved_by, closed_on, ack_due, ack_risk_on, resolution_due,
    resolution_risk_on, sla_status, escalated_on, create_uid, create_date)
SELECT %(offset)s + t.seq, 'GRV-B' || lpad(t.seq::text, 8, '0'),
    (%(channels)s::integer[])[1 + floor(t.r_channel
        * cardinality(%(channels)s::integer[]))::integer],
    t.received_on,
    CASE WHEN t.r_kind < 0.3 THEN 'registrant'
        WHEN t.r_kind < 0.8 THEN 'other' ELSE 'anonymous' END,
    CASE WHEN t.r_kind < 0.3 THEN (%(parties)s::integer[])[1 + floor(
            t.r_party * cardinality(%(parties)s::integer[]))::integer]
        END,
    CASE WHEN t.r_kind >= 0.3 AND t.r_kind < 0.8
        THEN 'Complainant ' || t.n END,
    CASE WHEN t.r_kind < 0.8 THEN '+000 ' || lpad(t.n::text, 8, '0') END,
    t.r_conf < 0.02,
    CASE WHEN t.r_kind < 0.3 THEN (%(parties)s::integer[])[1 + floor(
            t.r_party * cardinality(%(parties)s::integer[]))::integer]
        END,
    t.area, t.category, t.subcategory,
    'Bench grievance ' || t.n || ': the payment did not come.',
    CASE WHEN t.r_priority < 0.07 THEN 'low'
        WHEN t.r_priority < 0.87 THEN 'normal'
        WHEN t.r_priority < 0.97 THEN 'high' ELSE 'urgent' END,
    t.severity, t.sensitive, t.team,
    CASE WHEN t.is_open AND t.sla_status = 'breached' THEN t.manager
        WHEN t.acknowledged_on IS NOT NULL THEN %(officer)s END,
    t.state,
    t.acknowledged_on,
    CASE WHEN t.acknowledged_on IS NOT NULL THEN %(officer)s END,
    CASE WHEN t.resolved_on IS NOT NULL THEN (ARRAY['upheld',
            'partly_upheld', 'not_upheld', 'withdrawn', 'referred'])[
            1 + floor(t.r_priority * 5)::integer] END,
    CASE WHEN t.resolved_on IS NOT NULL THEN 'Answered.' END,
    t.resolved_on,
    CASE WHEN t.resolved_on IS NOT NULL THEN %(officer)s END,
    CASE WHEN t.state = 'closed' THEN least(
            t.resolved_on + interval '3 days', %(t0)s::timestamp) END,
    t.ack_due, t.ack_risk_on, t.resolution_due, t.resolution_risk_on,
    t.sla_status,
    CASE WHEN t.is_open AND t.sla_status = 'breached' THEN least(
            t.breached_on + interval '15 minutes', %(t0)s::timestamp) END,
    0, %(t0)s
FROM bench_sla t
ORDER BY t.seq;
DROP TABLE bench_sla;
SELECT setval(pg_get_serial_sequence('spp_grievance', 'id'),
    (SELECT max(id) FROM spp_grievance));
'''

EVENTS_SQL = '''
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, create_uid, create_date)
SELECT id, received_on, NULL, 'received', team, NULL, 0, %(t0)s
FROM spp_grievance WHERE id > %(offset)s ORDER BY id;
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, create_uid, create_date)
SELECT id, acknowledged_on, acknowledged_by, 'acknowledged', team,
    acknowledged_by, acknowledged_by, %(t0)s
FROM spp_grievance WHERE id > %(offset)s AND acknowledged_on IS NOT NULL
ORDER BY id;
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, create_uid, create_date)
SELECT id, acknowledged_on + interval '1 hour', acknowledged_by,
    'investigating', team, acknowledged_by, acknowledged_by, %(t0)s
FROM spp_grievance WHERE id > %(offset)s AND acknowledged_on IS NOT NULL
    AND state <> 'acknowledged'
ORDER BY id;
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, create_uid, create_date)
SELECT id, escalated_on, NULL, 'breached', team, assigned_to, 0, %(t0)s
FROM spp_grievance WHERE id > %(offset)s AND escalated_on IS NOT NULL
ORDER BY id;
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, comment, create_uid, create_date)
SELECT id, resolved_on, resolved_by, 'resolved', team, assigned_to,
    decision, resolved_by, %(t0)s
FROM spp_grievance WHERE id > %(offset)s AND resolved_on IS NOT NULL
ORDER BY id;
INSERT INTO spp_grievance_event (grievance, date, "user", action, to_team,
    to_user, create_uid, create_date)
SELECT id, closed_on, resolved_by, 'closed', team, assigned_to,
    resolved_by, %(t0)s
FROM spp_grievance WHERE id > %(offset)s AND closed_on IS NOT NULL
ORDER BY id;
'''

# The open tickets as built: what a pass changes, and the dates that move
# with the clock.
SNAPSHOT_SQL = '''
DROP TABLE IF EXISTS bench_grievance_open;
CREATE TABLE bench_grievance_open AS
SELECT id, received_on, acknowledged_on, ack_due, ack_risk_on,
    resolution_due, resolution_risk_on, sla_status, escalated_on,
    assigned_to, write_date, write_uid
FROM spp_grievance
WHERE id > %(offset)s
    AND state IN ('new', 'acknowledged', 'investigating', 'reopened');
ALTER TABLE bench_grievance_open ADD PRIMARY KEY (id);
DROP TABLE IF EXISTS bench_grievance_meta;
CREATE TABLE bench_grievance_meta (value text);
'''


def run_script(connection, script, parameters):
    for statement in filter(str.strip, script.split(';\n')):
        connection.execute(statement, {k: v for k, v in parameters.items()
                if f'%({k})s' in statement})


def populate(options, database, setup):
    """The tickets and their events in SQL, the snapshot of the open ones
    and the bench's record of what it built; return the seconds."""
    t0 = now()
    seconds = {}
    with connect(options.uri, database) as connection:
        offset = connection.execute(
            'SELECT COALESCE(max(id), 0) FROM spp_grievance').fetchone()[0]
        parameters = {'seed': options.seed, 'size': options.size,
            'open': round(options.size * options.open_share),
            't0': t0, 'offset': offset,
            'localities': len(setup['localities']),
            'integrity': setup['integrity']['id'],
            'integrity_manager': setup['integrity']['manager'],
            'channels': setup['channels'],
            'parties': [p['id'] for p in setup['parties']],
            'officer': setup['users']['officer']}
        started = time.perf_counter()
        statements = [s for s in TICKETS_SQL.split(';\n') if s.strip()]
        # The temporary tables of categories and localities, filled from
        # the set-up, after they are created.
        run_script(connection, ';\n'.join(statements[:3]), parameters)
        with connection.cursor().copy('COPY bench_loc FROM STDIN') as copy:
            for index, locality in enumerate(setup['localities']):
                copy.write_row((index, locality['id'], locality['team'],
                        locality['manager']))
        with connection.cursor().copy('COPY bench_cat FROM STDIN') as copy:
            for row in setup['categories']:
                copy.write_row((row['category'], row['subcategory'],
                        row['severity'], row['sensitive'], row['ack_h'],
                        row['resolution_h'], row['lo'], row['hi']))
        run_script(connection, ';\n'.join(statements[3:]), parameters)
        seconds['tickets_s'] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        run_script(connection, EVENTS_SQL, parameters)
        seconds['events_s'] = round(time.perf_counter() - started, 1)
        run_script(connection, SNAPSHOT_SQL, parameters)
        max_event = connection.execute(
            'SELECT COALESCE(max(id), 0) FROM spp_grievance_event'
            ).fetchone()[0]
        max_ticket = connection.execute(
            'SELECT max(id) FROM spp_grievance').fetchone()[0]
        record = {'size': options.size, 'open': parameters['open'],
            'built_at': t0.isoformat(), 'first_id': offset + 1,
            'max_ticket': max_ticket, 'max_event': max_event,
            'seed': options.seed, 'setup': setup}
        connection.execute('INSERT INTO bench_grievance_meta VALUES (%s)',
            (json.dumps(record),))
        connection.commit()
    started = time.perf_counter()
    with connect(options.uri, database, autocommit=True) as connection:
        for table in ['spp_grievance', 'spp_grievance_event',
                'bench_grievance_open']:
            connection.execute(f'VACUUM ANALYZE {table}')
    seconds['vacuum_analyze_s'] = round(time.perf_counter() - started, 1)
    return seconds, record


def build(options, database):
    "The database, made or reused; return (setup figures, bench record)."
    figures = {}
    if options.reset or not database_exists(options.uri, database):
        log(f"creating {database} ...")
        figures['activate_s'] = create_database(options.uri, database)
    elif options.update:
        log(f"updating {', '.join(ADDONS)} in {database} ...")
        figures['update_s'] = create_database(options.uri, database,
            update=True)
    record = meta(options.uri, database)
    from trytond.pool import Pool
    initialized = database in Pool.database_list()
    pool = Pool(database)
    if not initialized:
        with transaction(database, readonly=True):
            pool.init()
    if record and record['size'] == options.size:
        figures['population'] = 'reused'
        return figures, record
    log(f"building {options.size} tickets in {database} ...")
    started = time.perf_counter()
    with transaction(database) as current:
        setup = setup_orm()
        current.commit()
    figures['orm_setup_s'] = round(time.perf_counter() - started, 1)
    seconds, record = populate(options, database, setup)
    figures.update(seconds)
    return figures, record


def population_figures(uri, database, record):
    with connect(uri, database) as connection:
        rows = dict(connection.execute('SELECT state, COUNT(*) '
                'FROM spp_grievance GROUP BY state').fetchall())
        events = connection.execute(
            'SELECT COUNT(*) FROM spp_grievance_event').fetchone()[0]
        size = connection.execute("SELECT pg_size_pretty("
            "pg_total_relation_size('spp_grievance')), pg_size_pretty("
            "pg_total_relation_size('spp_grievance_event'))").fetchone()
    return {'tickets': sum(rows.values()), 'by_state': rows,
        'open': sum(v for k, v in rows.items() if k in {'new',
                'acknowledged', 'investigating', 'reopened'}),
        'events': events, 'built_at': record['built_at'],
        'table_size': size[0], 'events_table_size': size[1]}


# -- 1. the cron pass ---------------------------------------------------------

RESET_SQL = '''
UPDATE spp_grievance AS g SET
    received_on = s.received_on + %(shift)s,
    acknowledged_on = s.acknowledged_on + %(shift)s,
    ack_due = s.ack_due + %(shift)s,
    ack_risk_on = s.ack_risk_on + %(shift)s,
    resolution_due = s.resolution_due + %(shift)s,
    resolution_risk_on = s.resolution_risk_on + %(shift)s,
    escalated_on = s.escalated_on + %(shift)s,
    sla_status = s.sla_status, assigned_to = s.assigned_to,
    write_date = s.write_date, write_uid = s.write_uid
FROM bench_grievance_open AS s
WHERE g.id = s.id;
DELETE FROM spp_grievance_event WHERE id > %(max_event)s
'''


def remove_extra_tickets(uri, database, record):
    "Tickets made after the build (intake, an interrupted run): deleted."
    with connect(uri, database) as connection:
        count = connection.execute('DELETE FROM spp_grievance '
            'WHERE id > %s', (record['max_ticket'],)).rowcount
        connection.commit()
    return count


def reset_open(uri, database, record, since):
    """The open tickets back as built, their dates moved so that the last
    pass ran `since` ago; the events of later passes removed."""
    built_at = dt.datetime.fromisoformat(record['built_at'])
    shift = (now() - since) - built_at
    with connect(uri, database) as connection:
        run_script(connection, RESET_SQL, {'shift': shift,
                'max_event': record['max_event']})
        connection.commit()
    with connect(uri, database, autocommit=True) as connection:
        connection.execute('VACUUM ANALYZE spp_grievance')
        connection.execute('VACUUM spp_grievance_event')


def sla_counts(uri, database):
    with connect(uri, database) as connection:
        statuses = dict(connection.execute("SELECT sla_status, COUNT(*) "
                "FROM spp_grievance WHERE state IN ('new', 'acknowledged', "
                "'investigating', 'reopened') GROUP BY sla_status"
                ).fetchall())
        waiting = connection.execute("SELECT COUNT(*) FROM spp_grievance "
            "WHERE state IN ('new', 'acknowledged', 'investigating', "
            "'reopened') AND sla_status = 'breached' "
            "AND escalated_on IS NULL").fetchone()[0]
    return statuses, waiting


def due_changes(uri, database):
    """What the next pass has to do: open tickets whose status is not
    the one of now, and those breached now but never escalated."""
    with connect(uri, database) as connection:
        return dict(zip(['status_changes', 'to_escalate'],
                connection.execute('''
            WITH s AS (SELECT sla_status, escalated_on, CASE
                WHEN (acknowledged_on IS NULL AND ack_due < LOCALTIMESTAMP)
                    OR acknowledged_on > ack_due
                    OR (resolved_on IS NULL
                        AND resolution_due < LOCALTIMESTAMP)
                    OR resolved_on > resolution_due THEN 'breached'
                WHEN (acknowledged_on IS NULL
                        AND ack_risk_on <= LOCALTIMESTAMP)
                    OR (resolved_on IS NULL
                        AND resolution_risk_on <= LOCALTIMESTAMP)
                    THEN 'at_risk'
                ELSE 'on_time' END AS status
                FROM spp_grievance WHERE state IN ('new', 'acknowledged',
                    'investigating', 'reopened'))
            SELECT COUNT(*) FILTER (WHERE sla_status IS DISTINCT FROM status),
                COUNT(*) FILTER (WHERE status = 'breached'
                    AND escalated_on IS NULL)
            FROM s''').fetchone()))


def cron_pass(database):
    "Grievance.run_sla() as the cron runs it, committed: (s, escalated)."
    from trytond.pool import Pool
    Grievance = Pool(database).get('spp.grievance')
    started = time.perf_counter()
    with transaction(database) as current:
        escalated = Grievance.run_sla()
        current.commit()
    return time.perf_counter() - started, escalated


def explain_pass(database):
    """The plans of the pass's statements, rolled back: auto_explain with
    ANALYZE sends each plan to the client as a notice."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    plans = []
    with transaction(database) as current:
        connection = Transaction().connection
        def notice(diagnostic):
            plans.append(diagnostic.message_primary or '')
        connection.add_notice_handler(notice)
        cursor = connection.cursor()
        cursor.execute("LOAD 'auto_explain'")
        for name, value in [('log_min_duration', '0'),
                ('log_analyze', 'on'), ('log_buffers', 'on'),
                ('log_level', 'notice')]:
            cursor.execute(f'SET LOCAL auto_explain.{name} = {value}')
        try:
            pool.get('spp.grievance').run_sla()
        finally:
            cursor.execute('SET LOCAL auto_explain.log_min_duration = -1')
            connection.remove_notice_handler(notice)
            current.rollback()
    return [p.splitlines() for p in plans if 'Query Text' in p
        and ('UPDATE' in p or 'INSERT' in p)]


def python_status(grievance, at):
    "sla.status_expression in Python, for the per-record path."
    g = grievance
    if ((g.ack_due and ((not g.acknowledged_on and g.ack_due < at)
                    or (g.acknowledged_on and g.acknowledged_on > g.ack_due)))
            or (g.resolution_due and ((not g.resolved_on
                        and g.resolution_due < at)
                    or (g.resolved_on
                        and g.resolved_on > g.resolution_due)))):
        return 'breached'
    if ((not g.acknowledged_on and g.ack_risk_on and g.ack_risk_on <= at)
            or (not g.resolved_on and g.resolution_risk_on
                and g.resolution_risk_on <= at)):
        return 'at_risk'
    return 'on_time'


def per_record_pass(database, sample, open_count):
    """The pass a loop of ORM calls would make, on `sample` open tickets
    (a stable pseudo-random choice), rolled back: read each ticket, write
    its status when it changed, escalate it when newly breached (write +
    event); extrapolated to every open ticket."""
    from trytond.pool import Pool
    pool = Pool(database)
    Grievance = pool.get('spp.grievance')
    Event = pool.get('spp.grievance.event')
    with transaction(database) as current:
        cursor = current.connection.cursor()
        cursor.execute("SELECT id FROM spp_grievance WHERE state IN "
            "('new', 'acknowledged', 'investigating', 'reopened') "
            'ORDER BY md5(id::text) LIMIT %s', (sample,))
        ids = [i for i, in cursor]
        at = dt.datetime.now()
        written = escalated = 0
        started = time.perf_counter()
        for grievance_id in ids:
            grievance = Grievance(grievance_id)
            status = python_status(grievance, at)
            if grievance.sla_status != status:
                Grievance.write([grievance], {'sla_status': status})
                written += 1
            if (status == 'breached' and not grievance.escalated_on
                    and grievance.team and grievance.team.manager):
                Grievance.write([grievance], {
                        'assigned_to': grievance.team.manager.id,
                        'escalated_on': at})
                Event.add([grievance], 'breached')
                escalated += 1
        seconds = time.perf_counter() - started
        current.rollback()
    return {'what': "per ticket: read, write the status if it changed, "
        "escalate (write + event) if newly breached; rolled back",
        'tickets': len(ids), 'seconds': round(seconds, 3),
        'status_writes': written, 'escalations': escalated,
        'ms_per_ticket': round(seconds * 1000 / len(ids), 2),
        'extrapolated_s': round(seconds / len(ids) * open_count, 1)}


def measure_sla(options, database, record):
    results = {'target_s': SLA_TARGET_S}
    variants = [('catch_up', dt.timedelta(hours=options.lag_hours),
            f"the last pass {options.lag_hours:g} h ago"),
        ('routine', dt.timedelta(minutes=ROUTINE_MINUTES),
            f"the last pass {ROUTINE_MINUTES} minutes ago (the cron's "
            "interval)")]
    for name, since, what in variants:
        runs, done = [], []
        for repetition in range(options.repeat):
            reset_open(options.uri, database, record, since)
            due = due_changes(options.uri, database)
            before, _ = sla_counts(options.uri, database)
            seconds, escalated = cron_pass(database)
            after, waiting = sla_counts(options.uri, database)
            runs.append(seconds)
            done.append({**due, 'escalated': escalated,
                    'breached_not_escalated_after': waiting,
                    'statuses_before': before, 'statuses_after': after})
            log(f"  SLA pass ({name}) {seconds:.2f} s: {due}, "
                f"{escalated} escalated")
        results[name] = {'what': what, 'seconds': summary(runs),
            'open_tickets': sum(done[-1]['statuses_before'].values()),
            **done[-1],
            'meets_target': statistics.median(runs) <= SLA_TARGET_S}
    reset_open(options.uri, database, record,
        dt.timedelta(hours=options.lag_hours))
    if options.orm_sample:
        orm = per_record_pass(database, options.orm_sample,
            results['catch_up']['open_tickets'])
        orm['per_record_vs_set_based'] = round(orm['extrapolated_s']
            / results['catch_up']['seconds']['median'], 1)
        results['per_record'] = orm
        log(f"  per-record pass: {orm['ms_per_ticket']} ms a ticket, "
            f"{orm['extrapolated_s']} s for every open ticket")
    try:
        results['catch_up']['plans'] = explain_pass(database)
    except Exception as exception:  # the plans are a help, not a figure
        results['catch_up']['plans'] = f'not available: {exception}'
    return results


# -- 2. the reports -----------------------------------------------------------

def report_context(period):
    if period == 'last_30_days':
        return {'from_date': dt.date.today() - dt.timedelta(days=30),
            'to_date': None}
    return {'from_date': None, 'to_date': None}


def report_fields(group):
    return [group, f'{group}.rec_name', *REPORT_FIELDS, 'rec_name',
        '_timestamp']


def read_report(database, user, name, period):
    """The report's list as sao loads it, in process with the access
    checks of JSON-RPC: (search s, read s, rows)."""
    from trytond.pool import Pool
    Report = Pool(database).get(REPORTS[name])
    with transaction(database, user, readonly=True,
            context=report_context(period)):
        started = time.perf_counter()
        records = Report.search([], offset=0, limit=LIST_LIMIT)
        searched = time.perf_counter()
        rows = Report.read([r.id for r in records], report_fields(name))
        read = time.perf_counter()
    return searched - started, read - searched, rows


def measure_reports(options, database, record):
    users = record['setup']['users']
    results = {'target_s': REPORT_TARGET_S, 'limit': LIST_LIMIT,
        'in_process': {}}
    for who in ['manager', 'officer']:
        for period in ['all', 'last_30_days']:
            for name in REPORTS:
                read_report(database, users[who], name, period)  # warm
                runs = [read_report(database, users[who], name, period)
                    for _ in range(options.repeat)]
                total = [s + r for s, r, _ in runs]
                rows = runs[-1][2]
                figure = {
                    'seconds': summary(total),
                    'search_s': round(statistics.median(
                            s for s, _, _ in runs), 3),
                    'read_s': round(statistics.median(
                            r for _, r, _ in runs), 3),
                    'rows': len(rows),
                    'tickets_counted': sum(r['total'] for r in rows),
                    'meets_target': statistics.median(total)
                    <= REPORT_TARGET_S}
                results['in_process'][f'{who}/{period}/{name}'] = figure
                log(f"  report {who} {period} {name}: "
                    f"{figure['seconds']['median']:.3f} s, "
                    f"{figure['rows']} rows")
    results['plans'] = {who: explain_report(database, users[who], 'area')
        for who in ['manager', 'officer']}
    return results


def explain_report(database, user, name):
    "The plan of the report's search (EXPLAIN ANALYZE)."
    from trytond.pool import Pool
    Report = Pool(database).get(REPORTS[name])
    with transaction(database, user, readonly=True,
            context=report_context('all')) as current:
        query = Report.search([], offset=0, limit=LIST_LIMIT, query=True)
        cursor = current.connection.cursor()
        sql, params = tuple(query)
        cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
        return [r for r, in cursor]


class JsonRpc:
    "A JSON-RPC session of a user on the live server, as sao opens one."
    def __init__(self, port, database, login, password):
        import requests
        self.url = f'http://127.0.0.1:{port}/{database}/rpc/'
        self.http = requests.Session()
        self.id = 0
        user_id, session, *_ = self.call('common.db.login',
            [login, {'password': password}, 'en'])
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.http.headers['Authorization'] = f'Session {token}'
        self.context = self.call('model.res.user.get_preferences',
            [True, {}])

    def call(self, method, params):
        self.id += 1
        response = self.http.post(self.url, json={'id': self.id,
                'method': method, 'params': params}, timeout=120)
        response.raise_for_status()
        body = response.json()
        if body.get('error'):
            raise RuntimeError(f"{method}: {body['error']}")
        return body['result']


def rpc_report(session, name, period):
    "search + read of a report over JSON-RPC: (search s, read s, rows)."
    context = dict(session.context)
    for key, value in report_context(period).items():
        context[key] = ({'__class__': 'date', 'year': value.year,
                'month': value.month, 'day': value.day}
            if value else None)
    model = f'model.{REPORTS[name]}'
    started = time.perf_counter()
    ids = session.call(f'{model}.search', [[], 0, LIST_LIMIT, None,
            context])
    searched = time.perf_counter()
    rows = session.call(f'{model}.read', [ids, report_fields(name),
            context])
    read = time.perf_counter()
    return searched - started, read - searched, rows


def measure_rpc_reports(options, database, record, port):
    logins = record['setup']['logins']
    results = {}
    for who in ['manager', 'officer']:
        session = JsonRpc(port, database, logins[who], PASSWORD)
        for period in ['all', 'last_30_days']:
            for name in REPORTS:
                rpc_report(session, name, period)
                runs = [rpc_report(session, name, period)
                    for _ in range(options.repeat)]
                total = [s + r for s, r, _ in runs]
                results[f'{who}/{period}/{name}'] = {
                    'seconds': summary(total),
                    'rows': len(runs[-1][2]),
                    'meets_target': statistics.median(total)
                    <= REPORT_TARGET_S}
                log(f"  JSON-RPC report {who} {period} {name}: "
                    f"{statistics.median(total):.3f} s")
    return results


# -- 3. intake through REST ---------------------------------------------------

INTAKE_PATH = '/grievances'


def make_client(uri, database, user):
    "An API client acting as `user` with grievance:create; its key."
    import hashlib
    import secrets
    key = 'spp_' + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    with connect(uri, database) as connection:
        connection.execute('DELETE FROM spp_api_client WHERE name = %s',
            ('bench_grievances',))
        connection.execute('''INSERT INTO spp_api_client (name, "user",
                scopes, rate_limit, key_hash, key_hint, key_issued,
                create_uid, create_date)
            VALUES (%s, %s, %s, 0, %s, %s, now(), 0, now())''',
            ('bench_grievances', user, json.dumps(['grievance:create']),
                digest, key[:10]))
    return key


def endpoint_available(port, database):
    "Whether the live server's OpenAPI document has POST /grievances."
    import requests
    document = requests.get(f'http://127.0.0.1:{port}/{database}/api/v1/'
        'openapi.json', timeout=30).json()
    return 'post' in (document.get('paths', {}).get(INTAKE_PATH) or {})


def endpoint_in_source():
    api = ROOT / 'addons' / 'spp_api'
    return any("'/grievances'" in p.read_text() or '"/grievances"'
        in p.read_text() for p in api.glob('*.py'))


def intake_body(rng, setup):
    body = {'category': rng.choice(setup['category_codes']),
        'channel': 'partner',
        'description': "Bench intake: the payment of May did not come."}
    if rng.random() < 0.5:
        body['complainant'] = rng.choice(setup['parties'])['code']
    else:
        body['complainant'] = None
        body['area'] = rng.choice(setup['localities'])['code']
    return body


def drive_intake(port, database, key, setup, clients, duration, seed=0):
    """`clients` threads posting tickets for `duration` seconds, each with
    a requests session; return (latencies of 201 answers, failures by
    status, references)."""
    import requests
    url = f'http://127.0.0.1:{port}/{database}/api/v1{INTAKE_PATH}'
    stop_at = time.monotonic() + duration
    latencies, failures, references = [], {}, []
    lock = threading.Lock()

    def client(index):
        rng = random.Random(seed * 1000 + index)
        http = requests.Session()
        http.headers.update({'Authorization': f'Bearer {key}',
                'Content-Type': 'application/json'})
        mine, bad, made = [], {}, []
        while time.monotonic() < stop_at:
            body = json.dumps(intake_body(rng, setup))
            started = time.perf_counter()
            try:
                response = http.post(url, data=body, timeout=60)
                status = response.status_code
                if status == 201:
                    made.append(response.json().get('reference'))
                else:
                    bad.setdefault(str(status), response.text[:300])
                    bad[f'{status}_count'] = bad.get(
                        f'{status}_count', 0) + 1
            except (requests.RequestException, ValueError) as exception:
                status = None
                bad['error'] = str(exception)[:300]
                bad['error_count'] = bad.get('error_count', 0) + 1
            if status == 201:
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            references.extend(made)
            for name, value in bad.items():
                if name.endswith('_count'):
                    failures[name] = failures.get(name, 0) + value
                else:
                    failures.setdefault(name, value)
    threads = [threading.Thread(target=client, args=(i,))
        for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, references


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_intake(options, database, record, port, workers, server_pid):
    import api
    setup = record['setup']
    key = make_client(options.uri, database, setup['users']['api'])
    drive_intake(port, database, key, setup, 4, 3, seed=99)  # warm-up
    cpu_before = api.tree_cpu_seconds(server_pid)
    pg_before = api.tree_cpu_seconds(None, database)
    started = time.monotonic()
    latencies, failures, references = drive_intake(port, database, key,
        setup, options.clients, options.duration)
    elapsed = time.monotonic() - started
    cpu = api.tree_cpu_seconds(server_pid) - cpu_before
    pg_cpu = api.tree_cpu_seconds(None, database) - pg_before
    made = len(latencies)
    with connect(options.uri, database) as connection:
        checked = connection.execute('''SELECT COUNT(*),
                COUNT(*) FILTER (WHERE team IS NOT NULL),
                COUNT(*) FILTER (WHERE ack_due IS NOT NULL
                    AND resolution_due IS NOT NULL),
                COUNT(*) FILTER (WHERE EXISTS (SELECT 1
                    FROM spp_grievance_event e WHERE e.grievance = g.id
                    AND e.action = 'received'))
            FROM spp_grievance g WHERE reference = ANY(%s)''',
            (references,)).fetchone()
    per_s = made / options.duration
    return {
        'clients': options.clients, 'gunicorn_workers': workers,
        'duration_s': options.duration, 'elapsed_s': round(elapsed, 1),
        'created': made, 'tickets_per_s': round(per_s, 1),
        'failures': failures,
        'p50_ms': round(statistics.median(latencies) * 1000, 1)
        if latencies else None,
        'p95_ms': round(percentile(latencies, 0.95) * 1000, 1)
        if latencies else None,
        'server_cpu_ms_per_ticket': round(cpu * 1000 / made, 2)
        if made else None,
        'postgresql_cpu_ms_per_ticket': round(pg_cpu * 1000 / made, 2)
        if made else None,
        'verified': dict(zip(['found', 'with_team', 'with_deadlines',
                    'with_received_event'], checked)),
        'target_per_s': INTAKE_TARGET_PER_S,
        'meets_target': per_s >= INTAKE_TARGET_PER_S,
        }


def profile_intake(uri, database, record, count=100, top=20):
    """cProfile `count` filings in process (werkzeug's test client on
    trytond's WSGI application, the same route as gunicorn's): where a
    ticket's time goes. The tickets are deleted by the caller."""
    import cProfile
    import io
    import pstats
    from werkzeug.test import Client
    from trytond.wsgi import app
    os.environ.setdefault('TRYTOND_DATABASE_NAMES', database)
    setup = record['setup']
    key = make_client(uri, database, setup['users']['api'])
    client = Client(app)
    rng = random.Random(7)
    headers = {'Authorization': f'Bearer {key}',
        'Content-Type': 'application/json'}
    path = f'/{database}/api/v1{INTAKE_PATH}'

    def post():
        response = client.post(path, headers=headers,
            data=json.dumps(intake_body(rng, setup)))
        assert response.status_code == 201, response.get_data()[:300]
    for _ in range(10):
        post()
    statements = {'count': 0}
    from trytond.backend.postgresql.database import LoggingCursor
    original = LoggingCursor.execute

    def counting(self, *args, **kwargs):
        statements['count'] += 1
        return original(self, *args, **kwargs)
    LoggingCursor.execute = counting
    try:
        started = time.perf_counter()
        for _ in range(count):
            post()
        plain = time.perf_counter() - started
    finally:
        LoggingCursor.execute = original
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        post()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt

    def name(function):
        filename, line, function_name = function
        for marker in ['site-packages/', 'addons/']:
            if marker in filename:
                filename = filename.split(marker, 1)[1]
        return f'{filename}:{line}:{function_name}'
    rows = sorted(((name(f), ct) for f, (cc, nc, tt, ct, _)
            in stats.stats.items() if 'addons/' in f[0]
            or 'modelsql.py' in f[0] or 'modelstorage.py' in f[0]),
        key=lambda r: -r[1])[:top]
    return {'tickets': count,
        'ms_per_ticket_in_process': round(plain * 1000 / count, 1),
        'sql_statements_per_ticket': round(statements['count'] / count, 1),
        'profiled_ms_per_ticket': round(total * 1000 / count, 1),
        'top_cumulative': [{'function': f, 'share': round(ct / total, 3)}
            for f, ct in rows]}


def wait_for_endpoint(minutes):
    deadline = time.monotonic() + minutes * 60
    while not endpoint_in_source():
        if time.monotonic() >= deadline:
            return False
        log("  waiting for the REST endpoint (addons/spp_api) ...")
        time.sleep(min(180, max(1, deadline - time.monotonic())))
    return True


# -- main ---------------------------------------------------------------------

def machine():
    memory = 0
    with open('/proc/meminfo') as meminfo:
        for line in meminfo:
            if line.startswith('MemTotal:'):
                memory = int(line.split()[1]) / 1024 / 1024
    model = ''
    with open('/proc/cpuinfo') as cpuinfo:
        for line in cpuinfo:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    return {'nproc': os.cpu_count(), 'cpu': model,
        'ram_gb': round(memory, 1),
        'python_optimize': bool(sys.flags.optimize),
        'load_average_at_start': [round(x, 2) for x in os.getloadavg()]}


def run(options):
    database = options.database or f'bench_grievances_{options.size}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    session = session_settings(options.uri, options.settings)
    figures = {'database': database, 'size': options.size,
        'open_share': options.open_share, 'machine': machine(),
        'postgresql': {'settings': options.settings,
            'session_settings': session, **server_figures(options.uri)},
        'date': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds')}
    output = Path(options.output
        or RESULTS / f'grievances_{options.size}.json')
    output.parent.mkdir(parents=True, exist_ok=True)

    def save():
        output.write_text(json.dumps(figures, indent=2, default=str) + '\n')
    figures['setup'], record = build(options, database)
    figures['removed_extra_tickets'] = remove_extra_tickets(options.uri,
        database, record)
    figures['population'] = population_figures(options.uri, database,
        record)
    save()

    if 'sla' in options.parts:
        log("SLA and escalation pass ...")
        figures['sla'] = measure_sla(options, database, record)
        save()
    if 'reports' in options.parts:
        log("reports ...")
        figures['reports'] = measure_reports(options, database, record)
        save()
    live = {'rpc', 'intake'} & options.parts
    if live:
        sys.path.insert(0, str(BENCH))
        import api
        if 'intake' in options.parts and options.wait_endpoint:
            wait_for_endpoint(options.wait_endpoint)
        for index, workers in enumerate(options.workers):
            server = argparse.Namespace(uri=options.uri, database=database,
                workers=workers)
            with api.gunicorn(server) as port:
                if 'rpc' in options.parts and not index:
                    log(f"reports over JSON-RPC ({workers} workers) ...")
                    try:
                        figures.setdefault('reports', {})['json_rpc'] = \
                            measure_rpc_reports(options, database, record,
                                port)
                        figures['reports']['json_rpc_workers'] = workers
                    except Exception as exception:
                        figures.setdefault('reports', {})['json_rpc'] = {
                            'error': f'{type(exception).__name__}: '
                            f'{exception}'[:500]}
                    save()
                if 'intake' in options.parts:
                    intake = figures.setdefault('intake', {})
                    if not endpoint_available(port, database):
                        figures['intake'] = {'status': 'not measured',
                            'reason': f"POST {INTAKE_PATH} is not in the "
                            "server's OpenAPI document (addons/spp_api)"}
                        break
                    log(f"intake, {options.clients} clients for "
                        f"{options.duration:g} s, {workers} workers ...")
                    try:
                        intake[f'workers_{workers}'] = measure_intake(
                            options, database, record, port, workers,
                            server.server_pid)
                    finally:
                        intake[f'workers_{workers}']['removed'] = \
                            remove_extra_tickets(options.uri, database,
                                record)
                    save()
        intake = figures.get('intake') or {}
        runs = [v for k, v in intake.items() if k.startswith('workers_')]
        if runs:
            best = max(runs, key=lambda r: r['tickets_per_s'])
            intake['best_tickets_per_s'] = best['tickets_per_s']
            intake['meets_target'] = best['meets_target']
            if not best['meets_target']:
                log("profiling intake in process ...")
                try:
                    intake['profile'] = profile_intake(options.uri,
                        database, record)
                finally:
                    remove_extra_tickets(options.uri, database, record)
            save()
    figures['targets'] = targets(figures)
    figures['machine']['load_average_at_end'] = [round(x, 2)
        for x in os.getloadavg()]
    save()
    return figures


def targets(figures):
    "Which targets are met."
    met = {}
    sla = figures.get('sla')
    if sla:
        met['cron_pass_le_10_s'] = all(sla[v]['meets_target']
            for v in ['catch_up', 'routine'])
    intake = figures.get('intake') or {}
    met['intake_ge_200_per_s'] = intake.get('meets_target',
        'not measured')
    reports = figures.get('reports') or {}
    if reports.get('in_process'):
        met['every_report_le_1_s_in_process'] = all(
            r['meets_target'] for r in reports['in_process'].values())
    rpc = reports.get('json_rpc') or {}
    if rpc and 'error' not in rpc:
        met['every_report_le_1_s_json_rpc'] = all(
            r['meets_target'] for r in rpc.values())
    return met


def stage(context):
    """The grievances stage of bench/run_all.py, on the run's database:
    one ticket per household (--open-share open) built as above, the cron
    pass (catch-up, median of 2; the per-record ORM path on a sample),
    the reports in process, and intake for 10 s when the REST endpoint
    exists."""
    options = parse_arguments(['--size', str(context.size),
            '--uri', context.uri, '--database', context.database,
            '--repeat', '2', '--duration', '10', '--workers', '2',
            '--parts', 'sla,reports,norpc,intake'])
    database = context.database
    setup, record = build(options, database)
    remove_extra_tickets(options.uri, database, record)
    sla = measure_sla(options, database, record)
    sla['catch_up'].pop('plans', None)
    reports = measure_reports(options, database, record)
    reports.pop('plans', None)
    slowest = max(reports['in_process'].items(),
        key=lambda i: i[1]['seconds']['median'])
    result = {
        'rows': sla['catch_up']['open_tickets'],
        'seconds': sla['catch_up']['seconds']['median'],
        'what': "rows: open tickets of the SLA/escalation pass (catch-up "
        "after a day); seconds: the pass",
        'tickets': options.size, 'setup': setup,
        'escalated': sla['catch_up']['escalated'],
        'routine_pass_s': sla['routine']['seconds']['median'],
        'slowest_report': {'report': slowest[0],
            'seconds': slowest[1]['seconds']['median']},
        'reports_s': {k: v['seconds']['median']
            for k, v in reports['in_process'].items()},
        }
    if sla.get('per_record'):
        result['orm'] = {'what': sla['per_record']['what'],
            'rows': sla['per_record']['tickets'],
            'seconds': sla['per_record']['seconds'],
            'extrapolated_seconds': sla['per_record']['extrapolated_s']}
    if endpoint_in_source():
        sys.path.insert(0, str(BENCH))
        import api
        workers = options.workers[0]
        server = argparse.Namespace(uri=options.uri, database=database,
            workers=workers)
        with api.gunicorn(server) as port:
            try:
                if endpoint_available(port, database):
                    intake = measure_intake(options, database, record,
                        port, workers, server.server_pid)
                    result['intake'] = {k: intake[k] for k in [
                            'clients', 'gunicorn_workers', 'created',
                            'tickets_per_s', 'p95_ms', 'failures']}
            finally:
                remove_extra_tickets(options.uri, database, record)
    else:
        result['intake'] = "not built: no POST /grievances in spp_api"
    return result


def main():
    figures = run(parse_arguments())
    print(json.dumps(figures, indent=2, default=str))


if __name__ == '__main__':
    main()
