"""Personal data kept out of the server logs.

`install()` runs when spp_registry is imported, which every trytond process
of a deployment does when its pool starts (trytond imports every available
module): the demo's werkzeug server, gunicorn's workers, trytond-worker,
trytond-cron, trytond-admin. The filters sit on the loggers that create the
records, so they apply whatever handlers a logging configuration adds.

- Request lines (werkzeug's access log, gunicorn's access and error logs,
  trytond.wsgi): a registrant's handle such as `national_id|4659694105` is
  in the URL of `GET /<db>/api/v1/individuals/<handle>`. Paths under
  `/api/v<n>/` keep their route words and lose every other segment
  (`/individuals/*`), and query strings keep their parameter names only
  (`?id=*`), on every URL (`/<db>/data/<model>?d=<domain>` holds names).
- trytond.protocols.dispatcher logs each call with its arguments (at ERROR
  when it fails: `party.party.create([{'family_name': …, 'code': …}])`) and
  at DEBUG its result: the method, user, address, path and duration stay,
  the arguments and results go.
- Exceptions keep their traceback and type but not their message, which
  quotes the data (`Invalid isoformat string: 'Danielle'`, PostgreSQL's
  `Key (code)=(8405170013) already exists`); the caller still receives the
  message in its answer. Messages that name code only (a missing module,
  name or attribute) stay.
"""
import logging
import re
import traceback

from trytond.tools.logging import format_args

WITHHELD = '*'
# Route words of the project's API (spp_api's paths); any other segment of
# an API path is a value and is masked. A new route word missing here is
# masked too: the log loses a word, never gains a value.
API_ROUTE_WORDS = frozenset({
        'individuals', 'groups', 'memberships', 'identifiers', 'areas',
        'programs', 'program_memberships', 'cycles', 'entitlements',
        'payments', 'status', 'lookup', 'search', 'openapi.json',
        'registry', 'sync', 'txn', 'oauth2', 'client', 'token',
        })
_API_PATH = re.compile(r'(/api/v\d+)((?:/[^/]*)*)$')
# Quotes and brackets around a URL in a log line (werkzeug's
# `"GET <url> HTTP/1.1"`, trytond's `<Request ... '<url>' [GET]>`).
_CLOSING = '\'"<>'


def _mask_api_path(match):
    segments = match.group(2).split('/')[1:]
    masked = [s if not s or s in API_ROUTE_WORDS else WITHHELD
        for s in segments]
    return match.group(1) + ''.join('/' + s for s in masked)


def _mask_token(match):
    token = match.group(0)
    if '?' not in token and '/api/v' not in token:
        return token
    # A URL runs to the next white space: a raw quote inside it (a client
    # that does not encode it) is part of the value.
    url = token.rstrip(_CLOSING)
    closing = token[len(url):]
    path, question_mark, query = url.partition('?')
    if query:
        query = '&'.join(p.split('=', 1)[0] + '=' + WITHHELD if '=' in p
            else (WITHHELD if p else p)
            for p in query.split('&'))
    path = _API_PATH.sub(_mask_api_path, path)
    return path + question_mark + query + closing


def mask_urls(text):
    "text with the values of the URLs in it masked."
    return re.sub(r'\S+', _mask_token, text)


# Exceptions whose message names code (a module, a name, an attribute),
# not a value: kept, so that a broken deployment says what is missing.
CODE_EXCEPTIONS = (ImportError, SyntaxError, NameError, AttributeError)


def _exception_chain(exception):
    "The exceptions behind exception (causes first), as traceback shows."
    chain, seen = [], set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        chain.append(exception)
        exception = (exception.__cause__
            or (None if exception.__suppress_context__
                else exception.__context__))
    return chain[::-1]


def format_exception_withheld(exception):
    "A traceback of exception with the messages of the exceptions withheld."
    lines = []
    chain = _exception_chain(exception)
    for position, link in enumerate(chain):
        if position:
            lines.append('\nDuring handling of the above exception, '
                'another exception occurred:\n\n'
                if link.__cause__ is not chain[position - 1]
                else '\nThe above exception was the direct cause of the '
                'following exception:\n\n')
        lines.append('Traceback (most recent call last):\n')
        lines.extend(traceback.format_tb(link.__traceback__))
        if isinstance(link, CODE_EXCEPTIONS):
            lines.extend(traceback.format_exception_only(link))
        else:
            kind = type(link)
            lines.append(f'{kind.__module__}.{kind.__qualname__}: '
                '(message withheld from the log)\n')
    return ''.join(lines).rstrip('\n')


class _PrivacyFilter(logging.Filter):
    "Base: the record's message rewritten, its exception message withheld."

    def filter(self, record):
        try:
            self.rewrite(record)
        except Exception:
            # Never let a record through unfiltered, nor break logging.
            record.msg, record.args = (
                f'{record.name}: (message withheld from the log)', None)
        exc_info = record.exc_info
        if exc_info and exc_info[1] is not None:
            record.exc_text = format_exception_withheld(exc_info[1])
            record.exc_info = None
        return True

    def rewrite(self, record):
        raise NotImplementedError


class UrlFilter(_PrivacyFilter):
    "Access and error logs of the HTTP servers and others: URLs masked."

    def rewrite(self, record):
        record.msg, record.args = mask_urls(record.getMessage()), None


class CallFilter(_PrivacyFilter):
    "trytond.protocols.dispatcher: calls without arguments nor results."

    # The dispatcher's messages (trytond 8.0 protocols/dispatcher.py).
    CALL = '%s.%s%s from %s@%s%s in %i ms'
    RESULT = 'Result: %r'

    def rewrite(self, record):
        args = record.args
        if record.msg == self.CALL and isinstance(args, tuple) \
                and len(args) == 7:
            model, method, _, user, address, path, duration = args
            record.args = (model, method, f'({WITHHELD})', user, address,
                mask_urls(str(path)), duration)
        elif record.msg == self.RESULT:
            record.args = (WITHHELD,)
        else:
            # Another message (or another trytond's): whatever holds call
            # data goes, the rest (names, counts) stays.
            if isinstance(args, tuple):
                record.args = tuple(f'({WITHHELD})'
                    if isinstance(a, (format_args, list, tuple, dict))
                    else a for a in args)
            elif args:
                record.args = None
                record.msg = f'{record.msg} ({WITHHELD})'
            record.msg, record.args = mask_urls(record.getMessage()), None


FILTERS = {
    'werkzeug': UrlFilter,
    'gunicorn.access': UrlFilter,
    'gunicorn.error': UrlFilter,
    'trytond.wsgi': UrlFilter,
    'trytond.protocols.dispatcher': CallFilter,
    # Tracebacks of queued tasks, cron jobs and API calls.
    'trytond.worker': UrlFilter,
    'trytond.ir.cron': UrlFilter,
    'trytond.modules.spp_api.routes': UrlFilter,
    'trytond.modules.spp_api.dci': UrlFilter,
    }


def install():
    "Put the filters on their loggers (once: importing twice is harmless)."
    for name, kind in FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
