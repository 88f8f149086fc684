"""The hash chain of the audit log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's
canonical content: the columns in a fixed order as compact JSON. Changing,
removing or reordering an entry breaks the chain at that position, and the
verification names the first position that does not hold.

Kept free of the ORM: the verify command walks millions of rows straight
from a cursor."""
import datetime as dt
import hashlib
import json

# The hashed columns, in the order they are hashed.
COLUMNS = (
    'position', 'timestamp', 'user', 'api_client', 'channel', 'request_id',
    'model', 'record_id', 'records', 'count', 'action', 'changes', 'query',
    'details')
GENESIS = '0' * 64
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(',', ':'), check_circular=False).encode


def timestamp_text(value):
    "The timestamp as hashed: the same text on SQLite and PostgreSQL."
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.isoformat(sep=' ', timespec='microseconds')


def content(row):
    "The canonical text of an entry given as a sequence in COLUMNS order."
    row = list(row)
    row[1] = timestamp_text(row[1])
    return _encode(row)


def entry_hash(previous, row):
    return hashlib.sha256(
        (previous + content(row)).encode('utf-8')).hexdigest()


class Broken(Exception):
    "The chain does not hold at `position`."

    def __init__(self, position, reason):
        super().__init__(position, reason)
        self.position = position
        self.reason = reason

    def __str__(self):
        return f"entry {self.position}: {self.reason}"


def verify(rows):
    """Walk (COLUMNS..., hash) rows in position order; return how many hold.

    Raises Broken at the first entry whose hash is wrong (changed or
    reordered) or whose position is not the next one (removed)."""
    previous, expected, count = GENESIS, 1, 0
    sha256 = hashlib.sha256
    for row in rows:
        position = row[0]
        if position != expected:
            if position > expected:
                raise Broken(expected, f"missing (next found is {position})")
            raise Broken(position, "out of order or repeated")
        *values, stored = row
        values[1] = timestamp_text(values[1])
        digest = sha256(
            (previous + _encode(values)).encode('utf-8')).hexdigest()
        if digest != stored:
            raise Broken(position, "content does not match its hash")
        previous, expected, count = stored, expected + 1, count + 1
    return count
