"""Programs and the Integrated Beneficiary Registry (with spp_programs).

A program names its IBR and the programme identifier the IBR knows it by.
Its enrolment changes are sent to the IBR after each population-wide
action (enrol, import and enrol, verify, deduplicate) and each change of
members' state (exit, pause, resume…), in a queue task, never in the
user's transaction; the cron "Send Enrolment Updates to IBR" sends what a
failed pass left. Before enrolment the program can ask the IBR whether
candidates are enrolled in programmes that exclude this one: those found
are left out of the eligible population (enrolment makes them not
eligible with the IBR's reason) until a later check clears them. The wire
is in ibr.py."""
from sql import Literal
from sql.functions import CurrentTimestamp

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

from . import ibr

# Population-wide actions after which enrolment updates are sent.
SENT_AFTER = {'enrol', 'import_and_enrol', 'verify_eligibility',
    'deduplicate'}
QUEUE = 'spp_dci_client'


def queue_send(programs):
    "Queue a send of enrolment updates for the programs with an IBR."
    Program = Pool().get('spp.program')
    ids = sorted({p.id for p in programs if p.ibr_registry})
    if ids:
        with Transaction().set_context(queue_name=QUEUE):
            Program.__queue__.ibr_send_updates(Program.browse(ids))


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    ibr_registry = fields.Many2One('spp.dci.registry',
        "Integrated Beneficiary Registry", ondelete='RESTRICT',
        domain=[('kind', '=', 'ibr')],
        help="Where enrolments and exits are sent, and candidates checked.")
    ibr_programme_id = fields.Char("IBR Programme ID",
        states={'invisible': ~Eval('ibr_registry')},
        help="The identifier the IBR knows this program by (default: the "
        "program's code).")
    ibr_exclusions = fields.Text("Excluding Programmes",
        states={'invisible': ~Eval('ibr_registry')},
        help="IBR programme identifiers (one per line) whose beneficiaries "
        "may not enrol in this program.")
    ibr_check_before_enrol = fields.Boolean("Check IBR Before Enrolment",
        states={'invisible': ~Eval('ibr_registry')},
        help="Enrol (and Import and Enrol) first ask the IBR about the "
        "candidates; if the IBR cannot be reached the enrolment fails.")
    ibr_last_sent = fields.DateTime("Last Sent to IBR", readonly=True)
    ibr_send_status = fields.Text("Last Sending", readonly=True)
    ibr_last_check = fields.DateTime("Last IBR Check", readonly=True)
    ibr_check_status = fields.Text("Last Check", readonly=True)
    ibr_pending = fields.Function(fields.Integer("Changes Not Sent",
            help="Memberships whose state the IBR has not received yet "
            "(changed registrants are sent too, not counted here)."),
        'get_ibr_pending')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        with_ibr = Bool(Eval('ibr_registry'))
        cls._buttons.update({
                'ibr_send': {
                    'invisible': ~with_ibr,
                    'depends': ['ibr_registry'],
                    },
                'ibr_check': {
                    'invisible': ~with_ibr | (Eval('state') != 'active'),
                    'depends': ['ibr_registry', 'state'],
                    },
                })

    @property
    def ibr_programme(self):
        "The programme identifier the IBR knows."
        return (self.ibr_programme_id or '').strip() or self.code

    @classmethod
    def get_ibr_pending(cls, programs, name):
        return {p.id: ibr.pending_count(p) if p.ibr_registry else None
            for p in programs}

    @classmethod
    def copy(cls, programs, default=None):
        default = dict(default or {})
        for name in ('ibr_last_sent', 'ibr_send_status', 'ibr_last_check',
                'ibr_check_status', 'ibr_programme_id'):
            default.setdefault(name, None)
        return super().copy(programs, default=default)

    @classmethod
    def write(cls, *args):
        super().write(*args)
        actions = iter(args)
        changed = []
        for programs, values in zip(actions, actions):
            if {'ibr_registry', 'ibr_programme_id'} & values.keys():
                changed.extend(programs)
        if changed:
            # Another IBR, or another identifier there: all is sent anew.
            Membership = Pool().get('spp.program.membership')
            table = Membership.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.ibr_sent_state, table.ibr_sent_at,
                        table.ibr_refusal], [None, None, None],
                    where=table.program.in_([p.id for p in changed])))

    def eligible_domain(self):
        """Candidates the IBR check found enrolled in an excluding
        programme are not eligible (until a check clears them)."""
        domain = super().eligible_domain()
        if self.id is not None and self.id >= 0 and self.ibr_registry:
            Membership = Pool().get('spp.program.membership')
            table = Membership.__table__()
            domain = domain + [('id', 'not in', table.select(
                        table.registrant,
                        where=(table.program == self.id)
                        & (table.ibr_enrolled_elsewhere == Literal(True))))]
        return domain

    def check_ibr(self):
        if not self.ibr_registry:
            raise UserError(gettext('spp_dci_client.msg_ibr_no_registry',
                    program=self.rec_name))
        if not self.ibr_registry.active:
            raise UserError(gettext('spp_dci_client.msg_ibr_inactive',
                    program=self.rec_name,
                    registry=self.ibr_registry.rec_name))

    @classmethod
    @ModelView.button
    def ibr_send(cls, programs):
        "Queue a send of the enrolment changes the IBR has not received."
        for program in programs:
            program.check_ibr()
        queue_send(programs)

    @classmethod
    @ModelView.button
    def ibr_check(cls, programs):
        "Queue an IBR check of the candidates of each program."
        for program in programs:
            program.check_ibr()
            program.check_active()
            if not ibr.codes_of(program.ibr_exclusions):
                raise UserError(gettext(
                        'spp_dci_client.msg_ibr_no_exclusions',
                        program=program.rec_name))
        with Transaction().set_context(queue_name=QUEUE):
            cls.__queue__.ibr_check_enrolled(programs)

    @classmethod
    def ibr_send_updates(cls, programs):
        """Send each program's unsent enrolment changes (a queue task, the
        cron). A failure is written on the program, never raised: the
        batches the IBR acknowledged stay marked sent."""
        for program in cls.browse([p.id for p in programs]):
            if not program.ibr_registry or not program.ibr_registry.active:
                continue
            sent, batches, refused, error = ibr.send_updates(program)
            if error is not None:
                status = gettext('spp_dci_client.msg_ibr_send_failed',
                    sent=sent, batch=batches + 1, error=error.message)
            else:
                status = gettext('spp_dci_client.msg_ibr_send_done',
                    sent=sent, batches=batches, refused=refused)
            if batches or error is not None or not program.ibr_last_sent:
                cls.write_ibr_status(program, ibr_last_sent=ibr.stamp(),
                    ibr_send_status=status)

    @classmethod
    def ibr_check_enrolled(cls, programs, strict=False):
        """Check each program's candidates at its IBR and mark those
        enrolled in an excluding programme. `strict`: a failure raises
        (enrolment must not go on); otherwise it is written on the
        program."""
        for program in cls.browse([p.id for p in programs]):
            program.check_ibr()
            checked, found, messages, error = ibr.check_enrolled(program)
            if error is not None:
                status = gettext('spp_dci_client.msg_ibr_check_failed',
                    checked=checked, error=error.message)
                if strict:
                    raise UserError(status)
            else:
                status = gettext('spp_dci_client.msg_ibr_check_done',
                    checked=checked, found=found, messages=messages)
            cls.write_ibr_status(program, ibr_last_check=ibr.stamp(),
                ibr_check_status=status)

    @classmethod
    def write_ibr_status(cls, program, **values):
        "Write the figures of a pass in SQL (a task may run as anyone)."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [getattr(table, n) for n in values], list(values.values()),
                where=table.id == program.id))
        invalidate_cache(cls)

    @classmethod
    def run_action(cls, programs, action, *args, run=None, queued=True):
        super().run_action(programs, action, *args, run=run, queued=queued)
        if action in SENT_AFTER:
            queue_send(programs)

    @classmethod
    def ibr_send_all(cls):
        "Cron: send the unsent enrolment changes of every program."
        programs = cls.search([
                ('ibr_registry', '!=', None),
                ('ibr_registry.active', '=', True),
                ])
        cls.ibr_send_updates(programs)


class ProgramMembership(metaclass=PoolMeta):
    __name__ = 'spp.program.membership'
    ibr_sent_state = fields.Selection('get_ibr_sent_states',
        "Sent to IBR As", readonly=True,
        help="The state the IBR last acknowledged (empty: never sent).")
    ibr_sent_at = fields.Timestamp("Sent to IBR At", readonly=True)
    ibr_refusal = fields.Char("IBR Refusal", readonly=True,
        states={'invisible': ~Eval('ibr_refusal')},
        help="Why the IBR refused the last update; sent again when the "
        "membership changes.")
    ibr_enrolled_elsewhere = fields.Boolean("Enrolled Elsewhere (IBR)",
        readonly=True,
        help="The IBR check found this candidate enrolled in a programme "
        "that excludes this one.")
    ibr_checked = fields.Date("IBR Checked", readonly=True)
    ibr_check_note = fields.Char("IBR Note", readonly=True,
        states={'invisible': ~Eval('ibr_enrolled_elsewhere')})

    @classmethod
    def get_ibr_sent_states(cls):
        "The membership states (the one the IBR received)."
        return [(None, "")] + list(cls.state.selection)

    @classmethod
    def default_ibr_enrolled_elsewhere(cls):
        return False

    @classmethod
    def copy(cls, memberships, default=None):
        default = dict(default or {})
        for name in ('ibr_sent_state', 'ibr_sent_at', 'ibr_refusal',
                'ibr_checked', 'ibr_check_note'):
            default.setdefault(name, None)
        default.setdefault('ibr_enrolled_elsewhere', False)
        return super().copy(memberships, default=default)

    @classmethod
    def on_modification(cls, mode, memberships, field_names=None):
        super().on_modification(mode, memberships, field_names=field_names)
        if mode == 'create' or (mode == 'write'
                and field_names and 'state' in field_names):
            queue_send({m.program for m in memberships})

    @classmethod
    def enrol(cls, program, progress=None):
        if program.ibr_registry and program.ibr_check_before_enrol:
            Pool().get('spp.program').ibr_check_enrolled(
                [program], strict=True)
        super().enrol(program, progress=progress)

    @classmethod
    def import_and_enrol(cls, program, progress=None):
        if program.ibr_registry and program.ibr_check_before_enrol:
            # The check asks about draft members: import them first.
            cls.import_eligible(program, progress=progress)
            cls.enrol(program, progress=progress)
            return
        super().import_and_enrol(program, progress=progress)

    @classmethod
    def _enrol_drafts(cls, program, ranges, progress):
        """Draft members the IBR check found enrolled elsewhere become not
        eligible with the IBR's reason (the rest as by Enrol)."""
        if program.ibr_registry:
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            today = Pool().get('ir.date').today()
            cursor.execute(*table.update(
                    [table.state, table.state_date, table.state_reason,
                        table.write_uid, table.write_date],
                    ['not_eligible', today,
                        ibr.exclusion_reason(program, today),
                        Transaction().user, CurrentTimestamp()],
                    where=(table.program == program.id)
                    & (table.state == 'draft')
                    & (table.ibr_enrolled_elsewhere == Literal(True))))
        super()._enrol_drafts(program, ranges, progress)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('spp.program|ibr_send_all', "Send Enrolment Updates to IBR"))
