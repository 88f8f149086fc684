#!/usr/bin/env python3
"""Registry pull benchmark: households with their members pulled over DCI
from a second instance of this project on 127.0.0.1. Prints JSON figures
and writes bench/results/dci_pull_<households>.json.

    .venv/bin/python -O bench/dci_pull.py --households 10000 [--reset]

Instance A (database <name>_a, spp_api, served by gunicorn with a
signing key) is the external social registry: --households households of
about 4 members (bench/registry_import.py's generator, imported by the
registry import's bulk path) in 50 districts. Instance B (<name>_b,
spp_dci_client, in this process) has A as its external registry (OAuth2
client credentials, A's public key, signed answers required) and pulls
every household of A's country, page by page (page_size 200, the most
our DCI server gives), through the queued job's code path (each page
committed). Then the same pull again (every household matched and found
unchanged: the cost of an idempotent re-run). With --refresh, a refresh
too (one idtype-value query per household, 20 to a message).

Figures: seconds end to end (A's searches and serialisation included),
households and individuals per second, pages, and the time B spent
applying pages (matching, import checks, writes) apart from waiting for
A. PostgreSQL (SPP_DATABASE_URI, default postgresql://postgres@127.0.0.1/).
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as bench_api  # noqa: E402
import registry_import as bench_import  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / 'bench' / 'results'
SENDER = 'spmis.bench'
REGISTRY_SENDER = 'registry.bench'
log = bench_api.log


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='bench_dci_pull')
    parser.add_argument('--households', type=int, default=10_000)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--workers', type=int, default=1,
        help="gunicorn workers of instance A")
    parser.add_argument('--page-size', type=int, default=200)
    parser.add_argument('--detect-duplicates', action='store_true',
        help="run the duplicate finder after the pull (B)")
    parser.add_argument('--refresh', action='store_true')
    parser.add_argument('--reset', action='store_true',
        help="rebuild both databases")
    return parser.parse_args()


def ensure(options, name, module, reset=False):
    "The database with `module` (tools/sppdb.py ensure)."
    env = {**os.environ, 'TRYTOND_DATABASE__URI': options.uri}
    password = Path(tempfile.mkdtemp()) / 'pw'
    password.write_text('bench-Admin-2024\n')
    command = [sys.executable, str(ROOT / 'tools' / 'sppdb.py'), 'ensure',
        name, '--password-file', str(password), '--modules', module]
    if options.reset or reset:
        command.append('--reset')
    log(f"database {name}: ensuring {module}")
    subprocess.run(command, env=env, check=True, cwd=ROOT,
        stdout=subprocess.DEVNULL)


def pool_of(name):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    return pool


def populate_a(options, name):
    """Areas, --households households (if not there yet), an API client
    for B and its DCI sender; returns the client's key."""
    from trytond.modules.spp_registry import registry_import as ri
    from trytond.transaction import Transaction
    pool = pool_of(name)
    with Transaction().start(name, 0) as transaction:
        Area = pool.get('spp.area')
        Party = pool.get('party.party')
        if not Area.search([('code', '=', 'BL')]):
            bench_import.create_areas()
        groups = Party.search_count([('registrant_type', '=', 'group')])
        if groups < options.households:
            log(f"A: importing {options.households} households")
            data = bench_import.to_csv(bench_import.generate_rows(
                    options.seed, options.households * 4,
                    options.households, 100_000_000, 'H'))
            admin, = pool.get('res.user').search([('login', '=', 'admin')])
            with transaction.set_user(admin.id):
                result = ri.import_registrants(data, 'bench.csv')
            assert not result.errors, result.errors[:5]
        Client = pool.get('spp.api.client')
        Sender = pool.get('spp.dci.sender')
        Sender.delete(Sender.search([('sender_id', '=', SENDER)]))
        Client.delete(Client.search([('name', '=', 'bench pull')]))
        client, = Client.create([{'name': 'bench pull',
                    'scopes': ['registry:search'], 'rate_limit': 0}])
        key, = Client.issue_key([client])
        Sender.create([{'sender_id': SENDER, 'name': "Bench B",
                    'client': client.id}])
        counts = {
            'households': Party.search_count(
                [('registrant_type', '=', 'group')]),
            'individuals': Party.search_count(
                [('registrant_type', '=', 'individual')]),
            }
        transaction.commit()
    return key, counts


def serve_a(options, name, key_path):
    "gunicorn serving A, signing its answers."
    return bench_api.gunicorn(options, database=name, timeout=300,
        extra_config=f"[spp_dci]\nsigning_key = {key_path}\n"
        f"sender_id = {REGISTRY_SENDER}\n")


def setup_b(options, name, base_url, key, public_pem):
    "Areas, the external registry A and a pull of its whole country."
    from trytond.transaction import Transaction
    pool = pool_of(name)
    with Transaction().start(name, 0) as transaction:
        Area = pool.get('spp.area')
        Registry = pool.get('spp.dci.registry')
        Pull = pool.get('spp.dci.pull')
        if not Area.search([('code', '=', 'BL')]):
            bench_import.create_areas()
        Pull.delete(Pull.search([]))
        Registry.delete(Registry.search([('code', '=', 'bench-a')]))
        registry, = Registry.create([{
                    'name': "Bench A", 'code': 'bench-a',
                    'kind': 'social_registry', 'base_url': base_url,
                    'auth_method': 'oauth2', 'client_id': SENDER,
                    'client_secret': key, 'sender_id': SENDER,
                    'receiver_id': REGISTRY_SENDER,
                    'public_key': public_pem, 'signature_required': True,
                    'timeout': 300, 'attempts': 2,
                    'page_size': options.page_size,
                    'mappings': [('create', [{
                                    'category': 'identifier_type',
                                    'external_code': code,
                                    'internal_code': ours}
                                for code, ours in [
                                    ('UIN', 'national_id'),
                                    ('BRN', 'birth_certificate')]])],
                    }])
        country, = Area.search([('code', '=', 'BL')])
        pull, = Pull.create([{'registry': registry.id, 'area': country.id,
                    'detect_duplicates': options.detect_duplicates}])
        transaction.commit()
    return pool, pull.id


def timed_run(pool, name, pull_id, action):
    """Run the pull's job as the queue runs it (pages committed); the
    figures of the run and the seconds B spent applying pages."""
    from trytond.modules.spp_dci_client import pull_apply
    from trytond.transaction import Transaction
    Pull = pool.get('spp.dci.pull')
    applying = [0.0]
    original = pull_apply.PageApplier.apply

    def apply(self, records):
        started = time.perf_counter()
        try:
            return original(self, records)
        finally:
            applying[0] += time.perf_counter() - started
    pull_apply.PageApplier.apply = apply
    try:
        with Transaction().start(name, 0) as transaction:
            admin, = pool.get('res.user').search([('login', '=', 'admin')])
        with Transaction().start(name, admin.id) as transaction:
            pull = Pull(pull_id)
            Pull.start([pull], action)
            transaction.commit()
            started = time.perf_counter()
            Pull.run_job([Pull(pull_id)], action, commit=True)
            seconds = time.perf_counter() - started
            transaction.commit()
        with Transaction().start(name, 0, readonly=True):
            pull = Pull(pull_id)
            assert pull.state == 'done', pull.error
            figures = {name: getattr(pull, name) for name in (
                    'total', 'pages', 'households_read', 'created',
                    'updated', 'unchanged', 'refused', 'flagged',
                    'individuals')}
    finally:
        pull_apply.PageApplier.apply = original
    read = figures['households_read']
    return {
        **figures,
        'seconds': round(seconds, 2),
        'households_per_s': round(read / seconds, 1),
        'individuals_per_s': round(figures['individuals'] / seconds, 1)
        if figures['individuals'] else None,
        'b_apply_seconds': round(applying[0], 2),
        }


def main():
    options = parse_arguments()
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    name_a, name_b = f'{options.database}_a', f'{options.database}_b'
    started = time.perf_counter()
    ensure(options, name_a, 'spp_api')
    # B starts empty: the first pull creates every household.
    ensure(options, name_b, 'spp_dci_client', reset=True)
    key, population = populate_a(options, name_a)
    setup_seconds = time.perf_counter() - started

    signing = ed25519.Ed25519PrivateKey.generate()
    key_path = Path(tempfile.mkdtemp()) / 'registry_a.pem'
    key_path.write_bytes(signing.private_bytes(serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    key_path.chmod(0o600)
    public_pem = signing.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with serve_a(options, name_a, key_path) as port:
        pool, pull_id = setup_b(options, name_b,
            f'http://127.0.0.1:{port}/{name_a}/api/v1', key, public_pem)
        log("B: pulling")
        first = timed_run(pool, name_b, pull_id, 'pull')
        log(f"B: pulled {first}")
        again = timed_run(pool, name_b, pull_id, 'pull')
        refresh = (timed_run(pool, name_b, pull_id, 'refresh')
            if options.refresh else None)
    figures = {
        'households': first['households_read'],
        'individuals': first['individuals'],
        'seconds': first['seconds'],
        'per_second': first['households_per_s'],
        'individuals_per_second': first['individuals_per_s'],
        'pages': first['pages'],
        'page_size': options.page_size,
        'target': "100,000 households with their members in <= 60 s",
        'pull': first,
        'pull_again_unchanged': again,
        'refresh': refresh,
        'registry_a': population,
        'a_gunicorn_workers': options.workers,
        'backend': 'postgresql',
        'python_optimize': bool(sys.flags.optimize),
        'setup_s': round(setup_seconds, 1),
        'date': dt.date.today().isoformat(),
        'cpus': os.cpu_count(),
        'load_average_1min_at_end': round(os.getloadavg()[0], 1),
        }
    text = json.dumps(figures, indent=2)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'dci_pull_{options.households}.json').write_text(
        text + '\n')


if __name__ == '__main__':
    main()
