"""Retention: what the registry keeps, and for how long.

A retention policy names a situation (registrants disabled, beneficiaries
who left every program, applicants found not eligible) and a period; the
retention job anonymises the registrants past it. Their personal fields
are cleared or generalised (the birth date becomes 1 January of its year),
their ID documents, phones, emails, addresses and attachments deleted,
and the copies of their name, phone and account on payments, grievances,
consents and change requests cleared; the records themselves (household
memberships, program memberships, entitlements, payments) are kept for
the program statistics and the payment accounting. The party is marked
`anonymised`, so that no later run takes it again.

A registrant with an open payment, entitlement, grievance or change
request, or who is still a current member of a household that is not
anonymised with them, is skipped and the run says why. A household's
current members follow it.

Each run is a handful of statements whatever the number of registrants:
the run's registrants are inserted by one INSERT ... SELECT, the skipped
ones by one per reason, and every UPDATE and DELETE reads that list."""
import datetime as dt

from dateutil.relativedelta import relativedelta
from sql import Literal, Null, Union
from sql.aggregate import Max, Sum
from sql.conditionals import Case, Coalesce

from trytond.i18n import gettext
from trytond.model import (
    Check, DeactivableMixin, Index, ModelSQL, ModelView, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .anonymisation import anonymise, in_pool

SITUATIONS = [
    ('disabled', "Disabled Registrants"),
    ('exited', "Beneficiaries Who Left Every Program"),
    ('rejected', "Applicants Found Not Eligible"),
    ]
# The situations that read program memberships (spp_programs).
PROGRAM_SITUATIONS = {'exited', 'rejected'}
UNITS = [
    ('years', "Years"),
    ('months', "Months"),
    ]
SKIP_REASONS = [
    ('open_payment', "Open Payment"),
    ('open_entitlement', "Open Entitlement"),
    ('open_grievance', "Open Grievance"),
    ('open_change_request', "Open Change Request"),
    ('active_household', "Member of a Household Kept"),
    ]
# The states in which a record still needs its registrant's data.
OPEN_PAYMENT_STATES = ['blocked', 'issued', 'sent']
OPEN_ENTITLEMENT_STATES = ['draft', 'pending_validation', 'approved']
OPEN_GRIEVANCE_STATES = ['new', 'acknowledged', 'investigating', 'reopened']
OPEN_CHANGE_REQUEST_STATES = ['draft', 'submitted', 'revision', 'approved']
# Program memberships over: one of them must be `exited` (`exited`
# situation), or all `not_eligible` (`rejected`).
CLOSED_MEMBERSHIP_STATES = ['exited', 'not_eligible', 'duplicated']



class RetentionPolicy(DeactivableMixin, ModelSQL, ModelView):
    "Retention Policy"
    __string__ = "Retention Policy"
    __name__ = 'spp.retention.policy'
    name = fields.Char("Name", required=True, translate=True)
    situation = fields.Selection(SITUATIONS, "Situation", required=True,
        help="Which registrants the period applies to.")
    period = fields.Integer("Period", required=True,
        help="How long the registrant's personal data is kept after the "
        "situation began.")
    unit = fields.Selection(UNITS, "Unit", required=True, sort=False)
    description = fields.Text("Description")
    runs = fields.One2Many('spp.retention.run', 'policy', "Runs",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('period_positive', Check(t, t.period > 0),
                'spp_consent.msg_retention_period_positive'),
            ]
        cls._buttons.update({
                'run_now': {
                    'invisible': ~Eval('active', False),
                    'depends': ['active'],
                    },
                })

    @staticmethod
    def default_unit():
        return 'years'

    @classmethod
    def validate_fields(cls, policies, field_names):
        super().validate_fields(policies, field_names)
        for policy in policies:
            if policy.period is None or policy.period <= 0:
                raise ValidationError(gettext(
                        'spp_consent.msg_retention_period',
                        policy=policy.rec_name))
            if (policy.situation in PROGRAM_SITUATIONS
                    and not in_pool('spp.program.membership')):
                raise ValidationError(gettext(
                        'spp_consent.msg_retention_needs_programs',
                        policy=policy.rec_name))

    def cutoff(self, date):
        "The last day whose situation is past the period on `date`."
        return date - relativedelta(**{self.unit: self.period})

    @classmethod
    @ModelView.button
    def run_now(cls, policies):
        cls.anonymise(policies)

    @classmethod
    def run_all(cls):
        "The cron job: every active policy."
        return cls.anonymise(cls.search([('active', '=', True)]))

    @classmethod
    def anonymise(cls, policies, date=None):
        "Run each policy on `date` (today): the runs, one per policy."
        Run = Pool().get('spp.retention.run')
        return [Run.execute(policy, date) for policy in policies]

    def candidates_query(self, date):
        """SQL query of the ids of the registrants not anonymised yet
        whose situation began before the cutoff, with the current members
        of such groups."""
        pool = Pool()
        Party = pool.get('party.party')
        GroupMembership = pool.get('spp.group.membership')
        party = Party.__table__()
        cutoff = self.cutoff(date)
        where = (party.registrant_type != Null) & (party.anonymised == Null)
        if self.situation == 'disabled':
            where &= party.disabled < dt.datetime.combine(cutoff, dt.time())
        else:
            where &= party.id.in_(self._program_query(cutoff))
        selected = party.select(party.id, where=where)
        group_membership = GroupMembership.__table__()
        members = group_membership.select(group_membership.individual,
            where=group_membership.group.in_(selected)
            & current(group_membership, date))
        kept = Party.__table__()
        return kept.select(kept.id,
            where=kept.id.in_(Union(selected, members))
            & (kept.anonymised == Null))

    def _program_query(self, cutoff):
        "The registrants whose program memberships ended before `cutoff`."
        Membership = Pool().get('spp.program.membership')
        membership = Membership.__table__()
        if self.situation == 'exited':
            ended = Coalesce(membership.exit_date, membership.state_date)
            having = (Sum(Case((membership.state.in_(
                                CLOSED_MEMBERSHIP_STATES), 0), else_=1)) == 0)
            having &= Sum(Case((membership.state == 'exited', 1),
                    else_=0)) > 0
        else:
            ended = membership.state_date
            having = Sum(Case((membership.state == 'not_eligible', 0),
                    else_=1)) == 0
        return membership.select(membership.registrant,
            group_by=[membership.registrant],
            having=having & (Max(ended) < cutoff))


def current(group_membership, date):
    "SQL: the group membership is in force on `date`."
    return ((group_membership.end_date == Null)
        | (group_membership.end_date > date))


class RetentionRun(ModelSQL, ModelView):
    "Retention Run"
    __string__ = "Retention Run"
    __name__ = 'spp.retention.run'
    date = fields.Date("Date", required=True, readonly=True)
    policy = fields.Many2One('spp.retention.policy', "Policy",
        required=True, readonly=True, ondelete='RESTRICT')
    cutoff = fields.Date("Situation Before", readonly=True,
        help="Registrants whose situation began before this day were "
        "anonymised.")
    anonymised_count = fields.Integer("Anonymised", readonly=True)
    skipped_count = fields.Integer("Skipped", readonly=True)
    registrants = fields.One2Many('spp.retention.run.registrant', 'run',
        "Anonymised Registrants", readonly=True)
    skipped = fields.One2Many('spp.retention.run.skip', 'run', "Skipped",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return f'{self.policy.rec_name} @ {self.date}'

    @classmethod
    def execute(cls, policy, date=None):
        """Anonymise what `policy` retains no longer on `date` (today):
        the run, with the registrants it anonymised and those it
        skipped."""
        pool = Pool()
        Line = pool.get('spp.retention.run.registrant')
        Skip = pool.get('spp.retention.run.skip')
        date = date or pool.get('ir.date').today()
        run, = cls.create([{'date': date, 'policy': policy.id,
                    'cutoff': policy.cutoff(date)}])
        line = Line.__table__()
        skip = Skip.__table__()
        cursor = Transaction().connection.cursor()
        user = Transaction().user
        stamp = dt.datetime.now()
        candidates = policy.candidates_query(date)
        cursor.execute(*line.insert(
                [line.run, line.registrant, line.create_uid,
                    line.create_date],
                candidates.select(Literal(run.id), candidates.id,
                    Literal(user), Literal(stamp))))
        listed = line.select(line.registrant, where=line.run == run.id)
        # Read when each statement runs: without those skipped so far.
        remaining = line.select(line.registrant, where=(line.run == run.id)
            & ~line.registrant.in_(skip.select(skip.registrant,
                    where=skip.run == run.id)))
        for reason, query in skip_queries(listed, remaining, date):
            cursor.execute(*skip.insert(
                    [skip.run, skip.registrant, skip.reason,
                        skip.create_uid, skip.create_date],
                    line.select(Literal(run.id), line.registrant,
                        Literal(reason), Literal(user), Literal(stamp),
                        where=(line.run == run.id)
                        & line.registrant.in_(query))))
        cursor.execute(*line.delete(where=(line.run == run.id)
                & line.registrant.in_(skip.select(skip.registrant,
                        where=skip.run == run.id))))
        anonymise(line.select(line.registrant, where=line.run == run.id),
            date)
        cursor.execute(*line.select(line.registrant,
                where=line.run == run.id, order_by=[line.registrant]))
        ids = [i for i, in cursor]
        cursor.execute(*skip.select(skip.registrant,
                where=skip.run == run.id, group_by=[skip.registrant]))
        skipped = len(cursor.fetchall())
        cls.write([run], {'anonymised_count': len(ids),
                'skipped_count': skipped})
        cls.anonymised(run, ids)
        return run

    @classmethod
    def anonymised(cls, run, ids):
        """Called once a run anonymised the registrants of `ids`.

        An extension point: the audit trail records the run here."""


def skip_queries(listed, remaining, date):
    """(reason, SQL query of registrant ids) of the registrants among
    `listed` (a query of ids) that must be kept as they are, for the
    addons installed; the last reason reads `remaining` (the listed not
    skipped yet)."""
    pool = Pool()
    if in_pool('spp.payment'):
        payment = pool.get('spp.payment').__table__()
        yield 'open_payment', Union(
            payment.select(payment.registrant,
                where=payment.state.in_(OPEN_PAYMENT_STATES)
                & payment.registrant.in_(listed)),
            payment.select(payment.payee,
                where=payment.state.in_(OPEN_PAYMENT_STATES)
                & payment.payee.in_(listed)))
    if in_pool('spp.entitlement'):
        entitlement = pool.get('spp.entitlement').__table__()
        yield 'open_entitlement', entitlement.select(entitlement.registrant,
            where=entitlement.state.in_(OPEN_ENTITLEMENT_STATES)
            & entitlement.registrant.in_(listed))
    if in_pool('spp.grievance'):
        grievance = pool.get('spp.grievance').__table__()
        yield 'open_grievance', Union(
            grievance.select(grievance.registrant,
                where=grievance.state.in_(OPEN_GRIEVANCE_STATES)
                & grievance.registrant.in_(listed)),
            grievance.select(grievance.complainant,
                where=grievance.state.in_(OPEN_GRIEVANCE_STATES)
                & grievance.complainant.in_(listed)))
    if in_pool('spp.change_request'):
        request = pool.get('spp.change_request').__table__()
        yield 'open_change_request', request.select(request.registrant,
            where=request.state.in_(OPEN_CHANGE_REQUEST_STATES)
            & request.registrant.in_(listed))
    # A current member of a household that stays as it is: a household
    # neither anonymised already nor anonymised by this run (not listed,
    # or skipped for one of the reasons above).
    GroupMembership = pool.get('spp.group.membership')
    Party = pool.get('party.party')
    membership = GroupMembership.__table__()
    group = Party.__table__()
    yield 'active_household', membership.join(group,
        condition=membership.group == group.id).select(
        membership.individual,
        where=membership.individual.in_(listed)
        & current(membership, date)
        & ~membership.group.in_(remaining)
        & (group.anonymised == Null))


class RetentionRunRegistrant(ModelSQL, ModelView):
    "Retention Run - Anonymised Registrant"
    __string__ = "Anonymised Registrant"
    __name__ = 'spp.retention.run.registrant'
    run = fields.Many2One('spp.retention.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    registrant = fields.Many2One('party.party', "Registrant",
        required=True, ondelete='RESTRICT', readonly=True,
        context={'active_test': False})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.run, Index.Range()),
                (t.registrant, Index.Range())))


class RetentionRunSkip(ModelSQL, ModelView):
    "Retention Run - Skipped Registrant"
    __string__ = "Skipped Registrant"
    __name__ = 'spp.retention.run.skip'
    run = fields.Many2One('spp.retention.run', "Run", required=True,
        ondelete='CASCADE', readonly=True)
    registrant = fields.Many2One('party.party', "Registrant",
        required=True, ondelete='RESTRICT', readonly=True,
        context={'active_test': False})
    reason = fields.Selection(SKIP_REASONS, "Reason", required=True,
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.run, Index.Range()),
                (t.registrant, Index.Range())))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    anonymised = fields.Date("Anonymised", readonly=True,
        states={'invisible': ~Eval('anonymised')},
        help="When the retention job anonymised the registrant: their "
        "personal data is gone, the records of their programs and "
        "payments stay.")

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        default.setdefault('anonymised', None)
        return super().copy(parties, default=default)

