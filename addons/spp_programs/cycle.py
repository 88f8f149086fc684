"""Cycles of a program, their beneficiaries and the approval rules.

A cycle is prepared (a set-based snapshot of the enrolled members),
submitted, then approved by a Cycle Approver who is not the submitter."""
import datetime as dt

from dateutil.relativedelta import relativedelta
from sql.aggregate import Count
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.spp_registry.bulk import (
    analyze_table, guard_references, insert_select, invalidate_cache, typed,
    without_index_on)
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .copied import CopiedReferenceMixin
from .cycle_notes import CycleNotesMixin
from .exceptions import CycleError
from .run import now_in_seconds

RECURRENCE_MONTHS = {'monthly': 1, 'quarterly': 3, 'yearly': 12}


class Cycle(CycleNotesMixin, Workflow, ModelSQL, ModelView):
    "Cycle"
    __string__ = "Cycle"
    __name__ = 'spp.cycle'
    _states = {'readonly': Eval('state') != 'draft'}
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE', states=_states)
    sequence = fields.Integer("Number", required=True, readonly=True)
    name = fields.Char("Name", required=True, states=_states)
    start_date = fields.Date("Start Date", required=True, states=_states,
        domain=[If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date("End Date", required=True, states=_states,
        domain=[If(Eval('start_date'),
                ('end_date', '>=', Eval('start_date')), ())])
    state = fields.Selection([
            ('draft', "Draft"),
            ('to_approve', "To Approve"),
            ('approved', "Approved"),
            ('distributed', "Distributed"),
            ('ended', "Ended"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    memberships = fields.One2Many('spp.cycle.membership', 'cycle',
        "Beneficiaries", readonly=True)
    beneficiary_count = fields.Function(
        fields.Integer("Beneficiaries"), 'get_beneficiary_count')
    prepared_at = fields.DateTime("Prepared At", readonly=True)
    submitted_by = fields.Many2One('res.user', "Submitted By", readonly=True)
    submitted_at = fields.DateTime("Submitted At", readonly=True)
    approved_by = fields.Many2One('res.user', "Approved By", readonly=True)
    approved_at = fields.DateTime("Approved At", readonly=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    summary = fields.Function(fields.Char("Summary",
            help="What the cycle holds and its last step."), 'get_summary')
    action_note = fields.Function(fields.Char("Note",
            states={'invisible': ~Eval('action_note')},
            help="Why an action shown on this cycle is not available to "
            "you."), 'get_action_note')
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('program_sequence_unique', Unique(t, t.program, t.sequence),
                'spp_programs.msg_cycle_sequence_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.program, Index.Range()),
                (t.state, Index.Equality())))
        cls._order = [
            ('program', 'DESC'), ('sequence', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'to_approve'),
            ('to_approve', 'draft'),
            ('to_approve', 'approved'),
            ('approved', 'distributed'),
            ('distributed', 'ended'),
            ('draft', 'cancelled'),
            ('to_approve', 'cancelled'),
            ('approved', 'cancelled'),
            }
        cls._buttons.update({
                'prepare': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reset_draft': {
                    'invisible': Eval('state') != 'to_approve',
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'to_approve',
                    'depends': ['state'],
                    },
                'distribute': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'end': {
                    'invisible': Eval('state') != 'distributed',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'to_approve', 'approved']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def get_beneficiary_count(cls, cycles, name):
        pool = Pool()
        CycleMembership = pool.get('spp.cycle.membership')
        table = CycleMembership.__table__()
        cursor = Transaction().connection.cursor()
        result = {c.id: 0 for c in cycles}
        if not result:
            return result
        cursor.execute(*table.select(table.cycle, Count(table.id),
                where=table.cycle.in_(list(result)),
                group_by=[table.cycle]))
        result.update(cursor)
        return result

    @classmethod
    def get_currency(cls, cycles, name):
        "The program's currency, in one query for all the cycles read."
        Program = Pool().get('spp.program')
        table, program = cls.__table__(), Program.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice([c.id for c in cycles], 10000):
            cursor.execute(*table.join(program,
                    condition=table.program == program.id).select(
                    table.id, program.currency,
                    where=table.id.in_(list(sub_ids))))
            result.update(cursor)
        return result

    @classmethod
    def create_next(cls, program):
        """Create the program's next cycle: it starts the day after the
        last one ends (or on the program's start), and lasts one period of
        the program's recurrence; a one-off program has a single cycle."""
        today = Pool().get('ir.date').today()
        program.check_active()
        last = cls.search([
                ('program', '=', program.id),
                ('state', '!=', 'cancelled'),
                ], order=[('sequence', 'DESC')], limit=1)
        previous = cls.search([('program', '=', program.id)],
            order=[('sequence', 'DESC')], limit=1)
        sequence = previous[0].sequence + 1 if previous else 1
        if program.recurrence == 'one_off':
            if last:
                raise CycleError(gettext('spp_programs.msg_cycle_one_off',
                        program=program.rec_name))
            start = program.start_date or today
            end = program.end_date or start
        else:
            start = (last[0].end_date + dt.timedelta(days=1) if last
                else program.start_date or today)
            months = RECURRENCE_MONTHS.get(program.recurrence,
                program.recurrence_interval or 1)
            end = start + relativedelta(months=months) - dt.timedelta(days=1)
        if program.end_date and start > program.end_date:
            raise CycleError(gettext('spp_programs.msg_cycle_after_end',
                    program=program.rec_name))
        cycle, = cls.create([{
                    'program': program.id,
                    'sequence': sequence,
                    'name': gettext('spp_programs.msg_cycle_name',
                        program=program.name, sequence=sequence),
                    'start_date': start,
                    'end_date': end,
                    }])
        return cycle

    @classmethod
    def check_modification(cls, mode, cycles, values=None, external=False):
        super().check_modification(
            mode, cycles, values=values, external=external)
        if mode == 'delete':
            for cycle in cycles:
                if cycle.state not in {'draft', 'cancelled'}:
                    raise CycleError(gettext(
                            'spp_programs.msg_cycle_delete',
                            cycle=cycle.rec_name))

    @classmethod
    @ModelView.button
    def prepare(cls, cycles):
        "Take (or refresh) the snapshot of the program's enrolled members."
        Program = Pool().get('spp.program')
        for cycle in cycles:
            if cycle.state != 'draft':
                raise CycleError(gettext('spp_programs.msg_cycle_not_draft',
                        cycle=cycle.rec_name))
            Program.start_action([cycle.program], 'prepare_cycle', cycle.id)

    @classmethod
    @ModelView.button
    @Workflow.transition('to_approve')
    def submit(cls, cycles):
        for cycle in cycles:
            if not cycle.prepared_at:
                raise CycleError(gettext(
                        'spp_programs.msg_cycle_not_prepared',
                        cycle=cycle.rec_name))
        cls.write(cycles, {
                'submitted_by': Transaction().user,
                'submitted_at': dt.datetime.now(),
                })
        cls.notify_done(cycles, 'spp_programs.msg_cycle_submitted_notice')

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def reset_draft(cls, cycles):
        cls.write(cycles, {'submitted_by': None, 'submitted_at': None})

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, cycles):
        """Approve cycles: Cycle Approvers only (the button's group), and
        never the user who submitted the cycle (four-eyes)."""
        user = Transaction().user
        for cycle in cycles:
            if cycle.submitted_by and cycle.submitted_by.id == user:
                raise CycleError(gettext('spp_programs.msg_cycle_four_eyes',
                        cycle=cycle.rec_name))
        cls.write(cycles, {
                'approved_by': user,
                'approved_at': dt.datetime.now(),
                })
        cls.notify_done(cycles, 'spp_programs.msg_cycle_approved_notice')

    @classmethod
    @ModelView.button
    @Workflow.transition('distributed')
    def distribute(cls, cycles):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('ended')
    def end(cls, cycles):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, cycles):
        pass


class CycleMembership(CopiedReferenceMixin, ModelSQL, ModelView):
    "Cycle Membership"
    __string__ = "Cycle Membership"
    __name__ = 'spp.cycle.membership'
    cycle = fields.Many2One('spp.cycle', "Cycle", required=True,
        ondelete='CASCADE', readonly=True)
    registrant = fields.Many2One('party.party', "Registrant", required=True,
        ondelete='RESTRICT', readonly=True)
    # RESTRICT: a member who was a beneficiary of a cycle stays on record
    # (members exit a program, they are not deleted), and the snapshot's
    # registrant and area are guaranteed through it.
    program_membership = fields.Many2One('spp.program.membership',
        "Program Membership", required=True, ondelete='RESTRICT',
        readonly=True)
    area = fields.Many2One('spp.area', "Area", readonly=True,
        ondelete='SET NULL')
    _copied_references = {
        'registrant': 'program_membership',
        'area': 'program_membership',
        }

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('cycle_registrant_unique', Unique(t, t.cycle, t.registrant),
                'spp_programs.msg_cycle_membership_unique'),
            ]
        # The unique (cycle, registrant) index serves the look-ups by cycle.
        cls._sql_indexes.update({
                Index(t, (t.registrant, Index.Range())),
                # Deleting a program membership looks for its snapshots:
                # without an index each delete scans every cycle's.
                Index(t, (t.program_membership, Index.Range())),
                })

    @classmethod
    def __setup_indexes__(cls):
        super().__setup_indexes__()
        cls._sql_indexes = without_index_on(cls._sql_indexes, 'cycle')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        guard_references(cls)

    @classmethod
    def prepare(cls, cycle_id):
        """Replace the beneficiaries of a draft cycle by the program's
        enrolled members, in two statements (idempotent); return how many
        there are."""
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        Membership = pool.get('spp.program.membership')
        cycle = Cycle(cycle_id)
        if cycle.state != 'draft':
            raise CycleError(gettext('spp_programs.msg_cycle_not_draft',
                    cycle=cycle.rec_name))
        table = cls.__table__()
        membership = Membership.__table__()
        cycle_table = Cycle.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(where=table.cycle == cycle.id))
        inserted = insert_select(cls, table.insert([
                    table.cycle, table.registrant, table.program_membership,
                    table.area, table.create_uid, table.create_date],
                membership.select(
                    typed(cls, 'cycle', cycle.id), membership.registrant,
                    membership.id, membership.area,
                    typed(cls, 'create_uid', Transaction().user),
                    CurrentTimestamp(),
                    where=(membership.program == cycle.program.id)
                    & (membership.state == 'enrolled'))))
        analyze_table(cls)
        cursor.execute(*cycle_table.update(
                [cycle_table.prepared_at], [now_in_seconds()],
                where=cycle_table.id == cycle.id))
        invalidate_cache(cls, Cycle)
        Cycle.notify_user([cycle], 'tryton-ok', gettext(
                'spp_programs.msg_cycle_prepared_notice',
                cycle=cycle.rec_name,
                count=pool.get('ir.lang').get().format_number(inserted, 0)))
        return inserted
