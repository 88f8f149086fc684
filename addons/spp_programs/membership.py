"Program membership (beneficiaries): states, manual actions, add manually."
import datetime as dt

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.spp_registry.bulk import (
    guard_references, reserve_page_space, without_index_on)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .copied import CopiedReferenceMixin
from .enrolment import EnrolmentMixin
from .exceptions import MembershipError

STATES = [
    ('draft', "Draft"),
    ('enrolled', "Enrolled"),
    ('paused', "Paused"),
    ('exited', "Exited"),
    ('not_eligible', "Not Eligible"),
    ('duplicated', "Duplicated"),
    ]
DUPLICATE_REASONS = [
    (None, ""),
    ('shared_member', "Shares a member with another household"),
    ('shared_id', "Shares an ID number with another registrant"),
    ]


class ProgramMembership(
        CopiedReferenceMixin, EnrolmentMixin, Workflow, ModelSQL, ModelView):
    "Program Membership"
    __string__ = "Program Membership"
    __name__ = 'spp.program.membership'
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='CASCADE', readonly=True)
    registrant = fields.Many2One('party.party', "Registrant", required=True,
        ondelete='RESTRICT', readonly=True,
        domain=[('registrant_type', '!=', None)])
    area = fields.Many2One('spp.area', "Area", readonly=True,
        ondelete='SET NULL',
        help="The registrant's area when they joined the program.")
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)
    enrolment_date = fields.Date("Enrolment Date", readonly=True)
    state_date = fields.Date("State Date", readonly=True,
        help="When the state last changed.")
    state_reason = fields.Text("State Reason", readonly=True)
    exit_date = fields.Date("Exit Date", readonly=True)
    exit_reason = fields.Text("Exit Reason", states={
            'readonly': ~Eval('state').in_(['enrolled', 'paused']),
            'invisible': ~Eval('state').in_(
                ['enrolled', 'paused', 'exited']),
            })
    forced = fields.Boolean("Forced", readonly=True,
        help="Enrolled by a manager although the rule did not match.")
    forced_reason = fields.Text("Forced Reason", readonly=True,
        states={'invisible': ~Eval('forced')})
    duplicate_reason = fields.Selection(DUPLICATE_REASONS,
        "Duplicate Reason", readonly=True)
    not_duplicate = fields.Boolean("Not a Duplicate", readonly=True,
        help="A validator decided this member is not a duplicate; "
        "deduplication leaves it alone.")
    duplicate_decided_by = fields.Many2One('res.user', "Decided By",
        readonly=True)
    duplicate_decided_at = fields.DateTime("Decided At", readonly=True)
    _area_snapshots = {'area'}

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('program_registrant_unique', Unique(t, t.program, t.registrant),
                'spp_programs.msg_membership_unique'),
            ]
        # The unique (program, registrant) index serves the look-ups by
        # program (and program and state: a program's members are few
        # pages); an index on state would make every change of state a
        # non-HOT update of each index.
        cls._sql_indexes.add(Index(t, (t.registrant, Index.Range())))
        cls._order = [('program', 'DESC'), ('id', 'ASC')]
        cls._transitions |= {
            ('draft', 'enrolled'),
            ('draft', 'not_eligible'),
            ('enrolled', 'paused'),
            ('paused', 'enrolled'),
            ('enrolled', 'exited'),
            ('paused', 'exited'),
            ('duplicated', 'enrolled'),
            ('duplicated', 'exited'),
            }
        cls._buttons.update({
                'pause': {
                    'invisible': Eval('state') != 'enrolled',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': Eval('state') != 'paused',
                    'depends': ['state'],
                    },
                'exit': {
                    'invisible': ~Eval('state').in_(['enrolled', 'paused']),
                    'depends': ['state'],
                    },
                'mark_not_duplicate': {
                    'invisible': Eval('state') != 'duplicated',
                    'depends': ['state'],
                    },
                'confirm_duplicate': {
                    'invisible': Eval('state') != 'duplicated',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __setup_indexes__(cls):
        super().__setup_indexes__()
        cls._sql_indexes = without_index_on(cls._sql_indexes, 'program')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Imported as draft, then enrolled (or flagged, not eligible):
        # room for that second version of each row on its page. At
        # 1,000,000 members the enrolment UPDATE took 6.5 s on full
        # pages, 1.9 s so; the import 0.45 s more for the larger table.
        reserve_page_space(cls, 50)
        guard_references(cls)

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_forced(cls):
        return False

    @classmethod
    def default_not_duplicate(cls):
        return False

    def get_rec_name(self, name):
        return f'{self.registrant.rec_name} @ {self.program.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('registrant.rec_name', *clause[1:])]

    @classmethod
    def check_modification(cls, mode, memberships, values=None,
            external=False):
        super().check_modification(
            mode, memberships, values=values, external=external)
        if mode in {'create', 'write'} and external:
            for membership in memberships:
                membership.program.check_active()

    # Selected members ---------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('paused')
    def pause(cls, memberships):
        cls._stamp(memberships)

    @classmethod
    @ModelView.button
    @Workflow.transition('enrolled')
    def resume(cls, memberships):
        cls._stamp(memberships)

    @classmethod
    @ModelView.button
    @Workflow.transition('exited')
    def exit(cls, memberships):
        "Exit members today, keeping the reason given on each."
        today = Pool().get('ir.date').today()
        cls.write(memberships, {'exit_date': today, 'state_date': today})

    @classmethod
    @ModelView.button
    @Workflow.transition('enrolled')
    def mark_not_duplicate(cls, memberships):
        "Clear duplicates; the decision is remembered by deduplication."
        cls.write(memberships, {
                'not_duplicate': True,
                'duplicate_decided_by': Transaction().user,
                'duplicate_decided_at': dt.datetime.now(),
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('exited')
    def confirm_duplicate(cls, memberships):
        today = Pool().get('ir.date').today()
        cls.write(memberships, {
                'exit_date': today,
                'state_date': today,
                'exit_reason': gettext('spp_programs.msg_exit_duplicate'),
                'duplicate_decided_by': Transaction().user,
                'duplicate_decided_at': dt.datetime.now(),
                })

    @classmethod
    def _stamp(cls, memberships):
        today = Pool().get('ir.date').today()
        cls.write(memberships, {'state_date': today})

    @classmethod
    def add_manually(cls, program, registrant, force=False, reason=None):
        """Enrol one registrant now: the rule must match unless a program
        manager forces it with a reason."""
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        program.check_active()
        names = dict(program=program.rec_name, registrant=registrant.rec_name)
        if (registrant.registrant_type != program.target_type
                or registrant.disabled):
            raise MembershipError(gettext(
                    'spp_programs.msg_add_wrong_registrant', **names))
        eligible = Party.search_count(
            program.eligible_domain() + [('id', '=', registrant.id)])
        if not eligible:
            if not force:
                raise MembershipError(gettext(
                        'spp_programs.msg_add_not_eligible', **names))
            manager = ModelData.get_id(
                'spp_programs', 'group_program_manager')
            if Transaction().user and manager not in User.get_groups():
                raise MembershipError(gettext(
                        'spp_programs.msg_add_force_denied', **names))
            if not reason or not reason.strip():
                raise MembershipError(gettext(
                        'spp_programs.msg_add_force_reason', **names))
        today = pool.get('ir.date').today()
        values = {
            'state': 'enrolled',
            'enrolment_date': today,
            'state_date': today,
            'forced': bool(force and not eligible),
            'forced_reason': reason if force and not eligible else None,
            'exit_date': None,
            }
        existing = cls.search([
                ('program', '=', program.id),
                ('registrant', '=', registrant.id),
                ])
        if existing:
            if existing[0].state != 'enrolled':
                cls.write(existing, values)
            return existing[0]
        membership, = cls.create([{
                    'program': program.id,
                    'registrant': registrant.id,
                    'area': registrant.area.id if registrant.area else None,
                    **values,
                    }])
        return membership


class AddMemberStart(ModelView):
    "Add Member"
    __string__ = "Add Member"
    __name__ = 'spp.program.add_member.start'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    target_type = fields.Char("Target Type", readonly=True)
    registrant = fields.Many2One('party.party', "Registrant", required=True,
        domain=[
            ('registrant_type', '=', Eval('target_type')),
            ('disabled', '=', None),
            ])
    force = fields.Boolean("Force",
        help="Enrol even if the rule does not match (program managers "
        "only, with a reason).")
    reason = fields.Text("Reason", states={
            'invisible': ~Eval('force'),
            'required': Eval('force', False),
            })


class AddMember(Wizard):
    "Add Member"
    __string__ = "Add Member"
    __name__ = 'spp.program.add_member'
    start = StateView('spp.program.add_member.start',
        'spp_programs.add_member_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Add", 'add', 'tryton-ok', default=True),
            ])
    add = StateTransition()

    def default_start(self, fields):
        return {
            'program': self.record.id,
            'target_type': self.record.target_type,
            'force': False,
            }

    def transition_add(self):
        Membership = Pool().get('spp.program.membership')
        Membership.add_manually(self.record, self.start.registrant,
            force=self.start.force, reason=self.start.reason)
        return 'end'
