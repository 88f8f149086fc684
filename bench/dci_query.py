#!/usr/bin/env python3
"""Benchmark of DCI `expression` / `predicate` searches at N concurrent
clients against gunicorn on PostgreSQL. Prints JSON figures and writes
bench/results/dci_query_<size>.json.

    .venv/bin/python bench/dci_query.py --size 100000 --clients 20

The population and API client are bench/api.py's (individuals B1..Bsize,
birth dates spread over 25,000 days). Queries:
- selective: an expression on a one-day birth date range and the family
  name (about size/25,000 matches), page of 100;
- broad: a predicate matching every bench individual, page 1 of 200, so the
  answer counts them all (pagination.total_count).
"""
import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as bench_api  # noqa: E402
import load  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
BASE_DATE = dt.date(1950, 1, 1)


def body(kind, rng):
    now = time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime())
    if kind == 'selective':
        day = BASE_DATE + dt.timedelta(days=rng.randint(0, 24999))
        criteria = {'query_type': 'expression', 'query': {
                'type': 'ns:org:QueryType:NoSql', 'value': {'expression': {
                        'collection': 'Member', 'query': {'$and': [
                                {'family_name': 'Bench'},
                                {'birth_date': {'$gte': day.isoformat()}},
                                {'birth_date': {'$lt': (day + dt.timedelta(
                                                days=1)).isoformat()}}]}}}},
            'pagination': {'page_size': 100}}
    else:
        criteria = {'query_type': 'predicate', 'query': [{
                    'seq_num': 1, 'expression1': {
                        'attribute_name': 'family_name', 'operator': 'eq',
                        'attribute_value': 'Bench'}}],
            'pagination': {'page_size': 200, 'page_number': 1}}
    return json.dumps({
            'header': {'version': '1.0.0', 'message_id': 'm',
                'message_ts': now, 'action': 'search',
                'sender_id': 'bench', 'total_count': 1},
            'message': {'transaction_id': 't', 'search_request': [{
                        'reference_id': 'r', 'timestamp': now,
                        'search_criteria': criteria}]}})


def answered(status, data):
    "A successful search: its total count of matches."
    item = json.loads(data)['message']['search_response'][0]
    ok = status == 200 and item['status'] == 'succ'
    return ok, item['pagination']['total_count'] if ok else None


def run(options, port, key, kind, clients, duration):
    headers = {'Authorization': f'Bearer {key}',
        'Content-Type': 'application/json'}
    path = f'/{options.database}/api/v1/registry/sync/search'
    latencies, errors, matches = load.drive(port, headers,
        lambda rng: ('POST', path, body(kind, rng)), clients, duration,
        check=answered, timeout=120)
    return {
        **load.summary(latencies, errors, duration),
        'mean_total_count': (round(statistics.mean(matches), 1)
            if matches else None),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--uri', default=os.environ.get(
            'SPP_DATABASE_URI', 'postgresql://postgres@127.0.0.1:5432/'))
    parser.add_argument('--database', default='bench_dci')
    parser.add_argument('--reset', action='store_true')
    parser.add_argument('--size', type=int, default=100_000)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--clients', type=int, default=20)
    parser.add_argument('--duration', type=float, default=15)
    options = parser.parse_args()

    bench_api.ensure_database(options)
    bench_api.populate(options)
    key = bench_api.make_client(options)
    figures = {'size': options.size, 'workers': options.workers,
        'clients': options.clients, 'cpus': os.cpu_count()}
    with bench_api.gunicorn(options) as port:
        run(options, port, key, 'selective', 2, 2)
        for kind in ['selective', 'broad']:
            # One client: the latency of a query alone; N: the throughput.
            figures[kind] = {}
            for clients in sorted({1, options.clients}):
                bench_api.log(f"{kind} queries, {clients} clients")
                figures[kind][f'clients_{clients}'] = run(options, port,
                    key, kind, clients, options.duration)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'dci_query_{options.size}.json').write_text(
        json.dumps(figures, indent=2) + '\n')
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
