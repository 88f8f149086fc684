"""With spp_programs: what the civil registry changes in programs.

- A program may require a birth date verified with the civil registry
  (flow 2, e.g. an old-age allowance): its eligible population is then
  the individuals whose birth date the CRVS confirmed, so enrolment (set-
  based or by hand) leaves out the others; a batch checks the program's
  candidates with the CRVS.
- A death exits the deceased's program memberships (flow 3), in one
  UPDATE per batch of life events, each event counting its exits."""
from sql.aggregate import Count
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.modules.spp_programs.exceptions import MembershipError
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

# Memberships a death ends.
EXITED_ON_DEATH = ['enrolled', 'paused', 'duplicated']


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    crvs_birth_date_required = fields.Boolean(
        "CRVS-Verified Birth Date Required",
        states={
            'invisible': Eval('target_type') != 'individual',
            'readonly': Eval('state') == 'ended',
            },
        help="Only individuals whose birth date the civil registry "
        "(CRVS) confirmed are eligible (use Verify Birth Dates).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'verify_birth_dates': {
                    'invisible': ~Eval('crvs_birth_date_required')
                    | (Eval('state') != 'active'),
                    'depends': ['crvs_birth_date_required', 'state'],
                    },
                })

    @staticmethod
    def default_crvs_birth_date_required():
        return False

    @classmethod
    def validate_fields(cls, programs, field_names):
        super().validate_fields(programs, field_names)
        for program in programs:
            if (program.crvs_birth_date_required
                    and program.target_type != 'individual'):
                raise ValidationError(gettext(
                        'spp_dci_client.msg_crvs_verify_individual_programs',
                        program=program.rec_name))

    @property
    def requires_verified_birth_date(self):
        return bool(getattr(self, 'crvs_birth_date_required', False)
            and self.target_type == 'individual')

    @fields.depends('crvs_birth_date_required')
    def on_change_with_eligible_count(self, name=None):
        return super().on_change_with_eligible_count(name=name)

    def eligible_domain(self):
        domain = super().eligible_domain()
        if (self.requires_verified_birth_date
                and not Transaction().context.get('_spp_unverified')):
            domain = domain + [('birth_date_check', '=', 'verified')]
        return domain

    def unverified_candidates(self):
        "The individuals the rules select whose birth date is not verified."
        Party = Pool().get('party.party')
        with Transaction().set_context(_spp_unverified=True):
            domain = self.eligible_domain()
        with without_check_access():
            return Party.search(domain + [['OR',
                        ('birth_date_check', '=', None),
                        ('birth_date_check', '!=', 'verified')]],
                order=[('id', 'ASC')])

    @classmethod
    @ModelView.button
    def verify_birth_dates(cls, programs):
        """Check with the civil registry the birth dates of the
        individuals each program's rules select and that are not verified
        yet (20 a message)."""
        Party = Pool().get('party.party')
        for program in programs:
            candidates = program.unverified_candidates()
            if candidates:
                Party.verify_birth_dates(candidates)


class ProgramMembership(metaclass=PoolMeta):
    __name__ = 'spp.program.membership'

    @classmethod
    def add_manually(cls, program, registrant, force=False, reason=None):
        """Refuse an individual whose birth date is not verified with the
        civil registry when the program requires it, forced or not."""
        if (program.requires_verified_birth_date
                and registrant.registrant_type == 'individual'
                and registrant.birth_date_check != 'verified'):
            raise MembershipError(gettext(
                    'spp_dci_client.msg_crvs_verify_required',
                    registrant=registrant.rec_name,
                    program=program.rec_name))
        return super().add_manually(program, registrant, force=force,
            reason=reason)


class LifeEvent(metaclass=PoolMeta):
    __name__ = 'spp.dci.life.event'

    @classmethod
    def _deaths_applied(cls, event_ids, today):
        "Exit the deceased's program memberships, counted on each event."
        super()._deaths_applied(event_ids, today)
        Membership = Pool().get('spp.program.membership')
        table, membership = cls.__table__(), Membership.__table__()
        counted = Membership.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, CurrentTimestamp()
        reason = gettext('spp_dci_client.msg_crvs_exit_deceased')
        exited = 0
        for sub_ids in grouped_slice(event_ids, 1000):
            sub_ids = list(sub_ids)
            cursor.execute(*table.update([table.memberships_exited],
                    [counted.select(Count(counted.id),
                            where=(counted.registrant == table.registrant)
                            & counted.state.in_(EXITED_ON_DEATH))],
                    where=table.id.in_(sub_ids)))
            deceased = table.select(table.registrant,
                where=table.id.in_(sub_ids))
            cursor.execute(*membership.update(
                    [membership.state, membership.exit_date,
                        membership.state_date, membership.exit_reason,
                        membership.write_uid, membership.write_date],
                    ['exited', today, today, reason, user, now],
                    where=membership.state.in_(EXITED_ON_DEATH)
                    & membership.registrant.in_(deceased)))
            exited += max(cursor.rowcount, 0)
        invalidate_cache(Membership, cls)
        if exited:
            cls._record_applied(event_ids, 'memberships_exited',
                {'memberships': exited})
