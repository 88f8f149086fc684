#!/usr/bin/env python3
"""IBR benchmark (spp_dci_client): send the enrolment updates of --size
memberships to an Integrated Beneficiary Registry, on PostgreSQL.

In a database of spp_dci_client and spp_programs (`bench_dci_ibr_<size>`,
reused when it exists unless --reset) it makes, set-based (INSERT ...
SELECT generate_series), --size individuals with a national ID each and a
program whose --size memberships are enrolled; the program's IBR is a
small fake DCI registry on 127.0.0.1 (the tests' FakeRegistry: OAuth2
token, a JSON parse of each message, one answer item per beneficiary, an
Ed25519-signed answer whose signature we verify). With --sign our
messages are signed too (a key made for the run, `[spp_dci] signing_key`).

It times, in one committed transaction as the queue task runs it:

1. the full send, `Program.ibr_send_updates()`: every membership read in
   keyset batches of --batch-size (one query for the batch, one for its
   identifiers), turned into EnrollmentUpdatesRequest messages, POSTed,
   marked sent with one UPDATE per batch;
2. the pass right after it, which finds nothing to send (the cron's
   routine pass);
3. a pass after --changed-share of the memberships changed state (exits).

Before each repetition the marks are cleared in SQL, so every repetition
sends the same. Prints JSON {memberships, batches, seconds, per_second,
...} and writes bench/results/dci_ibr_<size>.json. Target (issue): 900,000
memberships in <= 60 s.

    .venv/bin/python bench/dci_ibr.py --size 100000
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgdb import (  # noqa: E402
    connect, create_database, database_exists)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
CODE = 'BENCH-IBR'


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--size', type=int, default=100_000)
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--changed-share', type=float, default=0.01)
    parser.add_argument('--sign', action='store_true',
        help="sign our messages (Ed25519), as a deployment does")
    parser.add_argument('--reset', action='store_true')
    return parser.parse_args()




POPULATION = '''
INSERT INTO party_party (id, code, name, family_name, given_name,
    registrant_type, active, birth_date, member_count, child_count,
    elderly_count, disabled_member_count, female_head, multiple_groups,
    birth_date_approximate, disability, registration_date, create_uid,
    create_date)
SELECT %(base)s + i, 'BI' || i, 'Bench ' || i, 'Bench', 'P' || i,
    'individual', TRUE, CURRENT_DATE - (20 + i %% 50) * 365, 0, 0, 0, 0,
    FALSE, FALSE, FALSE, FALSE, CURRENT_DATE, 0, NOW() - INTERVAL '1 day'
FROM generate_series(0, %(n)s - 1) AS i;
INSERT INTO party_identifier (party, type, code, code_compact, unique_code,
    active, sequence, create_uid, create_date)
SELECT %(base)s + i, 'national_id', 'N' || (%(base)s + i),
    'N' || (%(base)s + i), NULL, TRUE, 10, 0, NOW()
FROM generate_series(0, %(n)s - 1) AS i;
SELECT setval('party_party_id_seq', (SELECT MAX(id) FROM party_party));
'''


def build(uri, name, size):
    "The population and the enrolled memberships of the program, in SQL."
    with connect(uri, name) as connection:
        (base,), = connection.execute(
            'SELECT COALESCE(MAX(id), 0) + 1 FROM party_party').fetchall()
        connection.execute(POPULATION % {'n': size, 'base': base})
        connection.commit()


def setup(fake, batch_size):
    "The IBR registry and the program (ORM); its memberships in SQL."
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Registry = pool.get('spp.dci.registry')
    Mapping = pool.get('spp.dci.registry.mapping')
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    values = {'name': "Bench IBR", 'code': 'bench-ibr',
        'kind': 'ibr', 'base_url': fake.url, 'auth_method': 'oauth2',
        'client_id': fake.client_id, 'client_secret': fake.client_secret,
        'sender_id': 'spmis.bench', 'receiver_id': fake.sender_id,
        'public_key': fake.public_pem, 'signature_required': True,
        'timeout': 60, 'attempts': 3, 'batch_size': batch_size}
    registries = Registry.search([('code', '=', 'bench-ibr')])
    if registries:
        # A new fake (port, key) each run.
        registry, = registries
        Registry.write(registries, values)
        Mapping.delete(registry.mappings)
    else:
        registry, = Registry.create([values])
    Mapping.create([{'registry': registry.id, 'category': 'identifier_type',
                'external_code': 'UIN', 'internal_code': 'national_id'}])
    currency = Currency.search([('code', '=', 'BNC')]) or Currency.create(
        [{'name': "Bench", 'code': 'BNC', 'symbol': 'B'}])
    programs = Program.search([('code', '=', CODE)])
    cursor = Transaction().connection.cursor()
    if programs:
        program, = programs
        Program.write(programs, {'ibr_registry': registry.id})
    else:
        program, = Program.create([{'name': "Bench IBR", 'code': CODE,
                    'target_type': 'individual',
                    'currency': currency[0].id,
                    'ibr_registry': registry.id}])
        Program.activate([program])
        cursor.execute('''
            INSERT INTO spp_program_membership (program, registrant, state,
                enrolment_date, state_date, forced, not_duplicate,
                ibr_enrolled_elsewhere, create_uid, create_date)
            SELECT %s, p.id, 'enrolled', CURRENT_DATE, CURRENT_DATE, FALSE,
                FALSE, FALSE, 0, NOW()
            FROM party_party p WHERE p.code LIKE 'BI%%'
            ''', (program.id,))
    return program.id


def clear_marks(program_id):
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute('UPDATE spp_program_membership SET ibr_sent_state = NULL,'
        ' ibr_sent_at = NULL, ibr_refusal = NULL WHERE program = %s',
        (program_id,))
    cursor.execute("UPDATE spp_program_membership SET state = 'enrolled', "
        "exit_date = NULL WHERE program = %s AND state = 'exited'",
        (program_id,))


def change_some(program_id, share):
    "Exit `share` of the memberships in SQL: the changes to send."
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    step = max(1, round(1 / share))
    cursor.execute("UPDATE spp_program_membership SET state = 'exited', "
        "exit_date = CURRENT_DATE, state_date = CURRENT_DATE "
        "WHERE program = %s AND id %% %s = 0", (program_id, step))
    return cursor.rowcount


CPU = {}


def timed(database, function):
    "Run in a committed transaction: (seconds, result); CPU['last']."
    from trytond.transaction import Transaction
    started = time.perf_counter()
    cpu = time.process_time()
    with Transaction().start(database, 0) as transaction:
        result = function()
        transaction.commit()
    CPU['last'] = time.process_time() - cpu
    return time.perf_counter() - started, result


class RemoteFake:
    "The fake IBR's address and credentials, as its process reports them."

    def __init__(self, url, public_pem, client_id, client_secret, sender_id):
        self.url = url
        self.public_pem = public_pem
        self.client_id = client_id
        self.client_secret = client_secret
        self.sender_id = sender_id


def serve_fake(pipe):
    """Run a fake IBR answering every beneficiary of a message as received
    (in a process of its own: the IBR is another system, and it must not
    share our interpreter's lock); report its address, then the counts."""
    from trytond.modules.spp_dci_client.tests.fake_registry import (
        FakeRegistry, now_iso)
    fake = FakeRegistry(sender_id='ibr.bench')
    received = {'messages': 0, 'beneficiaries': 0}

    def updates(body):
        items = body['message']['enrolled_updates']['beneficiaries']
        received['messages'] += 1
        received['beneficiaries'] += len(items)
        return 200, {'transaction_id': body['message']['transaction_id'],
            'correlation_id': 'bench', 'enrolled_response': [
                {'reference_id': b['reference_id'], 'timestamp': now_iso(),
                    'status': 'succ'} for b in items]}
    fake.handlers['/registry/sync/enrollment/updates'] = updates
    # No log of the calls: the bench sends thousands of messages.
    fake.calls = type('NoLog', (list,), {'append': lambda self, x: None})()
    pipe.send((fake.url, fake.public_pem, fake.client_id,
            fake.client_secret, fake.sender_id))
    while True:
        if pipe.recv() == 'stop':
            break
        pipe.send({**received, 'cpu': time.process_time()})
    fake.stop()


class FakeProcess:
    def __init__(self):
        import multiprocessing
        context = multiprocessing.get_context('spawn')
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve_fake, args=(child,),
            daemon=True)
        self.process.start()
        self.fake = RemoteFake(*self.pipe.recv())

    def received(self):
        self.pipe.send('count')
        return self.pipe.recv()

    def stop(self):
        self.pipe.send('stop')
        self.process.join(10)


def signing_config(directory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from trytond import config
    key = ed25519.Ed25519PrivateKey.generate()
    path = Path(directory) / 'signing.pem'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    if not config.has_section('spp_dci'):
        config.add_section('spp_dci')
    config.set('spp_dci', 'signing_key', str(path))


def main():
    options = parse_arguments()
    database = f'bench_dci_ibr_{options.size}'
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    if options.reset or not database_exists(options.uri, database):
        create_database(options.uri, database,
            ['spp_dci_client', 'spp_programs'])
        build(options.uri, database, options.size)
    build_s = time.perf_counter() - started
    keys = tempfile.TemporaryDirectory()
    if options.sign:
        signing_config(keys.name)

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    server = FakeProcess()
    Program = pool.get('spp.program')
    try:
        _, program_id = timed(database,
            lambda: setup(server.fake, options.batch_size))
        with connect(options.uri, database, autocommit=True) as connection:
            # Statistics of the tables the SQL filled (as autovacuum would).
            connection.execute('VACUUM ANALYZE')
        runs = []
        for _ in range(options.repeat):
            timed(database, lambda: clear_marks(program_id))
            with connect(options.uri, database,
                    autocommit=True) as connection:
                # The dead rows of the clearing gone, as after autovacuum.
                connection.execute('VACUUM ANALYZE spp_program_membership')
            before = server.received()
            seconds, _ = timed(database,
                lambda: Program.ibr_send_updates([Program(program_id)]))
            after = server.received()
            runs.append((seconds, after['messages'] - before['messages'],
                    after['beneficiaries'] - before['beneficiaries'],
                    CPU['last'], after['cpu'] - before['cpu']))
        seconds = statistics.median(r[0] for r in runs)
        _, memberships_batches, sent, our_cpu, ibr_cpu = min(runs)
        idle_s, _ = timed(database,
            lambda: Program.ibr_send_updates([Program(program_id)]))
        _, changed = timed(database,
            lambda: change_some(program_id, options.changed_share))
        before = server.received()
        changed_s, _ = timed(database,
            lambda: Program.ibr_send_updates([Program(program_id)]))
        changed_sent = (server.received()['beneficiaries']
            - before['beneficiaries'])
        with Transaction().start(database, 0, readonly=True):
            status = Program(program_id).ibr_send_status
    finally:
        server.stop()
    result = {
        'memberships': sent,
        'batches': memberships_batches,
        'batch_size': options.batch_size,
        'seconds': round(seconds, 2),
        'per_second': round(sent / seconds) if seconds else None,
        'repeat': options.repeat,
        'runs_seconds': [round(r[0], 2) for r in runs],
        'signed': options.sign,
        'our_cpu_s': round(our_cpu, 2),
        'fake_ibr_cpu_s': round(ibr_cpu, 2),
        'extrapolated_900000_s': round(900_000 / (sent / seconds), 1)
        if sent and seconds else None,
        'nothing_to_send_s': round(idle_s, 3),
        'changed': changed,
        'changed_sent': changed_sent,
        'changed_s': round(changed_s, 2),
        'status': status,
        'build_s': round(build_s, 1),
        'load_average_1min': round(os.getloadavg()[0], 1),
        }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'dci_ibr_{options.size}.json').write_text(
        json.dumps(result, indent=2) + '\n')


if __name__ == '__main__':
    main()
