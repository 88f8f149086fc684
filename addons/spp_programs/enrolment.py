"""Set-based enrolment actions of spp.program.membership.

Population-wide actions are single SQL statements built with python-sql:
the eligible population is the ORM's own query for the program's domain
(`Party.search(domain, query=True)`) used as a sub-query, so a national
registry is enrolled in one INSERT ... SELECT and a few UPDATEs. Each one
is idempotent: a re-run changes nothing that is already right."""
from sql import Literal, Null, Union, Window
from sql.aggregate import Max, Min
from sql.functions import CurrentTimestamp
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.modules.spp_registry.bulk import (
    analyze_table, insert_select, invalidate_cache, registrant_ranges, typed)
from trytond.pool import Pool
from trytond.transaction import Transaction

from .run import RunProgress

# Members counted as "in the program" when looking for duplicates.
IN_PROGRAM = ['enrolled', 'duplicated']


class EnrolmentMixin:
    "Set-based actions over a program's whole population."
    __slots__ = ()

    @classmethod
    def import_eligible(cls, program, progress=None):
        """Insert every eligible registrant who is not yet a member as
        draft, one INSERT ... SELECT per batch of registrant ids."""
        progress = progress or RunProgress(None)
        ranges = registrant_ranges()
        progress.plan(len(ranges))
        cls._insert_eligible(program, ranges, progress, 'draft')
        invalidate_cache(cls)

    @classmethod
    def enrol(cls, program, progress=None):
        """Enrol draft members who still match the rules; the other draft
        members become not eligible. Then flag duplicates."""
        progress = progress or RunProgress(None)
        ranges = registrant_ranges()
        progress.plan(len(ranges) + 1)
        cls._enrol_drafts(program, ranges, progress)
        analyze_table(cls)
        progress.advance(cls._flag_duplicates(program))
        invalidate_cache(cls)

    @classmethod
    def import_and_enrol(cls, program, progress=None):
        """Import eligible and enrol in one pass: every eligible registrant
        who is not yet a member is inserted as enrolled (the rules are
        checked by the same statement), draft members are enrolled or not
        eligible as by Enrol, then duplicates are flagged. The result is
        that of Import eligible followed by Enrol, without the draft step
        and its second pass over the population."""
        progress = progress or RunProgress(None)
        ranges = registrant_ranges()
        drafts = cls._has_drafts(program)
        progress.plan(len(ranges) * (2 if drafts else 1) + 1)
        if drafts:
            cls._enrol_drafts(program, ranges, progress)
        cls._insert_eligible(program, ranges, progress, 'enrolled')
        progress.advance(cls._flag_duplicates(program))
        invalidate_cache(cls)

    @classmethod
    def _has_drafts(cls, program):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(Literal(1),
                where=(table.program == program.id)
                & (table.state == 'draft'), limit=1))
        return cursor.fetchone() is not None

    @classmethod
    def _insert_eligible(cls, program, ranges, progress, state):
        """Insert the eligible registrants who are not yet members of the
        program in `state` (draft, or enrolled as of today), one
        INSERT ... SELECT per registrant id range."""
        Party = Pool().get('party.party')
        membership, existing = cls.__table__(), cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        # The anti-join is left out of a program's first import: it cannot
        # match, and the statistics of a table that was empty when last
        # analysed make the planner probe it by a sequential scan per
        # registrant as the batches fill it (69 s instead of 2.5 s for
        # 80,000 members). Batches cover disjoint id ranges, so rows of
        # earlier batches never match a later one either.
        cursor.execute(*existing.select(Literal(1),
                where=existing.program == program.id, limit=1))
        first_import = cursor.fetchone() is None
        if not first_import:
            analyze_table(cls)
        columns = [membership.program, membership.registrant,
            membership.state, membership.area, membership.forced,
            membership.not_duplicate, membership.create_uid,
            membership.create_date]
        values = [typed(cls, 'program', program.id), party.id,
            typed(cls, 'state', state), party.area,
            typed(cls, 'forced', False), typed(cls, 'not_duplicate', False),
            typed(cls, 'create_uid', Transaction().user), CurrentTimestamp()]
        if state == 'enrolled':
            today = Pool().get('ir.date').today()
            columns += [membership.enrolment_date, membership.state_date]
            # Not typed(): SQLite reads a CAST(... AS DATE) as a number.
            values += [Literal(today), Literal(today)]
        for low, high in ranges:
            eligible = program.eligible_query(low, high)
            where = ((party.id >= low) & (party.id < high)
                & party.id.in_(eligible))
            if not first_import:
                where &= ~Exists(existing.select(existing.id,
                        where=(existing.program == program.id)
                        & (existing.registrant == party.id)))
            progress.advance(insert_select(cls, membership.insert(columns,
                        party.select(*values, where=where))))
        analyze_table(cls)

    @classmethod
    def _enrol_drafts(cls, program, ranges, progress):
        """Enrol the draft members who still match the rules, the other
        draft members become not eligible: two UPDATEs per range."""
        today = Pool().get('ir.date').today()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, CurrentTimestamp()
        reason = gettext('spp_programs.msg_reason_not_eligible_enrol',
            date=today.isoformat())
        for low, high in ranges:
            eligible = program.eligible_query(low, high)
            draft = ((table.program == program.id)
                & (table.state == 'draft')
                & (table.registrant >= low) & (table.registrant < high))
            cursor.execute(*table.update(
                    [table.state, table.enrolment_date, table.state_date,
                        table.write_uid, table.write_date],
                    ['enrolled', today, today, user, now],
                    where=draft & table.registrant.in_(eligible)))
            rows = cursor.rowcount
            cursor.execute(*table.update(
                    [table.state, table.state_date, table.state_reason,
                        table.write_uid, table.write_date],
                    ['not_eligible', today, reason, user, now],
                    where=draft))
            progress.advance(rows + cursor.rowcount)

    @classmethod
    def verify_eligibility(cls, program, progress=None):
        """Move enrolled members who no longer match to not eligible, and
        not eligible members who match again back to enrolled, with a dated
        reason. Members enrolled by force stay enrolled."""
        progress = progress or RunProgress(None)
        today = Pool().get('ir.date').today()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, CurrentTimestamp()
        columns = [table.state, table.state_date, table.state_reason,
            table.write_uid, table.write_date]
        no_longer = gettext('spp_programs.msg_reason_no_longer_eligible',
            date=today.isoformat())
        again = gettext('spp_programs.msg_reason_eligible_again',
            date=today.isoformat())
        ranges = registrant_ranges()
        progress.plan(len(ranges))
        for low, high in ranges:
            eligible = program.eligible_query(low, high)
            ours = ((table.program == program.id)
                & (table.registrant >= low) & (table.registrant < high))
            cursor.execute(*table.update(columns,
                    ['not_eligible', today, no_longer, user, now],
                    where=ours & (table.state == 'enrolled')
                    & (table.forced != Literal(True))
                    & ~table.registrant.in_(eligible)))
            rows = cursor.rowcount
            cursor.execute(*table.update(columns,
                    ['enrolled', today, again, user, now],
                    where=ours & (table.state == 'not_eligible')
                    & table.registrant.in_(eligible)))
            progress.advance(rows + cursor.rowcount)
        invalidate_cache(cls)

    @classmethod
    def deduplicate(cls, program, progress=None):
        """Flag enrolled members as duplicated when, within the program,
        an individual is an active member of two households, or two
        registrants share an ID number. Members a validator cleared are
        left alone."""
        progress = progress or RunProgress(None)
        progress.plan(1)
        progress.advance(cls._flag_duplicates(program))
        invalidate_cache(cls)

    @classmethod
    def _flag_duplicates(cls, program):
        "The UPDATEs of deduplicate; return the number of rows flagged."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, CurrentTimestamp()
        flaggable = ((table.program == program.id)
            & (table.state == 'enrolled')
            & (table.not_duplicate != Literal(True)))
        flagged = 0
        for reason, registrants in [
                ('shared_member', cls._shared_member_query(program)),
                ('shared_id', cls._shared_id_query(program)),
                ]:
            if registrants is None:
                continue
            cursor.execute(*table.update(
                    [table.state, table.duplicate_reason,
                        table.write_uid, table.write_date],
                    ['duplicated', reason, user, now],
                    where=flaggable & table.registrant.in_(registrants)))
            flagged += max(cursor.rowcount, 0)
        return flagged

    @classmethod
    def _shared_member_query(cls, program):
        "Households of the program sharing an active member with another."
        if program.target_type != 'group':
            return None
        pool = Pool()
        GroupMembership = pool.get('spp.group.membership')
        today = pool.get('ir.date').today()
        member, member2, member3 = (GroupMembership.__table__()
            for _ in range(3))
        pm = cls.__table__()
        # Two groups differ when the smallest and the largest do. People
        # in two households at all are few: found first in one ordered
        # pass over the index on individual, only they are looked up in
        # the program (7.7 -> 2.1 s at 4.7 million members, where hashing
        # every member of the program's households spilled to disk).
        in_two = member.select(member.individual,
            where=GroupMembership.active_condition(member, today),
            group_by=[member.individual],
            having=Min(member.group) != Max(member.group))
        in_program = member2.join(pm,
            condition=(pm.registrant == member2.group)
            & (pm.program == program.id) & pm.state.in_(IN_PROGRAM))
        shared = in_program.select(member2.individual,
            where=GroupMembership.active_condition(member2, today)
            & member2.individual.in_(in_two),
            group_by=[member2.individual],
            having=Min(member2.group) != Max(member2.group))
        return member3.select(member3.group,
            where=GroupMembership.active_condition(member3, today)
            & member3.individual.in_(shared))

    @classmethod
    def _shared_id_query(cls, program):
        """Registrants of the program holding an ID number (type and code)
        that another registrant of the program holds; for households the
        IDs of their active members count.

        Only IDs of the types `_shareable_id_types` gives are looked at.
        One pass over them: within each (type, code) the smallest and the
        largest registrant differ when two registrants share it."""
        types = cls._shareable_id_types()
        if not types:
            return None
        keys = cls._id_keys(program, types)
        same_id = Window([keys.type, keys.code_compact])
        spread = keys.select(keys.registrant,
            Min(keys.registrant, window=same_id).as_('first'),
            Max(keys.registrant, window=same_id).as_('last'))
        return spread.select(spread.registrant,
            where=spread.first != spread.last)

    @classmethod
    def _shareable_id_types(cls):
        """ID types of which two IDs may hold the same number: those with
        an ID without `unique_code`. Two IDs that both have one never share
        a number (its UNIQUE constraint), so a shared number involves an
        ID without it. That leaves out the national ID of a registry,
        whose number is held once: its only sharing is one member of two
        households, which the shared-member check flags."""
        Identifier = Pool().get('party.identifier')
        ident = Identifier.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*ident.select(ident.type,
                where=ident.unique_code == Null, group_by=[ident.type]))
        return [type_ for type_, in cursor]

    @classmethod
    def _id_keys(cls, program, types):
        """Query of (registrant, type, code_compact) for the program's IDs
        of `types`."""
        pool = Pool()
        Identifier = pool.get('party.identifier')
        GroupMembership = pool.get('spp.group.membership')
        today = pool.get('ir.date').today()
        pm, ident = cls.__table__(), Identifier.__table__()
        keys = pm.join(ident, condition=(ident.party == pm.registrant)
            & (ident.active == Literal(True)) & ident.type.in_(types)
            ).select(pm.registrant, ident.type, ident.code_compact,
                where=(pm.program == program.id) & pm.state.in_(IN_PROGRAM))
        if program.target_type == 'group':
            pm2, ident2 = cls.__table__(), Identifier.__table__()
            member = GroupMembership.__table__()
            # UNION ALL: a registrant listed twice changes neither its
            # smallest nor its largest id; UNION would sort to drop it.
            keys = Union(keys, pm2.join(member,
                condition=member.group == pm2.registrant
                ).join(ident2, condition=(ident2.party == member.individual)
                & (ident2.active == Literal(True))
                & ident2.type.in_(types)
                ).select(pm2.registrant, ident2.type, ident2.code_compact,
                    where=(pm2.program == program.id)
                    & pm2.state.in_(IN_PROGRAM)
                    & GroupMembership.active_condition(member, today)),
                all_=True)
        return keys

    @classmethod
    def prepare_cycle(cls, program, cycle_id, progress=None):
        "Refresh a draft cycle's beneficiaries (see spp.cycle.membership)."
        CycleMembership = Pool().get('spp.cycle.membership')
        progress = progress or RunProgress(None)
        progress.plan(1)
        progress.advance(CycleMembership.prepare(cycle_id))
