"""The off-database copy of the audit log, configured in trytond.conf.

    [spp_audit]
    file = /var/log/spp/audit.jsonl   # JSON lines, rotated at midnight
    file_backups = 400                # days of rotated files kept
    syslog = /dev/log                 # or host:port (UDP)

Being in the server's configuration, a database administrator cannot switch
it off from inside the database. The copy holds ids, counts and the names of
changed fields, never a value: no names, no ID numbers, no query text."""
import json
import logging
import logging.handlers

from trytond import config

logger = logging.getLogger('spp_audit.sink')
logger.propagate = False
_configured = False

# What of an entry reaches the file: never changes' values, query or names.
COPIED = ('position', 'hash', 'user', 'api_client', 'channel',
    'request_id', 'model', 'record_id', 'count', 'action')


def _configure():
    global _configured
    _configured = True
    path = config.get('spp_audit', 'file', default=None)
    if path:
        handler = logging.handlers.TimedRotatingFileHandler(
            path, when='midnight', utc=True, encoding='utf-8',
            backupCount=config.getint(
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
