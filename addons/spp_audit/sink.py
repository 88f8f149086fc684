"""The off-database copy of the audit log, configured in trytond.conf.

    [spp_audit]
    file = /var/log/spp/audit.jsonl   # JSON lines: audit-YYYY-MM-DD.jsonl
    file_backups = 400                # days of files kept (default: all)
    syslog = /dev/log                 # or host:port (UDP)

Entries are copied once sealed (seal.py), by the process that sealed them.

Being in the server's configuration, a database administrator cannot switch
it off from inside the database. The copy holds ids, counts and the names of
changed fields, never a value: no names, no ID numbers, no query text."""
import datetime as dt
import json
import logging
import logging.handlers
from pathlib import Path

from trytond import config

logger = logging.getLogger('spp_audit.sink')
logger.propagate = False
_configured = False

# What of an entry reaches the file: never changes' values, query or names.
COPIED = ('position', 'hash', 'user', 'api_client', 'channel',
    'request_id', 'model', 'record_id', 'count', 'action')


class DailyFile(logging.Handler):
    """Lines appended to one file per day (UTC): `audit.jsonl` is written
    as `audit-2026-12-07.jsonl`.

    Every server process (gunicorn workers, the queue worker, cron) appends
    to the same day's file; renaming a shared file at midnight, as
    logging's rotating handlers do, would lose lines between processes.
    `backups` days of files are kept (0: all)."""

    def __init__(self, path, backups=0):
        super().__init__()
        self.path = Path(path)
        self.backups = backups
        self.day = self.stream = None

    def day_path(self, day):
        return self.path.with_name(
            f'{self.path.stem}-{day.isoformat()}{self.path.suffix}')

    def emit(self, record):
        day = dt.datetime.now(dt.timezone.utc).date()
        if day != self.day:
            self.close_stream()
            self.stream = open(self.day_path(day), 'a', encoding='utf-8')
            self.day = day
            self.remove_old(day)
        self.stream.write(self.format(record) + '\n')
        self.stream.flush()

    def remove_old(self, day):
        if not self.backups:
            return
        oldest = day - dt.timedelta(days=self.backups)
        for old in self.path.parent.glob(
                f'{self.path.stem}-*{self.path.suffix}'):
            try:
                old_day = dt.date.fromisoformat(
                    old.stem[len(self.path.stem) + 1:])
            except ValueError:
                continue
            if old_day < oldest:
                old.unlink(missing_ok=True)

    def close_stream(self):
        if self.stream:
            self.stream.close()
            self.stream = None

    def close(self):
        self.close_stream()
        super().close()


def _configure():
    global _configured
    _configured = True
    path = config.get('spp_audit', 'file', default=None)
    if path:
        handler = DailyFile(path, config.getint(
                'spp_audit', 'file_backups', default=0))
        handler.setFormatter(logging.Formatter('%(message)s'))
        logger.addHandler(handler)
    address = config.get('spp_audit', 'syslog', default=None)
    if address:
        if ':' in address:
            host, port = address.rsplit(':', 1)
            address = (host, int(port))
        handler = logging.handlers.SysLogHandler(
            address=address,
            facility=logging.handlers.SysLogHandler.LOG_AUTH)
        handler.setFormatter(logging.Formatter('spp-audit: %(message)s'))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if logger.handlers else logging.CRITICAL)


def reset():
    "Drop the handlers: the next entry reads the configuration again."
    global _configured
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    _configured = False


def line(entry):
    "The file's line for a written entry."
    copied = {k: entry.get(k) for k in COPIED}
    copied['timestamp'] = entry['timestamp'].isoformat()
    copied['records'] = [int(i) for i in (entry.get('records') or '').split(
            ',') if i]
    changes = entry.get('changes')
    copied['fields'] = sorted(json.loads(changes)) if changes else []
    details = json.loads(entry['details']) if entry.get('details') else {}
    # Parameters and counts of a bulk run: numbers and ids only.
    copied['details'] = {k: v for k, v in details.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return json.dumps(copied, separators=(',', ':'))


def emit(entries):
    if not _configured:
        _configure()
    if not logger.handlers:
        return
    for entry in entries:
        logger.info(line(entry))
