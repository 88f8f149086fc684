#!/usr/bin/env python3
"""Benchmark of data protection (spp_consent) on PostgreSQL. Prints JSON.

    .venv/bin/python bench/consent.py --size 1000000 --clients 50

1. Consent-filtered lookups: REST and DCI lookups by national ID at
   `--clients` clients (bench/api.py's load generator and gunicorn), for
   a client whose lawful basis is the registrants' consent (each read
   filtered by the consent records) and for one whose basis is a public
   task (no filter), run in turns A B A B so that the machine's noise
   falls on both. Target: the filtered p95 within 10% of the unfiltered.
2. The expiry pass over `--consents-per-registrant` consents per
   individual (4.5 for 4.5 M records on a million), 1% of them past
   their last day. Target: <= 30 s.
3. Anonymisation of `--anonymise` registrants disabled long ago, by the
   retention pass. Target: 100,000 in <= 60 s.

The database (default `bench_consent`) is made once by tools/sppdb.py and
filled by set-based SQL (bench/api.py's individuals with a national ID);
re-runs reuse it. Each part runs in its own transaction and the expiry and
anonymisation are rolled back, so a re-run measures the same work."""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODULES = ['spp_consent']


def log(message):
    print(message, file=sys.stderr, flush=True)


def ref(cursor, module, fs_id):
    cursor.execute("SELECT db_id FROM ir_model_data "
        "WHERE module = %s AND fs_id = %s", (module, fs_id))
    return cursor.fetchone()[0]


def populate_consents(options):
    """Consents per individual: the first covers the REFERRAL purpose for
    health insurers (what the filtered client asks); the others are of
    other purposes, 1% given with a last day in the past."""
    import psycopg
    with psycopg.connect(api.conninfo(options.uri, options.database),
            autocommit=False) as connection:
        cursor = connection.cursor()
        target = int(options.size * options.consents_per_registrant)
        cursor.execute("SELECT count(*) FROM spp_consent")
        have, = cursor.fetchone()
        if have >= target:
            log(f"consents: {have} already there")
            return
        started = time.monotonic()
        purposes = [ref(cursor, 'spp_consent', f'purpose_{p}') for p in [
                'referral', 'service', 'research', 'contact', 'verify']]
        insurer = ref(cursor, 'spp_consent', 'recipient_type_health_insurer')
        category = ref(cursor, 'spp_consent', 'data_category_identifying')
        cursor.execute("SELECT min(id), max(id) FROM party_party "
            "WHERE code LIKE 'B%%' AND registrant_type = 'individual'")
        low, high = cursor.fetchone()
        # Record n: registrant low + n % size, purpose n / size.
        cursor.execute("""
            INSERT INTO spp_consent (registrant, purpose, lawful_basis,
                state, requested_on, given_on, expires_on,
                collection_method, given_by, processing, create_uid,
                create_date)
            SELECT %(low)s + (n %% %(size)s),
                (%(purposes)s::integer[])[1 + (n / %(size)s) %% 5],
                'consent', 'given', DATE '2025-01-01', DATE '2025-01-01',
                CASE WHEN n >= %(size)s AND n %% 100 = 0
                    THEN CURRENT_DATE - 1
                    ELSE DATE '2030-12-31' END,
                'signed_form', 'subject', '["collect","store","share"]',
                0, now()
            FROM generate_series(%(have)s, %(target)s - 1) AS n
            """, {'low': low, 'size': high - low + 1,
                'purposes': purposes, 'have': have, 'target': target})
        cursor.execute("""
            INSERT INTO "spp_consent-spp_consent_recipient_type" (consent,
                type, create_uid, create_date)
            SELECT c.id, %s, 0, now() FROM spp_consent c
            WHERE c.purpose = %s AND NOT EXISTS (SELECT 1 FROM
                "spp_consent-spp_consent_recipient_type" t
                WHERE t.consent = c.id)
            """, (insurer, purposes[0]))
        cursor.execute("""
            INSERT INTO "spp_consent-spp_consent_data_category" (consent,
                category, create_uid, create_date)
            SELECT c.id, %s, 0, now() FROM spp_consent c
            WHERE c.id > (SELECT coalesce(max(consent), 0) FROM
                "spp_consent-spp_consent_data_category")
            """, (category,))
        connection.commit()
        for table in ['spp_consent', '"spp_consent-spp_consent_recipient_type"',
                '"spp_consent-spp_consent_data_category"']:
            cursor.execute(f"ANALYZE {table}")
        connection.commit()
        log(f"consents: {target - have} inserted in "
            f"{time.monotonic() - started:.1f} s")


def sharing_clients(options):
    """Two API clients of the same organisation and purpose: one on the
    registrants' consent, one on a public task. Their keys."""
    import psycopg
    keys = {}
    for basis in ['public_task', 'consent']:
        options_client = argparse.Namespace(**vars(options))
        api.KEY_NAME = f'bench-{basis}'
        keys[basis] = api.make_client(options_client)
    with psycopg.connect(api.conninfo(options.uri, options.database)) as conn:
        cursor = conn.cursor()
        purpose = ref(cursor, 'spp_consent', 'purpose_referral')
        insurer = ref(cursor, 'spp_consent', 'recipient_type_health_insurer')
        cursor.execute("SELECT id FROM spp_consent_recipient "
            "WHERE code = 'BENCH-INSURER'")
        row = cursor.fetchone()
        if row:
            organisation, = row
        else:
            cursor.execute("INSERT INTO spp_consent_recipient (code, name, "
                "type, active, create_uid, create_date) VALUES "
                "('BENCH-INSURER', 'Bench Insurer', %s, true, 0, now()) "
                "RETURNING id", (insurer,))
            organisation, = cursor.fetchone()
        for basis in keys:
            cursor.execute("UPDATE spp_api_client SET organisation = %s, "
                "purpose = %s, lawful_basis = %s, lawful_basis_reason = %s, "
                "data_access = 'full' WHERE name = %s",
                (organisation, purpose, basis,
                    None if basis == 'consent' else "Bench", 
                    f'bench-{basis}'))
    return keys


def lookups(options):
    "Filtered and unfiltered lookups in turns."
    keys = sharing_clients(options)
    figures = {}
    with api.gunicorn(options) as port:
        log("warm-up")
        warm = argparse.Namespace(**{**vars(options), 'duration': 3,
                'clients': 4})
        for key in keys.values():
            api.lookups(warm, port, key, 'rest')
        for turn in range(options.turns):
            for kind in ['rest', 'dci']:
                for basis, key in keys.items():
                    log(f"turn {turn + 1}: {kind} lookups, {basis}")
                    result = api.lookups(options, port, key, kind)
                    figures.setdefault(f'{kind}_{basis}', []).append(result)
    summary = {}
    for kind in ['rest', 'dci']:
        p95 = {basis: sorted(r['p95_ms'] for r in figures[f'{kind}_{basis}'])
            for basis in keys}
        summary[f'{kind}_p95_ms'] = p95
        summary[f'{kind}_p95_ratio_median'] = round(
            median(p95['consent']) / median(p95['public_task']), 3)
    return {'runs': figures, 'summary': summary}


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return (values[middle] if len(values) % 2
        else (values[middle - 1] + values[middle]) / 2)


def in_trytond(options, work):
    "Run work() in a rolled back trytond transaction; its seconds."
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(options.database)
    pool.init()
    with Transaction().start(options.database, 0, readonly=False) as tx:
        started = time.monotonic()
        result = work(pool)
        seconds = time.monotonic() - started
        tx.rollback()
    return seconds, result


def expiry(options):
    seconds, count = in_trytond(options,
        lambda pool: pool.get('spp.consent').expire())
    return {'consents': int(options.size * options.consents_per_registrant),
        'expired': count, 'seconds': round(seconds, 2)}


def anonymisation(options):
    """The retention pass over `options.anonymise` bench individuals
    disabled ten years ago (set in the same, rolled back, transaction)."""
    import datetime as dt

    def work(pool):
        from trytond.transaction import Transaction
        Party = pool.get('party.party')
        Policy = pool.get('spp.retention.policy')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        first = party.select(party.id,
            where=party.code.like('B%') & (party.registrant_type
                == 'individual'),
            order_by=[party.id], limit=options.anonymise)
        cursor.execute(*party.update([party.disabled],
                [dt.datetime(2015, 1, 1)], where=party.id.in_(first)))
        policy, = Policy.create([{'name': "Bench: disabled 7 years",
                    'situation': 'disabled', 'period': 7,
                    'unit': 'years'}])
        started = time.monotonic()
        run, = Policy.anonymise([policy])
        seconds = time.monotonic() - started
        return {'anonymised': run.anonymised_count,
            'skipped': run.skipped_count, 'pass_seconds': round(seconds, 2)}

    seconds, result = in_trytond(options, work)
    return {'registrants': options.anonymise, **result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='bench_consent')
    parser.add_argument('--reset', action='store_true')
    parser.add_argument('--size', type=int, default=100_000)
    parser.add_argument('--consents-per-registrant', type=float,
        default=4.5)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--load-processes', type=int, default=2)
    parser.add_argument('--duration', type=float, default=15)
    parser.add_argument('--turns', type=int, default=2)
    parser.add_argument('--anonymise', type=int, default=100_000)
    parser.add_argument('--parts', nargs='+',
        default=['lookups', 'expiry', 'anonymise'],
        choices=['lookups', 'expiry', 'anonymise'])
    options = parser.parse_args()
    options.modules = MODULES
    api.ensure_database(options)
    api.populate(options)
    populate_consents(options)
    figures = {'size': options.size, 'clients': options.clients,
        'workers': options.workers, 'cpus': os.cpu_count()}
    if 'lookups' in options.parts:
        figures['lookups'] = lookups(options)
    if 'expiry' in options.parts:
        log("expiry pass")
        figures['expiry'] = expiry(options)
    if 'anonymise' in options.parts:
        log(f"anonymisation of {options.anonymise} registrants")
        figures['anonymise'] = anonymisation(options)
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
