"""Grievances: complaints and appeals, from receipt to closure, with their
deadlines (SLA), escalations and timeline.

States: new → acknowledged → investigating → resolved → closed; a resolved
or closed ticket can be reopened (a new resolution period), then resolved
again. An appeal is a new ticket linked to the one it contests, sent to
the next level. sla.py keeps the SLA status of open tickets in SQL."""
import datetime as dt

from sql import Literal

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from . import sla
from .category import SEVERITIES
from .deadline import due_dates
from .exceptions import GrievanceError

STATES = [
    ('new', "New"),
    ('acknowledged', "Acknowledged"),
    ('investigating', "Under Investigation"),
    ('resolved', "Resolved"),
    ('closed', "Closed"),
    ('reopened', "Reopened"),
    ]
OPEN_STATES = ['new', 'acknowledged', 'investigating', 'reopened']
RESOLVABLE_STATES = ['acknowledged', 'investigating', 'reopened']
COMPLAINANT_KINDS = [
    ('registrant', "A Registrant"),
    ('other', "A Person Not in the Registry"),
    ('anonymous', "Anonymous"),
    ]
PRIORITIES = [
    ('low', "Low"),
    ('normal', "Normal"),
    ('high', "High"),
    ('urgent', "Urgent"),
    ]
DECISIONS = [
    (None, ""),
    ('upheld', "Upheld"),
    ('partly_upheld', "Partly Upheld"),
    ('not_upheld', "Not Upheld"),
    ('withdrawn', "Withdrawn"),
    ('referred', "Referred Elsewhere"),
    ]
# Who the complainant is: hidden on a confidential ticket from all but the
# sensitive cases group.
IDENTITY_FIELDS = {'complainant', 'complainant_name', 'complainant_contact'}
SENSITIVE_GROUP = ('spp_grievance', 'group_sensitive')
# Set by the workflow, the category and the SLA pass, never by a client.
SYSTEM_FIELDS = {'reference', 'state', 'sensitive', 'acknowledged_on',
    'acknowledged_by', 'resolved_on', 'resolved_by', 'closed_on',
    'ack_due', 'ack_risk_on', 'resolution_due', 'resolution_risk_on',
    'sla_status', 'escalated_on', 'appeal_of', 'events', 'appeals'}
# What still changes on a resolved or closed ticket.
ALWAYS_EDITABLE = {'attachments'}


def in_group(module, xml_id):
    "Whether the current user is in the group (root is)."
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    user_id = Transaction().user
    if not user_id:
        return True
    return ModelData.get_id(module, xml_id) in User.get_groups()


def sees_identities():
    "Whether the current user may know who filed a confidential ticket."
    # The server's own reads (receipts, the API's answers, the audit
    # trail) are not a user's view.
    if not Transaction().check_access:
        return True
    return in_group(*SENSITIVE_GROUP)


class Grievance(Workflow, ModelSQL, ModelView):
    "Grievance"
    __string__ = "Grievance"
    __name__ = 'spp.grievance'
    _rec_name = 'reference'
    _open = {'readonly': ~Eval('state').in_(OPEN_STATES)}

    reference = fields.Char("Reference", readonly=True)
    channel = fields.Many2One('spp.grievance.channel', "Channel",
        required=True, ondelete='RESTRICT', states=_open)
    received_on = fields.DateTime("Received On", required=True,
        states={'readonly': Eval('state') != 'new'},
        help="When the complaint reached us: the deadlines count from it.")
    complainant_kind = fields.Selection(COMPLAINANT_KINDS, "Complainant",
        required=True, sort=False, states=_open)
    complainant = fields.Many2One('party.party', "Complainant Registrant",
        ondelete='RESTRICT',
        domain=[('registrant_type', '!=', None)],
        states={
            'required': Eval('complainant_kind') == 'registrant',
            'invisible': Eval('complainant_kind') != 'registrant',
            'readonly': ~Eval('state').in_(OPEN_STATES),
            })
    complainant_name = fields.Char("Complainant Name",
        states={
            'invisible': Eval('complainant_kind') != 'other',
            'readonly': ~Eval('state').in_(OPEN_STATES),
            })
    complainant_contact = fields.Char("Complainant Contact",
        states={
            'invisible': Eval('complainant_kind') == 'anonymous',
            'readonly': ~Eval('state').in_(OPEN_STATES),
            },
        help="A phone number, an email or an address to answer to.")
    confidential = fields.Boolean("Confidential Complainant",
        states=_open,
        help="Who complained is hidden from everyone but the Grievance "
        "Sensitive Cases group, in the client and over the APIs.")
    registrant = fields.Many2One('party.party', "About Registrant",
        ondelete='RESTRICT', domain=[('registrant_type', '!=', None)],
        states=_open,
        help="The individual or household the complaint is about.")
    area = fields.Many2One('spp.area', "Area", required=True,
        ondelete='RESTRICT', states=_open,
        help="Where the complaint is handled: who may see it.")
    category = fields.Many2One('spp.grievance.category', "Category",
        required=True, ondelete='RESTRICT',
        domain=[('parent', '=', None)], states=_open)
    subcategory = fields.Many2One('spp.grievance.category', "Subcategory",
        ondelete='RESTRICT',
        domain=[('parent', '=', Eval('category', -1))], states=_open)
    description = fields.Text("Description", required=True, states=_open)
    attachments = fields.One2Many('ir.attachment', 'resource',
        "Attachments")
    priority = fields.Selection(PRIORITIES, "Priority", required=True,
        sort=False, states=_open)
    severity = fields.Selection(SEVERITIES, "Severity", sort=False,
        states=_open)
    sensitive = fields.Boolean("Sensitive", readonly=True,
        help="From the category: seen only by the Grievance Sensitive "
        "Cases group.")
    team = fields.Many2One('spp.grievance.team', "Team",
        ondelete='RESTRICT', states=_open)
    level = fields.Function(fields.Selection('get_levels', "Level"),
        'on_change_with_level')
    assigned_to = fields.Many2One('res.user', "Assigned To",
        ondelete='SET NULL', states=_open)
    in_my_teams = fields.Function(fields.Boolean("In My Teams"),
        'get_in_my_teams', searcher='search_in_my_teams')
    # For the state of the Assign to Me button: the client's PYSON does
    # not know the user.
    assigned_to_me = fields.Function(fields.Boolean("Assigned to Me"),
        'on_change_with_assigned_to_me')
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)
    state_string = state.translated('state')

    acknowledged_on = fields.DateTime("Acknowledged On", readonly=True)
    acknowledged_by = fields.Many2One('res.user', "Acknowledged By",
        readonly=True, ondelete='RESTRICT')
    decision = fields.Selection(DECISIONS, "Decision", sort=False,
        states={
            'readonly': ~Eval('state').in_(RESOLVABLE_STATES),
            'required': Eval('state').in_(['resolved', 'closed']),
            })
    resolution = fields.Text("Answer to the Complainant",
        states={'readonly': ~Eval('state').in_(RESOLVABLE_STATES)},
        help="What the complainant is told: the decision and its reasons.")
    resolved_on = fields.DateTime("Resolved On", readonly=True)
    resolved_by = fields.Many2One('res.user', "Resolved By", readonly=True,
        ondelete='RESTRICT')
    closed_on = fields.DateTime("Closed On", readonly=True)

    ack_due = fields.DateTime("Acknowledge By", readonly=True)
    ack_risk_on = fields.DateTime("Acknowledgement at Risk On",
        readonly=True)
    resolution_due = fields.DateTime("Resolve By", readonly=True)
    resolution_risk_on = fields.DateTime("Resolution at Risk On",
        readonly=True)
    sla_status = fields.Selection(sla.STATUSES, "SLA", readonly=True,
        sort=False)
    escalated_on = fields.DateTime("Escalated On", readonly=True)

    appeal_of = fields.Many2One('spp.grievance', "Appeal Of",
        readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('appeal_of')})
    appeals = fields.One2Many('spp.grievance', 'appeal_of', "Appeals",
        readonly=True)
    events = fields.One2Many('spp.grievance.event', 'grievance',
        "Timeline", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.reference, Index.Equality(cardinality='high'))),
                # The SLA pass walks the open tickets only.
                Index(t, (t.state, Index.Equality()),
                    where=t.state.in_(OPEN_STATES)),
                Index(t, (t.assigned_to, Index.Equality())),
                Index(t, (t.complainant, Index.Equality())),
                Index(t, (t.registrant, Index.Equality())),
                })
        cls._sql_constraints += [
            ('reference_unique', Unique(t, t.reference),
                'spp_grievance.msg_reference_unique'),
            ]
        cls._order = [('received_on', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('new', 'acknowledged'),
            ('acknowledged', 'investigating'),
            ('reopened', 'investigating'),
            ('acknowledged', 'resolved'),
            ('investigating', 'resolved'),
            ('reopened', 'resolved'),
            ('resolved', 'closed'),
            ('resolved', 'reopened'),
            ('closed', 'reopened'),
            }
        cls._buttons.update({
                'acknowledge': {
                    'invisible': Eval('state') != 'new',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'investigate': {
                    'invisible': ~Eval('state').in_(
                        ['acknowledged', 'reopened']),
                    'icon': 'tryton-search',
                    'depends': ['state'],
                    },
                'resolve': {
                    'invisible': ~Eval('state').in_(RESOLVABLE_STATES),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'resolved',
                    'icon': 'tryton-close',
                    'depends': ['state'],
                    },
                'reopen_wizard': {
                    'invisible': ~Eval('state').in_(['resolved', 'closed']),
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'escalate_wizard': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'appeal_wizard': {
                    'invisible': ~Eval('state').in_(['resolved', 'closed']),
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                'take': {
                    'invisible': (~Eval('state').in_(OPEN_STATES)
                        | Eval('assigned_to_me', False)),
                    'icon': 'tryton-ok',
                    'depends': ['state', 'assigned_to_me'],
                    },
                })

    @staticmethod
    def default_state():
        return 'new'

    @staticmethod
    def default_received_on():
        return dt.datetime.now().replace(microsecond=0)

    @staticmethod
    def default_complainant_kind():
        return 'registrant'

    @staticmethod
    def default_priority():
        return 'normal'

    @staticmethod
    def default_confidential():
        return False

    @staticmethod
    def default_sla_status():
        return 'on_time'

    @classmethod
    def default_channel(cls):
        Channel = Pool().get('spp.grievance.channel')
        channels = Channel.search([('code', '=', 'walk_in')], limit=1)
        return channels[0].id if channels else None

    @classmethod
    def get_levels(cls):
        Team = Pool().get('spp.grievance.team')
        return [(None, "")] + Team.fields_get(['level'])['level']['selection']

    @fields.depends('team')
    def on_change_with_level(self, name=None):
        return self.team.level if self.team else None

    @fields.depends('complainant', 'registrant', 'area')
    def on_change_complainant(self):
        if self.complainant and not self.registrant:
            self.registrant = self.complainant
        self._area_from_registrant()

    @fields.depends('registrant', 'complainant', 'area')
    def on_change_registrant(self):
        self._area_from_registrant()

    @fields.depends('registrant', 'complainant', 'area')
    def _area_from_registrant(self):
        for party in [self.registrant, self.complainant]:
            if party and getattr(party, 'area', None):
                self.area = party.area
                return

    @fields.depends('category', 'subcategory', 'severity')
    def on_change_category(self):
        if self.subcategory and self.subcategory.parent != self.category:
            self.subcategory = None
        self.on_change_subcategory()

    @fields.depends('category', 'subcategory', 'severity')
    def on_change_subcategory(self):
        source = self.subcategory or self.category
        if source:
            self.severity = source.setting('severity') or self.severity

    @fields.depends('assigned_to')
    def on_change_with_assigned_to_me(self, name=None):
        return bool(self.assigned_to
            and self.assigned_to.id == Transaction().user)

    @classmethod
    def get_in_my_teams(cls, grievances, name):
        "The user's teams searched once for the batch."
        Team = Pool().get('spp.grievance.team')
        teams = set(Team.of_user(Transaction().user))
        return {g.id: g.team in teams for g in grievances}

    @classmethod
    def search_in_my_teams(cls, name, clause):
        Team = Pool().get('spp.grievance.team')
        teams = [t.id for t in Team.of_user(Transaction().user)]
        _, operator, value = clause[:3]
        positive = (operator == '=') == bool(value)
        return [('team', 'in' if positive else 'not in', teams)]

    # Confidential complainants ------------------------------------------

    @classmethod
    def read(cls, ids, fields_names):
        result = super().read(ids, fields_names)
        hidden = IDENTITY_FIELDS.intersection(
            f.split('.', 1)[0] for f in (fields_names or cls._fields))
        if hidden and not sees_identities():
            confidential = cls._confidential_ids(ids)
            for row in result:
                if row['id'] in confidential:
                    for name in list(row):
                        if name.split('.', 1)[0] in hidden:
                            row[name] = None
        return result

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        # Exports read through the records, not through read().
        hidden = [i for i, name in enumerate(fields_names)
            if name.split('/', 1)[0].split('.', 1)[0] in IDENTITY_FIELDS]
        if not hidden or sees_identities():
            return super().export_data(records, fields_names, header=header)
        confidential = cls._confidential_ids([r.id for r in records])
        data = super().export_data([], fields_names, header=header)
        for record in records:
            rows = super().export_data([record], fields_names)
            if record.id in confidential:
                for row in rows:
                    for i in hidden:
                        row[i] = None
            data.extend(rows)
        return data

    @classmethod
    def _confidential_ids(cls, ids):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        found = set()
        for sub_ids in grouped_slice(ids, 1000):
            cursor.execute(*table.select(table.id,
                    where=table.id.in_(list(sub_ids))
                    & (table.confidential == Literal(True))))
            found.update(i for i, in cursor)
        return found

    @classmethod
    def search(cls, domain, *args, **kwargs):
        # Whoever may not know the complainant of a confidential ticket
        # cannot find it by its complainant either.
        if _mentions(domain, IDENTITY_FIELDS) and not sees_identities():
            domain = [domain, ('confidential', '=', False)]
        return super().search(domain, *args, **kwargs)

    # Creation and changes -------------------------------------------------

    @classmethod
    def create(cls, vlist):
        if Transaction().check_access:
            cls._check_client_values(vlist)
        pool = Pool()
        Configuration = pool.get('spp.grievance.configuration')
        Event = pool.get('spp.grievance.event')
        Category = pool.get('spp.grievance.category')
        Team = pool.get('spp.grievance.team')
        Area = pool.get('spp.area')
        config = Configuration(1)
        vlist = [v.copy() for v in vlist]
        timed = []
        # What the category implies, set before the one INSERT: the ticket
        # is born sensitive (the rules see it from its first row) and with
        # its team and deadlines (an intake is one statement, not three).
        for i, values in enumerate(vlist):
            if not values.get('reference'):
                values['reference'] = config.get_reference()
            values['received_on'] = (values.get('received_on')
                or cls.default_received_on())
            category = (Category(values['category'])
                if values.get('category') else None)
            subcategory = (Category(values['subcategory'])
                if values.get('subcategory') else None)
            values['sensitive'] = any(c.is_sensitive
                for c in [category, subcategory] if c)
            source = subcategory or category
            if not source:
                continue  # refused by the required category
            if not values.get('severity'):
                values['severity'] = source.setting('severity')
            if not values.get('team'):
                team = Team.for_ticket(category, Area(values['area'])
                    if values.get('area') else None)
                values['team'] = team.id if team else None
            timed.append((i, source, values['received_on']))
        for i, deadlines in cls._deadlines(timed).items():
            vlist[i].update(deadlines)
        grievances = super().create(vlist)
        sla.refresh([g.id for g in grievances])
        Event.add(grievances, 'received')
        return grievances

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        recategorised, restarted, reassigned = [], [], []
        for grievances, values in zip(actions, actions):
            if {'category', 'subcategory'} & values.keys():
                recategorised.extend(grievances)
            elif 'received_on' in values:
                restarted.extend(grievances)
            # By hand in the form; the workflow's own assignments (take,
            # escalate) say so themselves.
            if 'assigned_to' in values and Transaction().check_access:
                reassigned.extend(grievances)
        super().write(*args)
        if reassigned:
            Pool().get('spp.grievance.event').add(reassigned, 'assigned')
        with without_check_access():
            if recategorised:
                cls._apply_category(cls.browse(recategorised))
            if restarted:
                cls._set_deadlines(cls.browse(restarted))

    @classmethod
    def _check_client_values(cls, vlist):
        "A client sets none of the fields the system sets."
        for values in vlist:
            refused = SYSTEM_FIELDS & values.keys()
            if refused:
                raise AccessError(gettext(
                        'spp_grievance.msg_system_fields',
                        fields=', '.join(sorted(
                                cls._fields[n].string for n in refused))))

    @classmethod
    def check_modification(cls, mode, grievances, values=None,
            external=False):
        super().check_modification(
            mode, grievances, values=values, external=external)
        if not external or mode != 'write':
            return
        cls._check_client_values([values])
        for grievance in grievances:
            if (grievance.state not in OPEN_STATES
                    and set(values) - ALWAYS_EDITABLE):
                raise AccessError(gettext('spp_grievance.msg_locked',
                        grievance=grievance.rec_name,
                        state=grievance.state_string))
            if ({'decision', 'resolution'} & values.keys()
                    and grievance.state not in RESOLVABLE_STATES):
                raise AccessError(gettext(
                        'spp_grievance.msg_decide_after_acknowledging',
                        grievance=grievance.rec_name))

    @classmethod
    def _apply_category(cls, grievances):
        """A new category's sensitivity and deadlines; its severity where
        none was chosen, its team while the ticket is new."""
        Team = Pool().get('spp.grievance.team')
        for grievance in grievances:
            source = grievance.subcategory or grievance.category
            grievance.sensitive = grievance.category.is_sensitive or bool(
                grievance.subcategory and grievance.subcategory.is_sensitive)
            if not grievance.severity:
                grievance.severity = source.setting('severity')
            if grievance.state == 'new':
                grievance.team = Team.for_ticket(
                    grievance.category, grievance.area)
        cls.save(grievances)
        cls._set_deadlines(grievances)

    @classmethod
    def _deadlines(cls, items, kinds=('ack', 'resolution')):
        """{key: deadline values} of `items` (key, (sub)category, start):
        each kind's due date and the moment it is at risk."""
        Configuration = Pool().get('spp.grievance.configuration')
        share = Configuration(1).at_risk_share / 100
        by_setting = {}
        for key, source, start in items:
            for kind in kinds:
                setting = (kind, source.setting(f'{kind}_amount'),
                    source.setting(f'{kind}_unit'))
                by_setting.setdefault(setting, []).append((key, start))
        values = {key: {} for key, _, _ in items}
        for (kind, amount, unit), group in by_setting.items():
            dues = due_dates([start for _, start in group], amount, unit)
            for (key, start), due in zip(group, dues):
                values[key][f'{kind}_due'] = due
                values[key][f'{kind}_risk_on'] = (
                    start + (due - start) * share if due else None)
        return values

    @classmethod
    def _set_deadlines(cls, grievances, resolution_only=False,
            starts=None):
        """The deadlines from each ticket's (sub)category, counted from its
        receipt (or `starts`, by id); then its SLA status."""
        deadlines = cls._deadlines([(g.id, g.subcategory or g.category,
                    (starts or {}).get(g.id, g.received_on))
                for g in grievances],
            kinds=['resolution'] if resolution_only else ['ack', 'resolution'])
        to_write = []
        for grievance in grievances:
            to_write.extend([[grievance], deadlines[grievance.id]])
        if to_write:
            # Not through write(): its hook would set them again.
            super().write(*to_write)
        sla.refresh([g.id for g in grievances])

    @classmethod
    def copy(cls, grievances, default=None):
        default = dict(default or {})
        for name in ['reference', 'events', 'appeals', 'acknowledged_on',
                'acknowledged_by', 'resolved_on', 'resolved_by',
                'closed_on', 'escalated_on', 'decision', 'resolution',
                'attachments']:
            default.setdefault(name, None)
        default.setdefault('state', 'new')
        return super().copy(grievances, default=default)

    @classmethod
    def delete(cls, grievances):
        for grievance in grievances:
            if grievance.state != 'new':
                raise GrievanceError(gettext(
                        'spp_grievance.msg_delete_handled',
                        grievance=grievance.rec_name))
        super().delete(grievances)

    # Workflow ---------------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('acknowledged')
    def acknowledge(cls, grievances):
        cls._stamp(grievances, 'acknowledged')
        Pool().get('spp.grievance.event').add(grievances, 'acknowledged')
        sla.refresh([g.id for g in grievances])

    @classmethod
    @ModelView.button
    @Workflow.transition('investigating')
    def investigate(cls, grievances):
        Pool().get('spp.grievance.event').add(grievances, 'investigating')

    @classmethod
    @ModelView.button
    @Workflow.transition('resolved')
    def resolve(cls, grievances):
        for grievance in grievances:
            if not grievance.decision:
                raise GrievanceError(gettext(
                        'spp_grievance.msg_resolve_without_decision',
                        grievance=grievance.rec_name))
        cls._stamp(grievances, 'resolved')
        Pool().get('spp.grievance.event').add(grievances, 'resolved',
            comment=lambda g: dict(DECISIONS)[g.decision])
        sla.refresh([g.id for g in grievances], final=True)

    @classmethod
    @ModelView.button
    def close(cls, grievances):
        # Before the transition: a ticket closed straight from new or
        # acknowledged says why it cannot be, not "invalid transition".
        for grievance in grievances:
            if grievance.state != 'resolved':
                key = ('spp_grievance.msg_close_never_acknowledged'
                    if not grievance.acknowledged_on
                    else 'spp_grievance.msg_close_unresolved')
                raise GrievanceError(gettext(key, grievance=grievance.rec_name))
        cls._close(grievances)

    @classmethod
    @Workflow.transition('closed')
    def _close(cls, grievances):
        cls.write(grievances, {'closed_on': dt.datetime.now()})
        Pool().get('spp.grievance.event').add(grievances, 'closed')

    @classmethod
    def reopen(cls, grievances, reason=None):
        """Back to work with a new resolution period, from now."""
        if not reason:
            raise GrievanceError(gettext('spp_grievance.msg_reason_required'))
        now = dt.datetime.now()
        # The workflow's own writes (the wizard checked the user's access).
        with without_check_access():
            cls._reopen(grievances)
            cls.write(grievances, {
                    'resolved_on': None, 'resolved_by': None,
                    'closed_on': None, 'escalated_on': None})
            Pool().get('spp.grievance.event').add(grievances, 'reopened',
                comment=reason)
            cls._set_deadlines(cls.browse(grievances), resolution_only=True,
                starts={g.id: now for g in grievances})

    @classmethod
    @Workflow.transition('reopened')
    def _reopen(cls, grievances):
        pass

    @classmethod
    def escalate(cls, grievances, reason, team=None):
        """To `team` (default: each ticket's team's next level) with the
        reason, assigned to that team's manager."""
        pool = Pool()
        Event = pool.get('spp.grievance.event')
        if not reason:
            raise GrievanceError(gettext('spp_grievance.msg_reason_required'))
        for grievance in grievances:
            if grievance.state not in OPEN_STATES:
                raise GrievanceError(gettext(
                        'spp_grievance.msg_escalate_closed',
                        grievance=grievance.rec_name))
            target = team or (grievance.team.escalation_team
                if grievance.team else None)
            if not target:
                raise GrievanceError(gettext(
                        'spp_grievance.msg_no_escalation_team',
                        grievance=grievance.rec_name))
            previous = grievance.team
            # The workflow's own write (the wizard checked the user's
            # access): escalated_on is the system's.
            with without_check_access():
                cls.write([grievance], {
                        'team': target.id,
                        'assigned_to': (target.manager.id
                            if target.manager else None),
                        'escalated_on': dt.datetime.now(),
                        })
            Event.add([grievance], 'escalated', comment=reason,
                from_team=previous)

    @classmethod
    def appeal(cls, grievances, description, team=None):
        """File an appeal of each resolved or closed ticket: a new ticket
        of the same complainant and category, linked to it, at the next
        level. Return the appeals."""
        Event = Pool().get('spp.grievance.event')
        if not description:
            raise GrievanceError(gettext(
                    'spp_grievance.msg_appeal_description_required'))
        vlist = []
        for grievance in grievances:
            if grievance.state not in ('resolved', 'closed'):
                raise GrievanceError(gettext(
                        'spp_grievance.msg_appeal_open',
                        grievance=grievance.rec_name))
            target = team or (grievance.team.escalation_team
                if grievance.team else None) or grievance.team
            vlist.append({
                    'appeal_of': grievance.id,
                    'channel': grievance.channel.id,
                    'complainant_kind': grievance.complainant_kind,
                    'complainant': (grievance.complainant.id
                        if grievance.complainant else None),
                    'complainant_name': grievance.complainant_name,
                    'complainant_contact': grievance.complainant_contact,
                    'confidential': grievance.confidential,
                    'registrant': (grievance.registrant.id
                        if grievance.registrant else None),
                    'area': grievance.area.id,
                    'category': grievance.category.id,
                    'subcategory': (grievance.subcategory.id
                        if grievance.subcategory else None),
                    'priority': grievance.priority,
                    'severity': grievance.severity,
                    'description': description,
                    'team': target.id if target else None,
                    'assigned_to': (target.manager.id
                        if target and target.manager else None),
                    })
        # Copied as the contested ticket holds them, confidential or not.
        with Transaction().set_context(_check_access=False):
            appeals = cls.create(vlist)
        references = {a.appeal_of.id: a.reference for a in appeals}
        Event.add(grievances, 'appealed',
            comment=lambda g: references[g.id])
        return appeals

    @classmethod
    @ModelView.button_action('spp_grievance.wizard_reopen')
    def reopen_wizard(cls, grievances):
        pass

    @classmethod
    @ModelView.button_action('spp_grievance.wizard_escalate')
    def escalate_wizard(cls, grievances):
        pass

    @classmethod
    @ModelView.button_action('spp_grievance.wizard_appeal')
    def appeal_wizard(cls, grievances):
        pass

    @classmethod
    @ModelView.button
    def take(cls, grievances):
        "Assign the tickets to oneself."
        Event = Pool().get('spp.grievance.event')
        cls.write(grievances, {'assigned_to': Transaction().user})
        Event.add(grievances, 'assigned')

    @classmethod
    def _stamp(cls, grievances, what):
        cls.write(grievances, {
                f'{what}_on': dt.datetime.now(),
                f'{what}_by': Transaction().user or None,
                })

    # SLA ----------------------------------------------------------------

    @classmethod
    def run_sla(cls):
        "The cron pass over every open ticket (sla.py)."
        return sla.run()

    # What a complainant may know ------------------------------------------

    def receipt_text(self):
        "The receipt: the reference and what happens next."
        return gettext('spp_grievance.msg_receipt',
            reference=self.reference,
            ack_due=(self.ack_due.strftime('%Y-%m-%d %H:%M')
                if self.ack_due else '-'),
            resolution_due=(self.resolution_due.strftime('%Y-%m-%d %H:%M')
                if self.resolution_due else '-'))


def _mentions(domain, names):
    "Whether a search domain filters on one of `names`."
    if isinstance(domain, (list, tuple)):
        if (len(domain) >= 3 and isinstance(domain[0], str)
                and domain[0] not in ('AND', 'OR')):
            return domain[0].split('.', 1)[0] in names
        return any(_mentions(d, names) for d in domain)
    return False
