#!/usr/bin/env python3
"""Registry import benchmark: the bulk path against the per-row ORM path.

On PostgreSQL, in a fresh database with spp_registry installed, it generates
(deterministically, from --seed) a CSV of --individuals individuals in about
--households households, imports it through the bulk path (the wizard's and
spp-registry-import's: COPY into the real tables, history rows by INSERT …
SELECT, one indicator recompute; registry_import_bulk.py), then imports
--sample-row files through the per-row ORM path (one create per row, IDs,
contacts and membership nested), the batched ORM path (one create per batch
of records: the import's previous write path, kept for models with
creation triggers) and the bulk path. Every figure is end to end: reading
and validating the file, writing, recomputing indicators and committing.

    .venv/bin/python -O bench/registry_import.py [--individuals 100000]

prints JSON and writes it to bench/results/registry_import.json. `python -O`
drops the ORM's per-record asserts (about 1.5x faster writes); the JSON
says whether it was on.
"""
import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results' / 'registry_import.json'
HEADER = ['household_ref', 'household_name', 'role', 'family_name',
    'given_name', 'additional_name', 'birth_date', 'birth_date_approximate',
    'gender', 'disability', 'phone', 'email', 'area_code', 'id_national_id',
    'id_birth_certificate']
# Household sizes 1-8 with a mean of 4.
SIZES = [1, 2, 3, 4, 5, 6, 7, 8]
SIZE_WEIGHTS = [8, 14, 18, 20, 16, 11, 8, 5]
DISTRICTS = 50
# The batched ORM path as the import ran it before the bulk path.
ORM_BATCH_SIZE = 1000


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_BENCH_POSTGRESQL', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='bench_import')
    parser.add_argument('--individuals', type=int, default=100_000)
    parser.add_argument('--households', type=int, default=25_000,
        help="about this many households (sizes are drawn at random)")
    parser.add_argument('--sample', type=int, default=5_000,
        help="rows of the per-row ORM comparison")
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--output', default=str(RESULTS))
    return parser.parse_args()


# Data ------------------------------------------------------------------

def luhn_id(number):
    from stdnum import luhn
    base = str(number)
    return base + luhn.calc_check_digit(base)


def household_sizes(rng, individuals, households):
    "Random sizes summing to `individuals`, about `households` of them."
    mean = sum(s * w for s, w in zip(SIZES, SIZE_WEIGHTS)) / sum(SIZE_WEIGHTS)
    scale = individuals / households / mean
    sizes, total = [], 0
    while total < individuals:
        size = max(1, round(rng.choices(SIZES, SIZE_WEIGHTS)[0] * scale))
        size = min(size, individuals - total)
        sizes.append(size)
        total += size
    return sizes


def generate_rows(seed, individuals, households, id_offset, ref_prefix):
    """Rows of a registry file: a head (adult), often a spouse, children,
    sometimes an elderly parent or another member; national IDs for adults,
    birth certificates for children, phones and some emails for heads."""
    from faker import Faker
    rng = random.Random(seed)
    fake = Faker('en_US')
    fake.seed_instance(seed)
    today = dt.date.today()
    serial = id_offset

    def born(min_age, max_age):
        return today - dt.timedelta(days=rng.randint(
                min_age * 365, max_age * 365 + 364))

    def member(ref, role, family, age_range, gender=None):
        nonlocal serial
        serial += 1
        gender = gender or rng.choice(['female', 'male'])
        given = (fake.first_name_female() if gender == 'female'
            else fake.first_name_male())
        birth_date = born(*age_range)
        adult = (today - birth_date).days >= 18 * 365
        return {
            'household_ref': ref, 'role': role, 'family_name': family,
            'given_name': given,
            'additional_name': fake.first_name() if rng.random() < .3 else '',
            'birth_date': birth_date.isoformat(),
            'birth_date_approximate': '1' if rng.random() < .03 else '0',
            'gender': gender,
            'disability': '1' if rng.random() < .05 else '0',
            'id_national_id': luhn_id(serial) if adult else '',
            'id_birth_certificate': '' if adult else f'BC-{serial}',
            }

    rows = []
    for number, size in enumerate(
            household_sizes(rng, individuals, households), start=1):
        ref = f'{ref_prefix}{number:06d}'
        family = fake.last_name()
        area = f'D{rng.randrange(DISTRICTS):02d}'
        head_gender = 'female' if rng.random() < .4 else 'male'
        members = [member(ref, 'head', family, (20, 80), head_gender)]
        head = members[0]
        head.update(household_name=f'{family} household', area_code=area,
            phone=f'+35191{rng.randrange(10**7):07d}')
        if rng.random() < .1:
            head['email'] = f'{ref.lower()}@example.org'
        if size >= 2 and rng.random() < .75:
            members.append(member(ref, 'spouse', family, (20, 75),
                    'male' if head_gender == 'female' else 'female'))
        while len(members) < size:
            kind = rng.random()
            if kind < .8:
                members.append(member(ref, 'child', family, (0, 25)))
            elif kind < .9:
                members.append(member(ref, 'parent', family, (60, 95)))
            else:
                members.append(member(ref, 'other', fake.last_name(),
                        (10, 70)))
        rows.extend(members)
    return rows


def to_csv(rows):
    output = io.StringIO()
    writer = csv.DictWriter(output, HEADER, lineterminator='\n')
    writer.writeheader()
    writer.writerows(rows)
    return output.getvalue().encode('utf-8')


# Database --------------------------------------------------------------

def create_database(uri, name):
    "Drop and create `name`, then install spp_registry with trytond-admin."
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
        admin = shutil.which('trytond-admin', path=str(
                Path(sys.executable).parent)) or 'trytond-admin'
        subprocess.run([admin, '-d', name, '-u', 'spp_registry',
                '--activate-dependencies', '--email', 'admin@example.org'],
            env=env, check=True, stdout=subprocess.DEVNULL)


def create_areas():
    "A country, five regions and DISTRICTS districts coded D00, D01..."
    from trytond.pool import Pool
    Area = Pool().get('spp.area')
    country, = Area.create([{'name': "Benchland", 'code': 'BL'}])
    regions = Area.create([{'name': f"Region {i}", 'code': f'R{i}',
                'parent': country.id} for i in range(5)])
    Area.create([{'name': f"District {i:02d}", 'code': f'D{i:02d}',
                'parent': regions[i % 5].id} for i in range(DISTRICTS)])


# Import paths ----------------------------------------------------------

def create_households_per_row(households, reference):
    """The naive path: one ORM create per household and one per member row,
    its identifiers, contacts and membership nested in it."""
    from trytond.modules.spp_registry import registry_import_write as write
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    group_ids = []
    for household in households:
        group, = Party.create([write.group_values(household, reference)])
        group_ids.append(group.id)
        for member in household.members:
            values = write.individual_values(member, household, reference)
            values['identifiers'] = [('create', [
                        {'type': t, 'code': c}
                        for _, t, c in member.identifiers])]
            values['contact_mechanisms'] = [('create', member.contacts)]
            values['group_memberships'] = [('create', [{
                            'group': group.id,
                            'roles': [('add', [reference.roles[c][0]
                                        for c in member.roles])],
                            }])]
            Party.create([values])
    Party.recompute_indicators(group_ids)
    return group_ids


class Phases:
    """Time spent in the import's steps, by wrapping its module functions;
    the bulk writer's own figures per table and step are added up."""

    def __init__(self, module, bulk):
        self.module = module
        self.bulk = bulk
        self.seconds = defaultdict(float)
        self.originals = []

    def __enter__(self):
        from trytond.modules.spp_registry import (
            registry_import_plan, registry_import_read, registry_import_write)

        # The import's steps are called in the modules that define them,
        # and this benchmark calls some through registry_import: both.
        modules = [self.module, registry_import_read, registry_import_plan,
            registry_import_write]
        for name in ['read_table', 'validate', 'create_households',
                'create_households_orm']:
            for module in modules:
                if module.__dict__.get(name):
                    self._wrap(module, name, lambda name, *a, **k: name)
        self._wrap(registry_import_write, 'create_batched',
            lambda name, Model, *a, **k: f'create {Model.__name__}')
        original = self.bulk.write_households

        def write_households(*args, **kwargs):
            group_ids, writer = original(*args, **kwargs)
            for table, seconds in writer.seconds.items():
                self.seconds[f'bulk {table}'] += seconds
            return group_ids, writer
        self.originals.append((self.bulk, 'write_households', original))
        self.bulk.write_households = write_households
        return self

    def _wrap(self, module, name, key):
        original = getattr(module, name)
        self.originals.append((module, name, original))

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key(name, *args, **kwargs)] += (
                    time.perf_counter() - start)
        setattr(module, name, timed)

    def __exit__(self, *exc):
        for module, name, original in reversed(self.originals):
            setattr(module, name, original)

    def report(self):
        seconds = dict(self.seconds)
        return {k: round(v, 2) for k, v in seconds.items()}


def run(database, user_id, data, path):
    """Import `data` by `path` ('bulk', 'batched_orm' or 'per_row') in one
    transaction."""
    from trytond.modules.spp_registry import registry_import as ri
    from trytond.modules.spp_registry import registry_import_bulk as bulk
    from trytond.transaction import Transaction, check_access
    start = time.perf_counter()
    with Transaction().start(database, user_id) as transaction, \
            check_access(), Phases(ri, bulk) as phases:
        if path == 'bulk':
            result = ri.import_registrants(data, 'bench.csv')
            assert not result.errors, result.errors[:5]
            households, individuals = result.households, result.individuals
        else:
            header, rows = ri.read_table(data, 'bench.csv')
            plan = ri.validate(header, rows)
            assert not plan.errors, plan.errors[:5]
            households = list(plan.households.values())
            if path == 'per_row':
                create_households_per_row(households, plan.reference)
            else:
                ri.create_households_orm(
                    households, plan.reference, ORM_BATCH_SIZE)
            households = len(plan.households)
            individuals = len(rows)
        transaction.commit()
    seconds = time.perf_counter() - start
    return {
        'individuals': individuals,
        'households': households,
        'seconds': round(seconds, 2),
        'individuals_per_s': round(individuals / seconds, 1),
        'phases_s': phases.report(),
        }


def main():
    options = parse_arguments()
    os.environ['TRYTOND_DATABASE__URI'] = options.uri
    os.environ.pop('TRYTOND_CONFIG', None)
    started = time.perf_counter()
    create_database(options.uri, options.database)
    setup_seconds = time.perf_counter() - started

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    database = options.database
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    with Transaction().start(database, 0):
        create_areas()
        admin, = pool.get('res.user').search([('login', '=', 'admin')])
        user_id = admin.id

    big = to_csv(generate_rows(options.seed, options.individuals,
            options.households, 100_000_000, 'H'))
    households = options.households * options.sample // options.individuals
    per_row_data = to_csv(generate_rows(options.seed + 1, options.sample,
            households, 300_000_000, 'P'))
    bulk_sample_data = to_csv(generate_rows(options.seed + 2,
            options.sample, households, 400_000_000, 'S'))
    batched_data = to_csv(generate_rows(options.seed + 3,
            options.sample, households, 500_000_000, 'B'))

    # The smaller runs first, on the emptier database: it favours the
    # ORM paths, if anything.
    per_row = run(database, user_id, per_row_data, 'per_row')
    batched = run(database, user_id, batched_data, 'batched_orm')
    bulk_sample = run(database, user_id, bulk_sample_data, 'bulk')
    bulk = run(database, user_id, big, 'bulk')
    figures = {
        **{k: bulk[k] for k in ['individuals', 'households', 'seconds',
                'individuals_per_s']},
        'path': 'bulk: COPY into the tables (registry_import_bulk.py)',
        'phases_s': bulk['phases_s'],
        'per_row_orm': per_row,
        'batched_orm_same_sample_size': batched,
        'bulk_same_sample_size': bulk_sample,
        'ratio': round(
            bulk['individuals_per_s'] / per_row['individuals_per_s'], 1),
        'ratio_same_size': round(bulk_sample['individuals_per_s']
            / per_row['individuals_per_s'], 1),
        'ratio_to_batched_orm_same_size': round(
            bulk_sample['individuals_per_s']
            / batched['individuals_per_s'], 1),
        'batch_size': __import__(
            'trytond.modules.spp_registry.registry_import',
            fromlist=['BATCH_SIZE']).BATCH_SIZE,
        'orm_batch_size': ORM_BATCH_SIZE,
        'backend': 'postgresql',
        'python_optimize': bool(sys.flags.optimize),
        'seed': options.seed,
        'database_setup_s': round(setup_seconds, 1),
        'date': dt.date.today().isoformat(),
        'cpus': os.cpu_count(),
        'load_average_1min_at_end': round(os.getloadavg()[0], 1),
        }
    text = json.dumps(figures, indent=2)
    print(text)
    output = Path(options.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + '\n')


if __name__ == '__main__':
    main()
