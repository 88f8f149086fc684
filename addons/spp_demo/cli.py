"""spp-demo: generate a synthetic population into a Tryton database.

    spp-demo generate --households 1000000 --seed 7 -d DB [-c trytond.conf]
                      [--country PH] [--locale en_PH] [--jobs 2]

Areas are created when missing; households continue after those already
registered, so a second run adds new ones. The households are written in
one transaction: a run interrupted while loading leaves the database as it
was. In bulk mode (large loads on PostgreSQL) the indexes are then rebuilt
on --jobs connections, which need the rows committed: a run interrupted
while rebuilding leaves the rows and the plan of the rebuild, and the next
run (`--households 0` to add none) finishes it. `--jobs 1` keeps the
rebuild in the load's transaction (slower, all or nothing).
"""
import argparse
import json
import sys
import time

LOCALES = {'PH': 'en_PH', 'US': 'en_US', 'GB': 'en_GB', 'IN': 'en_IN',
    'KE': 'en_KE', 'NG': 'en_NG', 'BD': 'bn_BD', 'ID': 'id_ID',
    'FR': 'fr_FR', 'ES': 'es_ES', 'MX': 'es_MX', 'BR': 'pt_BR'}


def parse(argv):
    parser = argparse.ArgumentParser(prog='spp-demo',
        description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    generate = commands.add_parser('generate',
        help="generate households (and areas when missing)")
    generate.add_argument('-d', '--database', required=True)
    generate.add_argument('-c', '--config', action='append', default=[],
        help="trytond configuration file (repeatable)")
    generate.add_argument('--households', type=int, required=True)
    generate.add_argument('--seed', type=int, default=7)
    generate.add_argument('--country', default='PH',
        help="ISO code of the country of phone numbers (default PH)")
    generate.add_argument('--locale', help="Faker locale of names "
        "(default from the country, e.g. en_PH)")
    generate.add_argument('--start', type=int, help="index of the first "
        "household (default: after the existing ones)")
    generate.add_argument('--bulk', action=argparse.BooleanOptionalAction,
        help="build indexes after the load (default: from 20,000 "
        "households on PostgreSQL)")
    generate.add_argument('--jobs', type=int, help="connections "
        "rebuilding the indexes after a bulk load (default 2; 1: in the "
        "load's transaction)")
    generate.add_argument('--quiet', action='store_true')
    return parser.parse_args(argv)


def run_generate(options):
    from trytond import config
    if options.config:
        config.update_etc(options.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from .generate import REBUILD_JOBS, generate_population

    locale = options.locale or LOCALES.get(options.country.upper(), 'en_US')
    Pool.start()
    pool = Pool(options.database)
    pool.init()

    def progress(done, total, seconds):
        if not options.quiet:
            print(f"  {done:>10,} / {total:,} households  {seconds:8.1f} s",
                file=sys.stderr, flush=True)

    with Transaction().start(options.database, 0) as transaction:
        User = pool.get('res.user')
        with transaction.set_context(
                User.get_preferences(context_only=True)):
            figures = generate_population(options.households,
                seed=options.seed, country=options.country.upper(),
                locale=locale, start=options.start, progress=progress,
                bulk=options.bulk, jobs=options.jobs or REBUILD_JOBS)
        committed = time.perf_counter()
        transaction.commit()
        figures['commit_seconds'] = round(
            time.perf_counter() - committed, 3)
    return figures


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    if options.command == 'generate':
        figures = run_generate(options)
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
