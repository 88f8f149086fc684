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
from json.encoder import c_make_encoder, encode_basestring

# The hashed columns, in the order they are hashed.
COLUMNS = (
    'position', 'timestamp', 'user', 'api_client', 'channel', 'request_id',
    'model', 'record_id', 'records', 'count', 'action', 'changes', 'query',
    'details')
# What a transaction inserts: all but the position, given when sealed.
INSERTED = COLUMNS[1:]
GENESIS = '0' * 64
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(',', ':'), check_circular=False).encode


def _make_encode_fast():
    """What _encode runs, made once instead of once a call (verify walks
    millions of rows): the C encoder JSONEncoder.encode makes, with the
    same arguments, its chunks joined as encode joins them. _encode
    itself where this Python's encoder differs or gives another text."""
    encoder = json.JSONEncoder(
        ensure_ascii=False, separators=(',', ':'), check_circular=False)
    try:
        chunks = c_make_encoder(None, encoder.default, encode_basestring,
            None, ':', ',', False, False, True)

        def encode_fast(values):
            return ''.join(chunks(values, 0))
        sample = [1, '2026-01-01 00:00:00.000001', None, 7, 'r\u00e9st',
            '"\\\n\t\x01\u2028', ',1,2,', '{"a":[null,"b"]}', -3]
        if (encode_fast(sample) == _encode(sample)
                and encode_fast(tuple(sample)) == _encode(sample)):
            return encode_fast
    except TypeError:
        pass
    return _encode


_encode_fast = _make_encode_fast()


def timestamp_text(value):
    "The timestamp as hashed: the same text on SQLite and PostgreSQL."
    if isinstance(value, str):
        if is_timestamp_text(value):
            return value
        value = dt.datetime.fromisoformat(value)
    return value.isoformat(sep=' ', timespec='microseconds')


def is_timestamp_text(value):
    "Whether the text is a timestamp as hashed: YYYY-MM-DD HH:MM:SS.ffffff"
    return (len(value) == 26 and value[10] == ' ' and value[19] == '.'
        and value[20:].isdigit())


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
    # A tight loop (10 million entries in well under a minute): the
    # encoder made once, and rows whose timestamp is already the hashed
    # text (Log.rows on PostgreSQL) hashed as they come.
    previous, expected = GENESIS, 1
    sha256, encode = hashlib.sha256, _encode_fast
    is_text = is_timestamp_text
    for row in rows:
        position = row[0]
        if position != expected:
            if position > expected:
                raise Broken(expected, f"missing (next found is {position})")
            raise Broken(position, "out of order or repeated")
        stored = row[-1]
        values = row[:-1]
        timestamp = values[1]
        if timestamp.__class__ is not str or not is_text(timestamp):
            values = list(values)
            values[1] = timestamp_text(timestamp)
        digest = sha256(
            (previous + encode(values)).encode('utf-8')).hexdigest()
        if digest != stored:
            raise Broken(position, "content does not match its hash")
        previous = stored
        expected += 1
    return expected - 1
