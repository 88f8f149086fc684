"""Set-based detection of registry duplicates (mixed into the duplicate
model).

Each kind of finding is one ``INSERT ... SELECT`` (or a few) that skips the
pairs already listed for the reason and the pairs decided not duplicate.

Probable duplicates are compared within blocks: people born the same day,
plus people born the same year when either birth date is approximate
(driven from the approximate side, a minority). A run after an earlier one
with the same settings compares only the pairs where a side changed since
(new registrations, corrected names or dates); a full run compares all."""
import datetime as dt
import logging

from sql import Expression, Literal, Null, Select
from sql.aggregate import Count, Max
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp, Extract
from sql.operators import Exists

from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .bulk import invalidate_cache
from .similarity import TrigramMatch, has_trigram_extension, trigram_similarity

logger = logging.getLogger(__name__)

# Changes are compared again from this long before the last run started,
# for transactions that were still running then.
CHANGE_MARGIN = dt.timedelta(days=1)


class DuplicateDetection:
    __slots__ = ()

    @classmethod
    def detect(cls, reasons=None, approximate_years=True, full=False):
        """Flag new duplicates for review; return {reason: new count}.

        Idempotent: a pair already listed for the reason, or decided not
        duplicate for any reason, is not listed again; pending rows of
        registrants disabled or merged since are dropped. Each run is
        logged; probable duplicates are compared incrementally (see the
        module) unless `full` or the settings changed."""
        pool = Pool()
        Run = pool.get('spp.registry.duplicate.run')
        Configuration = pool.get('spp.registry.configuration')
        if reasons is None:
            reasons = [r for r, _ in cls.reason.selection]
        threshold = Configuration(1).duplicate_threshold
        cls.lock()
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(Coalesce(Max(table.id), 0)))
        last_id, = cursor.fetchone()
        watermark = cls._changes_watermark()
        since = None
        if 'probable' in reasons and not full:
            since = Run.changes_since(threshold, approximate_years)

        cls._drop_stale()
        if 'same_id' in reasons:
            cls._detect_same_id()
        if 'multiple_groups' in reasons:
            cls._detect_multiple_groups()
        if 'probable' in reasons:
            cls._detect_probable(threshold, approximate_years, since)
        invalidate_cache(cls.__name__, 'party.party')

        cursor.execute(*table.select(table.reason, Count(),
                where=table.id > last_id, group_by=[table.reason]))
        found = dict(cursor)
        counts = {r: found.get(r, 0) for r in reasons}
        with without_check_access():
            Run.create([{
                        'reasons': ','.join(reasons),
                        'threshold': threshold,
                        'approximate_years': approximate_years,
                        'since': since,
                        'watermark': watermark,
                        **{f'{r}_count': c for r, c in counts.items()},
                        }])
        return counts

    @classmethod
    def detect_duplicates_cron(cls):
        "Cron entry point: detect every kind, incrementally when possible."
        logger.info("registry duplicates detected: %s", cls.detect())

    @classmethod
    def _changes_watermark(cls):
        "The latest change of a registrant, on the database's clock."
        Party = Pool().get('party.party')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.select(
                Max(Coalesce(party.write_date, party.create_date))))
        watermark, = cursor.fetchone()
        return watermark

    @classmethod
    def _columns(cls, table):
        return [table.individual_a, table.individual_b, table.reason,
            table.score, table.kept, table.kept_group, table.state,
            table.create_uid, table.create_date]

    @classmethod
    def _row(cls, first, second, reason, score, kept=None, kept_group=None):
        """Values of a new row matching `_columns`, as SQL expressions
        (constants cast: PostgreSQL cannot type bare parameters in
        INSERT ... SELECT DISTINCT)."""
        def value(field, value):
            if isinstance(value, (Expression, Select)):
                return value
            return getattr(cls, field).sql_cast(Literal(value))
        return [first, second, value('reason', reason),
            value('score', score), value('kept', kept),
            value('kept_group', kept_group), value('state', 'to_review'),
            value('create_uid', Transaction().user), CurrentTimestamp()]

    @classmethod
    def _unknown(cls, first, second, reason):
        "SQL condition: the pair is neither listed for `reason` nor decided."
        known = cls.__table__()
        return ~Exists(known.select(Literal(1),
                where=(known.individual_a == first)
                & (known.individual_b == second)
                & ((known.reason == reason)
                    | (known.state == 'not_duplicate'))))

    @classmethod
    def _candidate(cls, party):
        "SQL condition: `party` is an individual in force."
        return ((party.registrant_type == 'individual')
            & (party.active == Literal(True))
            & (party.disabled == Null))

    @classmethod
    def _drop_stale(cls):
        "Forget pending rows whose individual was merged or disabled."
        Party = Pool().get('party.party')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        party = Party.__table__()
        gone = party.select(party.id,
            where=(party.active == Literal(False)) | (party.disabled != Null))
        cursor.execute(*table.delete(where=(table.state == 'to_review')
                & (table.individual_a.in_(gone)
                    | table.individual_b.in_(gone))))

    @classmethod
    def _detect_same_id(cls):
        """Pairs holding the same number of the same ID type, except types
        declared shareable (unique unticked). Unique types are refused by
        the database already; this finds numbers held twice of a type made
        unique before the registry checked the numbers already entered,
        and numbers of Tryton's own identifier types."""
        pool = Pool()
        Identifier = pool.get('party.identifier')
        IdType = pool.get('spp.id.type')
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        i1, i2 = Identifier.__table__(), Identifier.__table__()
        id_type = IdType.__table__()
        a, b = Party.__table__(), Party.__table__()
        shareable = id_type.select(id_type.code,
            where=id_type.unique == Literal(False))
        query = (i1
            .join(i2, condition=(i2.type == i1.type)
                & (i2.code_compact == i1.code_compact)
                & (i2.party > i1.party))
            .join(a, condition=a.id == i1.party)
            .join(b, condition=b.id == i2.party)
            .select(*cls._row(i1.party, i2.party, 'same_id', 1.0,
                    kept=i1.party),
                where=(i1.active == Literal(True))
                & (i2.active == Literal(True))
                & ~i1.type.in_(shareable)
                & cls._candidate(a) & cls._candidate(b)
                & cls._unknown(i1.party, i2.party, 'same_id'),
                distinct=True))
        cursor.execute(*table.insert(cls._columns(table), query))

    @classmethod
    def _detect_multiple_groups(cls, individual_ids=None, refresh=True):
        """Individuals in force in several groups today, from the stored
        flag (refreshed first unless `refresh` is False). A row confirmed
        earlier is reopened when the individual is in several groups
        again."""
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        today = pool.get('ir.date').today()
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        party = Party.__table__()
        membership = Membership.__table__()

        if refresh:
            Party._recompute_multiple_groups()
        flagged = cls._candidate(party) & (
            party.multiple_groups == Literal(True))
        if individual_ids is not None:
            flagged &= party.id.in_(list(individual_ids))
        first_group = membership.select(membership.group,
            where=(membership.individual == party.id)
            & Membership.active_condition(membership, today),
            order_by=[membership.id.asc], limit=1)
        cursor.execute(*table.insert(cls._columns(table), party.select(
                    *cls._row(party.id, party.id, 'multiple_groups', 1.0,
                        kept_group=first_group),
                    where=flagged
                    & cls._unknown(party.id, party.id, 'multiple_groups'))))
        cursor.execute(*table.update(
                [table.state, table.reviewed_by, table.reviewed_at],
                [Literal('to_review'), Null, Null],
                where=(table.reason == 'multiple_groups')
                & (table.state == 'duplicate')
                & table.individual_a.in_(party.select(party.id,
                        where=flagged))))
        invalidate_cache(cls.__name__, 'party.party')

    @classmethod
    def _blocks(cls, approximate_years=True, since=None):
        """Candidate pairs for probable duplicates, each pair once, as
        (from, first id, second id, name a, name b, condition)."""
        Party = Pool().get('party.party')

        def named(p):
            return (cls._candidate(p) & (p.name_key != Null)
                & (p.name_key != ''))

        def approximate(p):
            return p.birth_date_approximate == Literal(True)

        def exact(p):
            return ((p.birth_date_approximate == Null)
                | (p.birth_date_approximate == Literal(False)))

        def changed(p):
            return Coalesce(p.write_date, p.create_date) >= since

        def unchanged(p):
            date = Coalesce(p.write_date, p.create_date)
            return (date == Null) | (date < since)

        def same_day(a, b):
            return b.birth_date == a.birth_date

        def same_year(a, b):
            return ((Extract('YEAR', b.birth_date)
                    == Extract('YEAR', a.birth_date))
                & (b.birth_date != a.birth_date))

        def block(join, where):
            a, b = Party.__table__(), Party.__table__()
            return (a.join(b, condition=join(a, b) & (b.id != a.id)),
                Case((a.id < b.id, a.id), else_=b.id),
                Case((a.id < b.id, b.id), else_=a.id),
                a.name_key, b.name_key,
                named(a) & named(b) & where(a, b))

        if since is None:
            yield block(same_day, lambda a, b: a.id < b.id)
            if approximate_years:
                yield block(same_year, lambda a, b: approximate(a)
                    & (exact(b) | (a.id < b.id)))
            return
        # Driven from the changed side; a pair changed on both sides once.
        yield block(same_day, lambda a, b: changed(a)
            & (unchanged(b) | (a.id < b.id)))
        if approximate_years:
            yield block(same_year, lambda a, b: approximate(a) & changed(a)
                & (exact(b) | (changed(b) & (a.id < b.id))))
            yield block(same_year, lambda a, b: approximate(a)
                & unchanged(a) & changed(b))

    @classmethod
    def _detect_probable(cls, threshold, approximate_years=True, since=None):
        "Similar names in the same birth date block, above the threshold."
        in_sql = has_trigram_extension()
        if in_sql:
            # The % operator compares with this threshold.
            Transaction().connection.cursor().execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                (str(threshold),))
        for block in cls._blocks(approximate_years, since):
            if in_sql:
                cls._insert_probable_sql(block)
            else:
                cls._insert_probable_python(block, threshold)

    @classmethod
    def _insert_probable_sql(cls, block):
        """Score with pg_trgm: ``%`` filters (and lets PostgreSQL use the
        trigram index of names when that is cheaper), similarity() scores
        the pairs kept."""
        database = Transaction().database
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        from_, first, second, name_a, name_b, where = block
        where &= (TrigramMatch(name_b, name_a)
            & cls._unknown(first, second, 'probable'))
        cursor.execute(*table.insert(cls._columns(table), from_.select(
                    *cls._row(first, second, 'probable',
                        database.similarity(name_a, name_b), kept=first),
                    where=where)))

    @classmethod
    def _insert_probable_python(cls, block, threshold):
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        from_, first, second, name_a, name_b, where = block
        cursor.execute(*from_.select(first, second, name_a, name_b,
                where=where & cls._unknown(first, second, 'probable')))
        matches = []
        for rows in iter(lambda: cursor.fetchmany(10000), []):
            for first_id, second_id, first_name, second_name in rows:
                score = trigram_similarity(first_name, second_name)
                if score >= threshold:
                    matches.append((first_id, second_id, score))
        for rows in grouped_slice(matches, 500):
            cursor.execute(*table.insert(cls._columns(table), [
                        cls._row(f, s, 'probable', score, kept=f)
                        for f, s, score in rows]))


__all__ = ['CHANGE_MARGIN', 'DuplicateDetection', 'invalidate_cache']
