"""The log filters on records shaped as werkzeug, gunicorn and trytond's
dispatcher make them (issue 18, D6, D7; tests/test_logs.py runs servers).
No database: plain unittest."""
import logging
import unittest

from trytond.modules.spp_registry.log_privacy import (
    CallFilter, UrlFilter, install, mask_urls)
from trytond.tools.logging import format_args

NUMBER = '4659694105'
NAME = 'Fletcher'


def record(name, msg, args, exc_info=None):
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args,
        exc_info)


def formatted(filter_, record):
    assert filter_.filter(record)
    return logging.Formatter('%(message)s').format(record)


class LogPrivacyTestCase(unittest.TestCase):
    "Log filters"

    def test_mask_urls(self):
        "API path values and query values are masked, route words kept"
        for line, expected in [
                (f'"GET /spp/api/v1/individuals/national_id%7C{NUMBER} '
                    'HTTP/1.1" 404 -',
                    '"GET /spp/api/v1/individuals/* HTTP/1.1" 404 -'),
                (f'"GET /spp/api/v1/groups/national_id|{NUMBER}" 200',
                    '"GET /spp/api/v1/groups/*" 200'),
                (f'GET /spp/api/v1/individuals?id=national_id|{NUMBER}'
                    '&limit=5 HTTP/1.1',
                    'GET /spp/api/v1/individuals?id=*&limit=* HTTP/1.1'),
                ('GET /spp/api/v1/programs/CASH/memberships/IND-7 x',
                    'GET /spp/api/v1/programs/*/memberships/* x'),
                # Raw quotes: the closing one stays, as around a URL.
                (f'GET /spp/api/v1/individuals/a"{NUMBER}" HTTP/1.1',
                    'GET /spp/api/v1/individuals/*" HTTP/1.1'),
                (f'GET /spp/data/party.party?d=[["name","=","{NAME}"]] x',
                    'GET /spp/data/party.party?d=* x'),
                ('POST /spp/api/v1/registry/sync/search HTTP/1.1',
                    'POST /spp/api/v1/registry/sync/search HTTP/1.1'),
                ('POST /spp/rpc/ HTTP/1.1', 'POST /spp/rpc/ HTTP/1.1'),
                ]:
            self.assertEqual(mask_urls(line), expected)

    def test_access_lines(self):
        "werkzeug's and gunicorn's access records lose the values"
        werkzeug = record('werkzeug', '127.0.0.1 - - [x] "%s" %s %s',
            (f'GET /spp/api/v1/individuals/national_id|{NUMBER} HTTP/1.1',
                '200', '-'))
        gunicorn = record('gunicorn.access', '%(h)s "%(r)s" %(s)s', ({
                    'h': '127.0.0.1', 's': '200',
                    'r': f'GET /spp/api/v1/individuals?id={NUMBER} '
                    'HTTP/1.1'},))
        for access in [werkzeug, gunicorn]:
            line = formatted(UrlFilter(), access)
            self.assertNotIn(NUMBER, line)
            self.assertIn('/api/v1/individuals', line)

    def test_call_without_arguments(self):
        "A failed call keeps method, user, path and duration, not its data"
        try:
            raise ValueError(f"Invalid isoformat string: '{NAME}'")
        except ValueError as exception:
            exc_info = (ValueError, exception, exception.__traceback__)
        call = record('trytond.protocols.dispatcher',
            '%s.%s%s from %s@%s%s in %i ms', ('party.party', 'create',
                format_args(([{'name': NAME, 'code': NUMBER}],), {}),
                'admin', '127.0.0.1', '/spp/rpc/', 43), exc_info)
        line = formatted(CallFilter(), call)
        self.assertNotIn(NAME, line)
        self.assertNotIn(NUMBER, line)
        self.assertTrue(line.startswith(
                'party.party.create(*) from admin@127.0.0.1/spp/rpc/ in 43 '
                'ms\nTraceback (most recent call last):'), line)
        self.assertIn('test_call_without_arguments', line)
        self.assertIn('ValueError: (message withheld from the log)', line)

        result = record('trytond.protocols.dispatcher', 'Result: %r',
            ([{'name': NAME}],))
        self.assertNotIn(NAME, formatted(CallFilter(), result))
        # Another message of the dispatcher: its call data goes too.
        other = record('trytond.protocols.dispatcher', 'calling %s %s',
            ('party.party.create', format_args(([NAME],), {})))
        self.assertEqual(formatted(CallFilter(), other),
            'calling party.party.create (*)')

    def test_chained_exceptions(self):
        "Every exception of a chain loses its message"
        try:
            try:
                raise KeyError(NUMBER)
            except KeyError as cause:
                raise RuntimeError(NAME) from cause
        except RuntimeError as exception:
            exc_info = (RuntimeError, exception, exception.__traceback__)
        line = formatted(UrlFilter(),
            record('trytond.worker', 'task failed', (), exc_info))
        self.assertNotIn(NAME, line)
        self.assertNotIn(NUMBER, line)
        self.assertIn('KeyError: (message withheld', line)
        self.assertIn('direct cause', line)
        self.assertIn('RuntimeError: (message withheld', line)

    def test_code_exceptions_keep_their_message(self):
        "A missing module or attribute is named: it is code, not data"
        try:
            import spp_no_such_module  # noqa: F401
        except ImportError as exception:
            exc_info = (ImportError, exception, exception.__traceback__)
        line = formatted(UrlFilter(),
            record('gunicorn.error', 'Exception in worker process', (),
                exc_info))
        self.assertIn("No module named 'spp_no_such_module'", line)

    def test_installed(self):
        "The filters are on their loggers once, however often installed"
        install()
        install()
        for name, kind in [('werkzeug', UrlFilter),
                ('gunicorn.access', UrlFilter),
                ('trytond.protocols.dispatcher', CallFilter)]:
            filters = logging.getLogger(name).filters
            self.assertEqual(
                [f for f in filters if isinstance(f, kind)].__len__(), 1)
