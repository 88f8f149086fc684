#!/usr/bin/env python3
"""CRVS deaths benchmark (spp_dci_client): process --deaths death
notifications of a civil registry, on PostgreSQL.

In a database of spp_dci_client and spp_programs (`bench_dci_deaths_<n>`,
reused when it exists unless --reset) it makes, set-based (INSERT ...
SELECT generate_series), --households households of a married couple
(head and spouse, a national ID each: 2 x --households individuals) and
an individual program every one of them is enrolled in; through the ORM,
the civil registry (a key made for the run) and an active subscription to
its deaths.

It then sends --deaths death records of household heads, --per-message
records a notify message (one notify_event each, as the spec's
reg_records is one record), each message a signed DCI envelope POSTed to
our route `/<db>/dci/<code>/registry/notify` in process, through
trytond's WSGI application (werkzeug's test client: the route's own
transaction, signature check, replay check and dispatch; no network), one
message after the other as a registry sends them. Each death is applied:
the person marked deceased and disabled (history row), their program
membership exited, the spouse widowed, the household's indicators
recomputed, the life event kept.

Before each repetition the deaths of the previous one are undone in SQL
(people, memberships, events, exchanges) and the tables vacuumed, so
every repetition processes the same. Prints JSON {deaths, messages,
seconds, per_second, ...} and writes bench/results/dci_deaths_<deaths>.json. Target (issue): 10,000
death notifications in <= 30 s.

    .venv/bin/python bench/dci_deaths.py                # 10,000 deaths
    .venv/bin/python bench/dci_deaths.py --deaths 2000 --households 5000
"""
import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgdb import (  # noqa: E402
    connect, create_database, database_exists)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
CODE = 'bench-crvs'
SUBSCRIPTION = 'BENCH-DEATHS'
# National ID numbers: this offset + the party id (digits, no check).
ID_BASE = 9_000_000_000


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--deaths', type=int, default=10_000)
    parser.add_argument('--households', type=int, default=None,
        help="default: twice --deaths")
    parser.add_argument('--per-message', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--reset', action='store_true')
    return parser.parse_args()




POPULATION = '''
INSERT INTO party_party (id, code, name, family_name, given_name,
    registrant_type, active, birth_date, civil_status, member_count,
    child_count, elderly_count, disabled_member_count, female_head,
    multiple_groups, birth_date_approximate, disability, registration_date,
    create_uid, create_date)
SELECT %(base)s + i, 'DI' || (%(base)s + i), 'Bench ' || i, 'Bench',
    'P' || i, 'individual', TRUE, CURRENT_DATE - (50 + i %% 30) * 365,
    'married', 0, 0, 0, 0, FALSE, FALSE, FALSE, FALSE, CURRENT_DATE, 0,
    NOW() - INTERVAL '1 day'
FROM generate_series(0, 2 * %(n)s - 1) AS i;
INSERT INTO party_party (id, code, name, registrant_type, active,
    group_kind, member_count, child_count, elderly_count,
    disabled_member_count, female_head, multiple_groups,
    birth_date_approximate, disability, registration_date, create_uid,
    create_date)
SELECT %(base)s + 2 * %(n)s + h, 'DH' || h, 'Bench household ' || h,
    'group', TRUE,
    (SELECT id FROM spp_group_kind WHERE code = 'household'), 2, 0, 0, 0,
    FALSE, FALSE, FALSE, FALSE, CURRENT_DATE, 0, NOW() - INTERVAL '1 day'
FROM generate_series(0, %(n)s - 1) AS h;
INSERT INTO party_identifier (party, type, code, code_compact, unique_code,
    active, sequence, create_uid, create_date)
SELECT %(base)s + i, 'national_id', (%(ids)s + %(base)s + i)::text,
    (%(ids)s + %(base)s + i)::text,
    'national_id:' || (%(ids)s + %(base)s + i)::text, TRUE, 10, 0, NOW()
FROM generate_series(0, 2 * %(n)s - 1) AS i;
INSERT INTO spp_group_membership ("group", individual, start_date,
    create_uid, create_date)
SELECT %(base)s + 2 * %(n)s + i / 2, %(base)s + i,
    CURRENT_DATE - 1000, 0, NOW()
FROM generate_series(0, 2 * %(n)s - 1) AS i;
INSERT INTO "spp_group_membership-role" (membership, role, create_uid,
    create_date)
SELECT m.id, CASE WHEN (m.individual - %(base)s) %% 2 = 0
        THEN (SELECT id FROM spp_group_membership_role WHERE code = 'head')
        ELSE (SELECT id FROM spp_group_membership_role WHERE code = 'spouse')
    END, 0, NOW()
FROM spp_group_membership m WHERE m.individual >= %(base)s;
SELECT setval('party_party_id_seq', (SELECT MAX(id) FROM party_party));
'''


def build(uri, name, households):
    "The households, their members and IDs, in SQL; the base id."
    with connect(uri, name) as connection:
        (base,), = connection.execute(
            'SELECT COALESCE(MAX(id), 0) + 1 FROM party_party').fetchall()
        connection.execute(POPULATION % {'n': households, 'base': base,
                'ids': ID_BASE})
        connection.commit()


def setup(fake_url, public_pem):
    """The civil registry (this run's key), the subscription and the
    program (ORM); the memberships in SQL. (program id, first head id)."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Registry = pool.get('spp.dci.registry')
    Mapping = pool.get('spp.dci.registry.mapping')
    Subscription = pool.get('spp.dci.client.subscription')
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    values = {'name': "Bench CRVS", 'code': CODE, 'kind': 'crvs',
        'base_url': fake_url, 'auth_method': 'none',
        'sender_id': 'spmis.bench', 'receiver_id': 'crvs.bench',
        'public_key': public_pem, 'signature_required': True,
        'timeout': 60, 'attempts': 1}
    registries = Registry.search([('code', '=', CODE)])
    if registries:
        registry, = registries
        Registry.write(registries, values)
        Mapping.delete(registry.mappings)
    else:
        registry, = Registry.create([values])
    Mapping.create([{'registry': registry.id, 'category': 'identifier_type',
                'external_code': 'UIN', 'internal_code': 'national_id'}])
    if not Subscription.search([('code', '=', SUBSCRIPTION)]):
        Subscription.create([{'registry': registry.id,
                    'event_type': 'death', 'state': 'active',
                    'code': SUBSCRIPTION}])
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT MIN(id) FROM party_party WHERE code LIKE 'DI%%'")
    first, = cursor.fetchone()
    programs = Program.search([('code', '=', 'BENCH-OLD')])
    if programs:
        program, = programs
    else:
        currency = Currency.search([('code', '=', 'BNC')]) or \
            Currency.create([{'name': "Bench", 'code': 'BNC',
                        'symbol': 'B'}])
        program, = Program.create([{'name': "Bench pension",
                    'code': 'BENCH-OLD', 'target_type': 'individual',
                    'currency': currency[0].id}])
        Program.activate([program])
        cursor.execute('''
            INSERT INTO spp_program_membership (program, registrant, state,
                enrolment_date, state_date, forced, not_duplicate,
                create_uid, create_date)
            SELECT %s, p.id, 'enrolled', CURRENT_DATE, CURRENT_DATE, FALSE,
                FALSE, 0, NOW()
            FROM party_party p WHERE p.code LIKE 'DI%%'
            ''', (program.id,))
    return program.id, first


def undo(program_id):
    "Put the deaths of a repetition back, in SQL."
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute("UPDATE party_party SET death_date = NULL, "
        "death_source = NULL, disabled = NULL, disabled_reason = NULL, "
        "disabled_by = NULL, civil_status = 'married' "
        "WHERE code LIKE 'DI%%' AND (death_date IS NOT NULL "
        "OR civil_status != 'married')")
    cursor.execute("UPDATE party_party SET member_count = 2 "
        "WHERE code LIKE 'DH%%' AND member_count != 2")
    cursor.execute("UPDATE spp_program_membership SET state = 'enrolled', "
        "exit_date = NULL, exit_reason = NULL WHERE program = %s "
        "AND state = 'exited'", (program_id,))
    cursor.execute('DELETE FROM spp_dci_life_event')
    cursor.execute("DELETE FROM spp_dci_exchange WHERE direction = 'in'")


def messages(key, sender_id, first, deaths, per_message):
    "Signed notify envelopes of the deaths of `deaths` household heads."
    import datetime as dt

    from trytond.modules.spp_api.dci_signature import sign
    from trytond.modules.spp_dci_client.tests.fake_registry import now_iso
    died = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    result = []
    for start in range(0, deaths, per_message):
        events = [{'reference_id': SUBSCRIPTION, 'timestamp': now_iso(),
                'data': {'version': '1.0.0', 'reg_record_type': 'person',
                    'reg_records': {'@type': 'CRVS_Person',
                        'identifier': [{'identifier_type': 'UIN',
                                'identifier_value': str(
                                    ID_BASE + first + 2 * n)}],
                        'name': {'surname': 'Bench',
                            'given_name': f'P{2 * n}'},
                        'sex': 'male', 'death_date': died}}}
            for n in range(start, min(start + per_message, deaths))]
        envelope = {'header': {'version': '1.0.0',
                'message_id': str(uuid.uuid4()), 'message_ts': now_iso(),
                'action': 'notify', 'status': 'succ',
                'sender_id': sender_id, 'receiver_id': 'spmis.bench',
                'total_count': len(events), 'is_msg_encrypted': False},
            'message': {'transaction_id': SUBSCRIPTION,
                'notify_event': events}}
        envelope['signature'] = sign(envelope, key, 'ed25519',
            f'{sender_id}|1|ed25519')
        result.append(envelope)
    return result


def send_all(database, envelopes):
    "POST each envelope to the route in process: (seconds, statuses)."
    from werkzeug.test import Client

    from trytond.wsgi import app
    import trytond.modules.spp_dci_client.inbound  # noqa: F401 (routes)
    client = Client(app)
    path = f'/{database}/dci/{CODE}/registry/notify'
    statuses = {}
    started = time.perf_counter()
    for envelope in envelopes:
        response = client.post(path, json=envelope)
        statuses[response.status_code] = statuses.get(
            response.status_code, 0) + 1
        if response.status_code != 200 and 'error' not in statuses:
            statuses['error'] = response.get_data(as_text=True)[:300]
    return time.perf_counter() - started, statuses


def counts(database):
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute("SELECT state, COUNT(*) FROM spp_dci_life_event "
            "GROUP BY state")
        events = dict(cursor)
        cursor.execute("SELECT COUNT(*) FROM party_party "
            "WHERE death_date IS NOT NULL")
        deceased, = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM party_party "
            "WHERE civil_status = 'widowed'")
        widowed, = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM spp_program_membership "
            "WHERE state = 'exited'")
        exited, = cursor.fetchone()
    return {'events': events, 'deceased': deceased, 'widowed': widowed,
        'memberships_exited': exited}


def main():
    options = parse_arguments()
    households = options.households or 2 * options.deaths
    if options.deaths > households:
        raise SystemExit("--deaths must not exceed --households")
    database = f'bench_dci_deaths_{households}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    if options.reset or not database_exists(options.uri, database):
        create_database(options.uri, database,
            ['spp_dci_client', 'spp_programs'])
        build(options.uri, database, households)
    build_s = time.perf_counter() - started

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    key = ed25519.Ed25519PrivateKey.generate()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    with Transaction().start(database, 0) as transaction:
        program_id, first = setup('http://127.0.0.1:9', public_pem)
        transaction.commit()
    with connect(options.uri, database, autocommit=True) as connection:
        connection.execute('VACUUM ANALYZE')
    envelopes = messages(key, 'crvs.bench', first, options.deaths,
        options.per_message)
    runs = []
    for _ in range(options.repeat):
        with Transaction().start(database, 0) as transaction:
            undo(program_id)
            transaction.commit()
        # The undo leaves dead rows: vacuumed, each repetition starts from
        # the same state as the first.
        with connect(options.uri, database, autocommit=True) as connection:
            connection.execute('VACUUM ANALYZE party_party, '
                'spp_program_membership, spp_dci_life_event, '
                'spp_dci_exchange, spp_group_membership')
        seconds, statuses = send_all(database, [
                {**e, 'header': {**e['header']}} for e in envelopes]
            if not runs else messages(key, 'crvs.bench', first,
                options.deaths, options.per_message))
        runs.append((seconds, statuses))
    seconds = statistics.median(r[0] for r in runs)
    result = {
        'deaths': options.deaths,
        'households': households,
        'individuals': 2 * households,
        'messages': len(envelopes),
        'per_message': options.per_message,
        'seconds': round(seconds, 2),
        'per_second': round(options.deaths / seconds) if seconds else None,
        'ms_per_message': round(1000 * seconds / len(envelopes), 1),
        'target_s': 30,
        'repeat': options.repeat,
        'runs_seconds': [round(r[0], 2) for r in runs],
        'http_statuses': runs[-1][1],
        'path': 'in process: trytond WSGI route (werkzeug test client)',
        **counts(database),
        'build_s': round(build_s, 1),
        'load_average_1min': round(os.getloadavg()[0], 1),
        }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'dci_deaths_{options.deaths}.json').write_text(
        json.dumps(result, indent=2) + '\n')


if __name__ == '__main__':
    main()
