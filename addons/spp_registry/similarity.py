"""Name similarity for duplicate detection: pg_trgm's trigram score.

On PostgreSQL with the pg_trgm extension, ``similarity(a, b)`` scores the
candidate pairs in SQL. Elsewhere (SQLite, PostgreSQL without pg_trgm)
``trigram_similarity`` computes the same figure in Python, on the pairs
the birth date blocking leaves only, so a threshold means the same on
every backend. The score is the share of trigrams the two names have in
common (of all their distinct trigrams): word order does not matter, one
letter changed in a three-word name scores about 0.8."""
import logging
import re
from functools import lru_cache

from sql.operators import BinaryOperator

from trytond import backend
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)
_WORD = re.compile(r'[^\W_]+')


@lru_cache(maxsize=65536)
def trigrams(text):
    """The trigrams pg_trgm extracts from `text`: of each alphanumeric word
    in lower case, padded with two spaces before and one after."""
    grams = set()
    for word in _WORD.findall((text or '').lower()):
        padded = f'  {word} '
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def trigram_similarity(first, second):
    "Common trigrams over all distinct trigrams, as pg_trgm's similarity()."
    a, b = trigrams(first), trigrams(second)
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


class TrigramMatch(BinaryOperator):
    "pg_trgm's ``a % b``: similar above pg_trgm.similarity_threshold."
    __slots__ = ()
    _operator = '%%'


def has_trigram_extension():
    """Whether pg_trgm scores in SQL in this transaction; try to create
    the extension when it is missing."""
    if backend.name != 'postgresql':
        return False
    cursor = Transaction().connection.cursor()
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    return bool(cursor.fetchone()) or create_trigram_extension()


def create_trigram_extension():
    """Try to create pg_trgm (a trusted extension: whoever may create in
    the database may) in its own committed transaction, so that a refusal
    leaves the caller's transaction intact. Return whether it exists."""
    if backend.name != 'postgresql':
        return False
    transaction = Transaction()
    try:
        with transaction.new_transaction() as creation:
            creation.connection.cursor().execute(
                'CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except backend.DatabaseError:
        logger.info("pg_trgm unavailable: duplicate names are scored "
            "in Python", exc_info=True)
        return False
    database = transaction.database
    # Forget answers cached before the extension existed (index creation
    # asks them).
    getattr(database, '_extensions', {}).get(
        database.name, {}).pop('pg_trgm', None)
    getattr(database, '_has_proc', {}).pop(database.name, None)
    return True
