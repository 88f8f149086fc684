"""spp-registry-import: import households and individuals from the shell.

    spp-registry-import -c trytond.conf -d DB file.csv \\
        [--skip-invalid] [--report errors.csv] [--user admin]

The rules are those of the Import Registrants wizard (see
docs/caseworker-import.md). The summary goes to stderr and the error report
to --report (stdout by default). Exit status: 0 all imported, 1 nothing
imported (invalid rows; the database is unchanged), 3 the valid households
imported and the others skipped (--skip-invalid), 2 bad arguments.

trytond reads its configuration when first imported, so this module imports
nothing of trytond but its config before the options are read."""
import argparse
import logging
import os
import sys

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_PARTIAL = 3


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(
        prog='spp-registry-import',
        description="Import households and individuals from a CSV or XLSX "
        "file, one row per individual.")
    parser.add_argument('-c', '--config', dest='configfile',
        default=os.environ.get('TRYTOND_CONFIG'),
        help="trytond configuration file (default: $TRYTOND_CONFIG)")
    parser.add_argument('-d', '--database', required=True,
        help="database name")
    parser.add_argument('file', help="CSV or XLSX file")
    parser.add_argument('--skip-invalid', action='store_true',
        help="import the households whose rows are all valid and report "
        "the others (default: any invalid row stops the whole import)")
    parser.add_argument('--report', metavar='PATH', default='-',
        help="where to write the error report as CSV (default: stdout)")
    parser.add_argument('--user', default='admin',
        help="login of the user the import runs as (default: admin); "
        "a registrar is limited to their areas")
    return parser.parse_args(argv)


def run_import(data, filename, skip_invalid, report, out=sys.stderr):
    """Import `data` in the current transaction; write the error report to
    the text stream `report` and the summary to `out`; return the exit
    status."""
    from .registry_import import error_report, import_registrants
    result = import_registrants(data, filename, skip_invalid=skip_invalid)
    print(result.summary, file=out)
    if result.errors:
        report.write(error_report(result.errors))
    if not result.errors:
        return EXIT_OK
    return EXIT_PARTIAL if result.group_ids else EXIT_REJECTED


def main(argv=None):
    options = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING)
    from trytond import config
    config.update_etc(options.configfile)

    from trytond.pool import Pool
    from trytond.transaction import Transaction, check_access

    try:
        with open(options.file, 'rb') as file:
            data = file.read()
    except OSError as exception:
        print(exception, file=sys.stderr)
        return 2
    database = options.database
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
        User = pool.get('res.user')
        users = User.search([('login', '=', options.user)])
        if not users:
            print(f"No active user with the login {options.user!r}.",
                file=sys.stderr)
            return 2
        user_id = users[0].id
    with Transaction().start(database, user_id) as transaction:
        with transaction.set_context(
                User.get_preferences(context_only=True)), check_access():
            if options.report == '-':
                status = run_import(data, options.file, options.skip_invalid,
                    sys.stdout)
            else:
                with open(options.report, 'w', encoding='utf-8',
                        newline='') as report:
                    status = run_import(data, options.file,
                        options.skip_invalid, report)
        if status == EXIT_REJECTED:
            transaction.rollback()
    return status


if __name__ == '__main__':
    sys.exit(main())
