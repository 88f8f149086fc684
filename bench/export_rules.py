#!/usr/bin/env python3
"""Export with the area rules checked in SQL: what the check costs.

A registry of --households households (2 members each, an ID and a phone
on each member) in two districts; a registrar of one district exports
their households with `name` and `memberships/individual/identifiers/code`
(the export follows memberships to individuals to IDs: every record it
reaches is checked against the read rules). Measured, the best of
--repeat:

- registrar: the export as the area-limited registrar (rules checked in
  SQL, one query per batch of records of a model);
- registrar_python: the same export with trytond's own Python check
  (which lets every record through: the figure of the unsafe path);
- validator: the same records as a user without area rules.

    .venv/bin/python -O bench/export_rules.py [--households N]

Runs on SQLite in memory (DB_NAME=:memory:), or on PostgreSQL with
--uri postgresql://...; prints JSON and writes
bench/results/export_rules.json."""
import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'bench' / 'results'
FIELDS = ['name', 'memberships/individual/name',
    'memberships/individual/identifiers/code']


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--households', type=int, default=5000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--uri', help="PostgreSQL server URI")
    parser.add_argument('--output',
        default=str(RESULTS / 'export_rules.json'))
    return parser.parse_args()


def populate(households):
    "Households in districts A and B, alternately; return users, A's ids."
    from trytond.modules.spp_registry.tests.tools import (
        create_areas, get_ref)
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    User = pool.get('res.user')
    areas = create_areas()
    district = [areas['TL-N-A'], areas['TL-N-B']]
    own = []
    for start in range(0, households, 500):
        count = min(500, households - start)
        groups = Party.create([{
                    'registrant_type': 'group', 'name': f"Household {i}",
                    'area': district[i % 2].id,
                    } for i in range(start, start + count)])
        members = Party.create([{
                    'registrant_type': 'individual',
                    'name': f"Member {i}-{n}", 'area': group.area.id,
                    'identifiers': [('create', [{'type': 'passport',
                                    'code': f'P{i:07d}{n}'}])],
                    'contact_mechanisms': [('create', [{'type': 'phone',
                                    'value': '+63 917 555 0101'}])],
                    'group_memberships': [('create', [
                                {'group': group.id}])],
                    } for i, group in zip(
                    range(start, start + count), groups) for n in range(2)])
        assert len(members) == 2 * count
        own += [g.id for g in groups if g.area == district[0]]
    registrar, validator = User.create([{
                'name': name, 'login': login,
                'groups': [('add', [get_ref('spp_registry', group)])],
                'spp_areas': [('add', [district[0].id])],
                } for name, login, group in [
                ("Registrar", 'registrar', 'group_registrar'),
                ("Validator", 'validator', 'group_registry_validator')]])
    return registrar, validator, own


def timed_export(user, ids, repeat):
    from trytond.pool import Pool
    from trytond.transaction import Transaction, check_access
    Party = Pool().get('party.party')
    best, rows = None, None
    for _ in range(repeat):
        with Transaction().set_user(user.id), check_access():
            Transaction().counter += 1  # a new export: no cached checks
            start = time.perf_counter()
            rows = Party.export_data(Party.browse(ids), FIELDS)
            elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, len(rows)


def main():
    options = parse_arguments()
    if options.uri:
        os.environ['TRYTOND_DATABASE__URI'] = options.uri
        os.environ.setdefault('DB_NAME', 'bench_export_rules')
    else:
        os.environ['DB_NAME'] = ':memory:'
    from trytond.model import modelstorage
    from trytond.modules.spp_registry import record_rules
    from trytond.tests.test_tryton import activate_module, drop_db
    from trytond.tests.test_tryton import with_transaction
    drop_db()
    activate_module('spp_registry')

    @with_transaction()
    def run():
        start = time.perf_counter()
        registrar, validator, own = populate(options.households)
        populate_seconds = time.perf_counter() - start
        figures = {'households': options.households,
            'exported_households': len(own),
            'fields': FIELDS, 'populate_seconds': round(populate_seconds, 1)}
        for label, user in [
                ('registrar', registrar), ('validator', validator)]:
            seconds, rows = timed_export(user, own, options.repeat)
            figures[label] = {'seconds': round(seconds, 3), 'rows': rows}
        modelstorage.eval_domain = record_rules._python_eval_domain
        try:
            seconds, rows = timed_export(registrar, own, options.repeat)
        finally:
            record_rules.install()
        figures['registrar_python'] = {'seconds': round(seconds, 3),
            'rows': rows}
        figures['sql_check_over_python'] = round(
            figures['registrar']['seconds'] / seconds, 2)
        figures['registrar_over_validator'] = round(
            figures['registrar']['seconds']
            / figures['validator']['seconds'], 2)
        return figures
    figures = run()
    drop_db()
    text = json.dumps(figures, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    Path(options.output).write_text(text + '\n')


if __name__ == '__main__':
    sys.exit(main())
