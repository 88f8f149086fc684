#!/usr/bin/env python3
"""Growth of each stage with the population, from bench/results/run_*.json.

    .venv/bin/python bench/plot.py          (make bench runs it)

Draws seconds per stage against households on log-log axes
(bench/results/growth.png; a dotted line of slope 1 shows linear growth)
and writes the table of every measured figure into docs/performance.md
between the markers <!-- bench:table --> and <!-- /bench:table -->, so that
no figure of the document is typed by hand.
"""
import json
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / 'results'
DOC = BENCH.parent / 'docs' / 'performance.md'
PNG = RESULTS / 'growth.png'
FIXED_DURATION = {'api_lookups'}
START, END = '<!-- bench:table -->', '<!-- /bench:table -->'
MACHINE = '<!-- bench:machine -->', '<!-- /bench:machine -->'
COMPARE = '<!-- bench:compare -->', '<!-- /bench:compare -->'


def load_runs(pattern='run_*.json'):
    runs = []
    for path in sorted(RESULTS.glob(pattern)):
        figures = json.loads(path.read_text())
        figures['_file'] = path.name
        runs.append(figures)
    runs.sort(key=lambda r: (r['postgresql']['profile'], r['size']))
    return runs


def plot(runs):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tuned = [r for r in runs if r['postgresql']['profile'] == 'tuned']
    series = {}
    for run in tuned:
        for stage in run['stages']:
            # API lookups run for a fixed time: their seconds do not grow.
            if (stage.get('status') == 'measured' and stage.get('seconds')
                    and stage['stage'] not in FIXED_DURATION):
                series.setdefault(stage['stage'], []).append(
                    (run['size'], stage['seconds']))
    figure, axes = plt.subplots(figsize=(8, 5.5))
    for name, points in series.items():
        points.sort()
        axes.plot([p[0] for p in points], [p[1] for p in points],
            marker='o', label=name)
    sizes = sorted({r['size'] for r in tuned})
    if len(sizes) > 1:
        first = min(min(p[1] for p in pts) for pts in series.values())
        axes.plot(sizes, [first * s / sizes[0] for s in sizes], ':',
            color='grey', label='linear (slope 1)')
    axes.set_xscale('log')
    axes.set_yscale('log')
    axes.set_xlabel('households')
    axes.set_ylabel('seconds')
    axes.set_title('Seconds per stage against population (PostgreSQL, '
        'tuned settings)')
    axes.grid(True, which='both', alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(PNG, dpi=110)
    return PNG


def _number(value, digits=1):
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:,.{digits}f}'
    return f'{value:,}'


def table(runs):
    lines = ['| households | settings | stage | status | rows | seconds '
        '| rows/s | ORM path (extrapolated s) | SQL floor (s) | ratios |',
        '| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |']
    for run in runs:
        for stage in run['stages']:
            orm, floor = stage.get('orm') or {}, stage.get('floor') or {}
            ratios = ', '.join(f'{k} {v}' for k, v in
                (stage.get('ratios') or {}).items())
            lines.append('| ' + ' | '.join([
                        _number(run['size']), run['postgresql']['profile'],
                        stage['stage'], stage['status'],
                        _number(stage.get('rows')),
                        _number(stage.get('seconds'), 2),
                        _number(stage.get('rows_per_s')),
                        _number(orm.get('extrapolated_seconds')),
                        _number(floor.get('seconds'), 2), ratios]) + ' |')
    lines.append('')
    lines.append('Sources: ' + ', '.join(
            f'`bench/results/{r["_file"]}`' for r in runs) + '.')
    return '\n'.join(lines)


# Runs before current_setting() was used wrote setting || unit: for these
# settings the unit is 8kB pages.
PAGES = {'shared_buffers', 'effective_cache_size', 'wal_buffers'}


def _setting(name, value):
    if name in PAGES and value.endswith('8kB') and value[:-3].isdigit():
        kilobytes = int(value[:-3]) * 8
        if kilobytes % (1024 * 1024) == 0:
            return f'{kilobytes // (1024 * 1024)}GB'
        if kilobytes % 1024 == 0:
            return f'{kilobytes // 1024}MB'
        return f'{kilobytes}kB'
    return value


def machine(runs):
    "The machines and server settings the runs recorded."
    lines = ['| run | date (UTC) | CPUs | RAM (GB) | load average start / end '
        '| PostgreSQL | server | settings in effect '
        '| needing a restart (not applied) |',
        '| --- | --- | ---: | ---: | --- | --- | --- | --- | --- |']
    for run in runs:
        box, server = run['machine'], run['postgresql']
        load = ' / '.join(
            f"{box.get(k, [0])[0]:.1f}" for k in [
                'load_average_at_start', 'load_average_at_end'])
        settings = ', '.join(f'{k}={_setting(k, v)}' for k, v in
            server['effective'].items())
        lines.append(f"| `{run['_file']}` | {run.get('date', '')} "
            f"| {box['cpus']} | {box['ram_gb']} "
            f"| {load} | {server['server_version']} "
            f"| {server.get('server', 'shared server, ALTER SYSTEM')} "
            f"| {settings} "
            f"| {', '.join(server['needs_restart_not_applied']) or '-'} |")
    return '\n'.join(lines)


def compare(runs):
    """Stage seconds with PostgreSQL's default settings next to the tuned
    ones, for each size measured both ways (bench/results/compare_*.json,
    runs made one after the other for that purpose)."""
    by_key = {(r['size'], r['postgresql']['profile']): r for r in runs}
    lines = ['| households | stage | default settings (s) '
        '| tuned settings (s) | default / tuned | load average '
        '(default run / tuned run) |',
        '| ---: | --- | ---: | ---: | ---: | --- |']
    for size in sorted({r['size'] for r in runs}):
        default, tuned = by_key.get((size, 'default')), by_key.get(
            (size, 'tuned'))
        if not default or not tuned:
            continue
        tuned_stages = {s['stage']: s for s in tuned['stages']}
        tuned_stages.update(_parts(tuned))

        def load(run):
            box = run['machine']
            return '-'.join(f"{box.get(k, [0])[0]:.1f}" for k in [
                    'load_average_at_start', 'load_average_at_end'])
        for stage in default['stages'] + list(_parts(default).values()):
            other = tuned_stages.get(stage['stage'], {})
            if stage.get('status') != 'measured' or other.get(
                    'status') != 'measured':
                continue
            if stage['stage'] in FIXED_DURATION:
                continue
            ratio = (stage['seconds'] / other['seconds']
                if other.get('seconds') else None)
            lines.append('| ' + ' | '.join([_number(size), stage['stage'],
                        _number(stage['seconds'], 2),
                        _number(other['seconds'], 2),
                        _number(ratio, 2) if ratio else '',
                        f"{load(default)} / {load(tuned)}"]) + ' |')
    if len(lines) == 2:
        return 'No size was measured with both profiles yet.'
    lines.append('')
    lines.append('Sources: ' + ', '.join(
            f'`bench/results/{r["_file"]}`' for r in runs) + '.')
    return '\n'.join(lines)


def _parts(run):
    "Parts of the generate stage that its details time, as pseudo-stages."
    parts = {}
    for stage in run['stages']:
        if stage['stage'] != 'generate' or stage.get('status') != 'measured':
            continue
        details = stage.get('details') or {}
        tables = details.get('table_seconds') or {}
        for name, seconds in [
                ('COPY and history rows, all tables', sum(tables.values())
                    if tables else None),
                ('index rebuild', details.get('index_seconds')),
                ('constraint rebuild', details.get('constraint_seconds')),
                ('VACUUM ANALYZE after the load',
                    details.get('vacuum_analyze_seconds'))]:
            if seconds:
                key = f'generate: {name}'
                parts[key] = {'stage': key, 'status': 'measured',
                    'seconds': round(seconds, 3)}
    return parts


def write_section(markers, text):
    start, end = markers
    if not DOC.exists():
        return False
    document = DOC.read_text()
    pattern = re.compile(re.escape(start) + '.*?' + re.escape(end), re.S)
    if not pattern.search(document):
        return False
    DOC.write_text(pattern.sub(
            lambda _: f'{start}\n{text}\n{end}', document))
    return True


def main():
    runs = load_runs()
    if not runs:
        print("no bench/results/run_*.json yet", file=sys.stderr)
        return 1
    print(f"plot: {plot(runs)}", file=sys.stderr)
    text = table(runs)
    if write_section((START, END), text):
        pairs = load_runs('compare_*.json')
        write_section(MACHINE, machine(runs + pairs))
        write_section(COMPARE, compare(pairs))
        print(f"tables written into {DOC}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
