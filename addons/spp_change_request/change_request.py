"""Change requests: a proposed change of the registry, validated stage by
stage by other people than its requester, then applied.

States: draft → submitted (one validation stage after the other: `stage`)
→ approved → applied; submitted → revision (back to the requester) or
rejected; cancelled from any open state. The kind's implementation
(kinds.py) checks, previews and applies; validation.py decides."""
import datetime as dt

from sql import Column

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.rpc import RPC
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction, without_check_access

from . import editable, validation
from .kinds import refuse
from .kinds_documents import EXIT_REASONS

STATES = [
    ('draft', "Draft"),
    ('submitted', "Submitted"),
    ('revision', "Revision Requested"),
    ('approved', "Approved"),
    ('applied', "Applied"),
    ('rejected', "Rejected"),
    ('cancelled', "Cancelled"),
    ]
OPEN_STATES = ['draft', 'submitted', 'revision', 'approved']
EDITABLE_STATES = ['draft', 'revision']
# What a requester may still change once the request left their hands.
ALWAYS_EDITABLE = {'notes'}


def _shown(*implementations, required=False):
    "States of a proposed-value field shown for some implementations."
    shown = Eval('implementation').in_(list(implementations))
    states = {
        'invisible': ~shown,
        'readonly': ~Eval('state').in_(EDITABLE_STATES),
        }
    if required:
        states['required'] = shown
    return states


class ChangeRequest(Workflow, ModelSQL, ModelView):
    "Change Request"
    __string__ = "Change Request"
    __name__ = 'spp.change_request'
    _rec_name = 'reference'
    _states = {'readonly': ~Eval('state').in_(EDITABLE_STATES)}

    reference = fields.Char("Reference", readonly=True)
    kind = fields.Many2One('spp.change_request.kind', "Kind", required=True,
        ondelete='RESTRICT', states={'readonly': Eval('state') != 'draft'})
    implementation = fields.Function(fields.Char("Implementation"),
        'on_change_with_implementation')
    target = fields.Function(fields.Char("Target"),
        'on_change_with_target')
    registrant = fields.Many2One('party.party', "Registrant",
        ondelete='RESTRICT',
        domain=[If(Eval('target').in_(['individual', 'group']),
                ('registrant_type', '=', Eval('target')),
                ('registrant_type', '!=', None))],
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('target'),
            'required': Bool(Eval('target')),
            },
        help="The individual or group the request is about.")
    area = fields.Many2One('spp.area', "Area", ondelete='RESTRICT',
        states={
            'readonly': (Eval('state') != 'draft') | Bool(Eval('target')),
            'required': ~Eval('target'),
            },
        help="The registrant's area: who may see and validate the request.")
    requested_by = fields.Many2One('res.user', "Requested By",
        readonly=True, ondelete='RESTRICT')
    requested_on = fields.DateTime("Requested On", readonly=True)
    submitted_on = fields.DateTime("Submitted On", readonly=True)
    reason = fields.Text("Reason", states=_states,
        help="Why the change is needed; shown to the validators.")
    notes = fields.Text("Notes")
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)
    stage = fields.Many2One('spp.change_request.stage', "Stage",
        readonly=True, ondelete='RESTRICT',
        help="The validation stage the request waits at.")
    status = fields.Function(fields.Char("Status"), 'get_status')
    waiting_for_me = fields.Function(fields.Boolean("Waiting for Me"),
        'get_waiting_for_me', searcher='search_waiting_for_me')
    decisions = fields.One2Many('spp.change_request.decision', 'request',
        "Timeline", readonly=True)
    lines = fields.One2Many('spp.change_request.line', 'request',
        "Changes", readonly=True)
    conflicts = fields.Function(fields.Many2Many('spp.change_request',
            None, None, "Conflicting Requests",
            help="Other open requests that change the same fields or the "
            "same household."), 'get_conflicts')
    documents = fields.One2Many('ir.attachment', 'resource', "Documents",
        states={'readonly': ~Eval('state').in_(EDITABLE_STATES)})
    applied_on = fields.DateTime("Applied On", readonly=True)
    applied_by = fields.Many2One('res.user', "Applied By", readonly=True,
        ondelete='RESTRICT')

    # Proposed values: one group of fields per kind (kinds_*.py).
    proposed = fields.Dict('spp.change_request.kind.field',
        "Proposed Values", domain=[('kind', '=', Eval('kind', -1))],
        states=_shown('edit_individual', 'edit_group'))
    individual = fields.Many2One('party.party', "Individual",
        ondelete='RESTRICT',
        domain=[('registrant_type', '=', 'individual')],
        context={'registrant_type': 'individual'},
        states=_shown('add_member', 'remove_member', 'change_head',
            'move_member'),
        help="The member concerned; to add a person not yet registered, "
        "leave empty and fill in the new person's names.")
    new_family_name = fields.Char("New Person's Family Name",
        states=_shown('add_member'))
    new_given_name = fields.Char("New Person's Given Name",
        states=_shown('add_member'))
    new_birth_date = fields.Date("New Person's Birth Date",
        states=_shown('add_member'))
    new_gender = fields.Many2One('spp.gender', "New Person's Gender",
        ondelete='RESTRICT', states=_shown('add_member'))
    role = fields.Many2One('spp.group.membership.role', "Role",
        ondelete='RESTRICT', states=_shown('add_member', 'move_member'))
    target_group = fields.Many2One('party.party', "Destination Household",
        ondelete='RESTRICT', domain=[('registrant_type', '=', 'group')],
        states=_shown('move_member', 'split_household'))
    effective_date = fields.Date("Effective Date",
        states=_shown('add_member', 'remove_member', 'move_member',
            'split_household', 'exit_registrant'),
        help="When the change takes effect (today when empty).")
    new_group_name = fields.Char("New Household Name",
        states=_shown('split_household', 'create_household'))
    members = fields.One2Many('spp.change_request.member', 'request',
        "Members", states=_shown('split_household', 'create_household'))
    id_type = fields.Selection('get_id_types', "ID Type",
        states=_shown('add_id'))
    id_number = fields.Char("ID Number",
        states=_shown('add_id', 'correct_id'))
    identifier = fields.Many2One('party.identifier', "ID Document",
        ondelete='RESTRICT',
        domain=[('party', '=', Eval('registrant', -1))],
        states=_shown('correct_id', 'withdraw_id'))
    exit_reason = fields.Selection([(None, "")] + EXIT_REASONS,
        "Exit Reason", states=_shown('exit_registrant'))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.registrant, Index.Range())),
                Index(t, (t.reference, Index.Equality())),
                Index(t, (t.state, Index.Equality()),
                    (t.stage, Index.Range())),
                Index(t, (t.area, Index.Range())),
                # "Waiting for Me" walks the submitted requests oldest first.
                Index(t, (t.submitted_on, Index.Range()),
                    (t.id, Index.Range()),
                    where=t.state == 'submitted'),
                })
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'submitted'),
            ('revision', 'submitted'),
            ('draft', 'cancelled'),
            ('revision', 'cancelled'),
            ('submitted', 'cancelled'),
            ('approved', 'cancelled'),
            }
        waiting = Eval('state') == 'submitted'
        cls._buttons.update({
                'submit': {
                    'invisible': ~Eval('state').in_(EDITABLE_STATES),
                    'depends': ['state'],
                    },
                'approve': {'invisible': ~waiting, 'depends': ['state']},
                'request_revision': {
                    'invisible': ~waiting, 'depends': ['state']},
                'reject': {'invisible': ~waiting, 'depends': ['state']},
                'apply': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
                    'depends': ['state'],
                    },
                })
        cls.__rpc__.update({
                'decide': RPC(readonly=False, instantiate=0),
                })

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_requested_by():
        return Transaction().user

    @staticmethod
    def default_requested_on():
        return dt.datetime.now()

    @fields.depends('kind')
    def on_change_with_implementation(self, name=None):
        return self.kind.implementation if self.kind else None

    @fields.depends('kind')
    def on_change_with_target(self, name=None):
        return self.kind.target if self.kind else None

    @fields.depends('registrant')
    def on_change_registrant(self):
        if self.registrant:
            self.area = self.registrant.area

    @classmethod
    def get_id_types(cls):
        IdType = Pool().get('spp.id.type')
        return [(None, "")] + sorted(
            ((t.code, t.name) for t in IdType.by_code().values()
                if t.active), key=lambda t: t[1])

    @classmethod
    def editable_fields(cls):
        """{key: spec} of every registrant field an edit request may
        change (editable.py); addons add theirs (custom fields)."""
        # Not under the model's name: the transaction's cache keeps the
        # model's records there.
        cache = Transaction().get_cache().setdefault(
            '_spp_change_request_fields', {})
        if 'editable' not in cache:
            cache['editable'] = editable.party_specs()
        return cache['editable']

    def get_implementation(self):
        return self.kind.get_implementation()

    @classmethod
    def get_status(cls, requests, name):
        "The state, or the stage a submitted request waits at."
        states = dict(cls.fields_get(['state'])['state']['selection'])
        result = {}
        for request in requests:
            if request.state == 'submitted' and request.stage:
                stages = list(request.kind.stages)
                result[request.id] = gettext(
                    'spp_change_request.msg_status_stage',
                    stage=request.stage.name,
                    number=stages.index(request.stage) + 1,
                    count=len(stages))
            else:
                result[request.id] = states[request.state]
        return result

    # -- creation and changes -------------------------------------------
    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('reference'):
            Configuration = pool.get('spp.change_request.configuration')
            values['reference'] = Configuration(1).get_reference()
        if values.get('registrant'):
            Party = pool.get('party.party')
            with without_check_access():
                party = Party(values['registrant'])
                values['area'] = party.area.id if party.area else None
        return values

    @classmethod
    def check_modification(cls, mode, requests, values=None,
            external=False):
        """Once submitted, a request's proposal is what the validators
        decide on: only its notes change (by the people's own hands)."""
        super().check_modification(
            mode, requests, values=values, external=external)
        if not external:
            return
        if mode == 'write' and set(values) - ALWAYS_EDITABLE:
            for request in requests:
                if request.state not in EDITABLE_STATES:
                    raise AccessError(gettext(
                            'spp_change_request.msg_request_locked',
                            request=request.rec_name,
                            state=request.status))
        elif mode == 'delete':
            for request in requests:
                if request.state not in {'draft', 'cancelled'}:
                    raise AccessError(gettext(
                            'spp_change_request.msg_request_delete',
                            request=request.rec_name))

    @classmethod
    def on_modification(cls, mode, requests, field_names=None):
        super().on_modification(mode, requests, field_names=field_names)
        if mode in {'create', 'write'}:
            cls.refresh_lines(
                [r for r in requests if r.state in EDITABLE_STATES])

    @classmethod
    def copy(cls, requests, default=None):
        default = dict(default or {})
        for name in ['reference', 'decisions', 'lines', 'submitted_on',
                'applied_on', 'applied_by', 'stage', 'documents']:
            default.setdefault(name, None)
        default.setdefault('requested_by', Transaction().user)
        default.setdefault('requested_on', dt.datetime.now())
        return super().copy(requests, default=default)

    @classmethod
    def set_progress(cls, requests, values):
        """Write the columns a decision moves (state, stage, applied on and
        by) in one UPDATE, without the ORM's validation of every field that
        depends on the state: a bulk approval moves thousands, and none of
        these columns is typed by a user. The decision itself is recorded
        in the timeline (and by the audit trail as a named action)."""
        from trytond.modules.spp_registry.bulk import invalidate_cache
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        columns = [Column(table, name) for name in values] + [
            table.write_uid, table.write_date]
        update = [values[name] for name in values] + [
            Transaction().user, dt.datetime.now()]
        for sub_ids in grouped_slice([r.id for r in requests]):
            cursor.execute(*table.update(columns, update,
                    where=reduce_ids(table.id, sub_ids)))
        invalidate_cache(cls)

    @classmethod
    def save_system(cls, requests):
        "Save what applying filled in (the registrant a request created)."
        with without_check_access():
            cls.save(requests)

    # -- preview ----------------------------------------------------------
    @classmethod
    def preview(cls, requests):
        "{request id: [line dict]} from each kind's implementation."
        result = {}
        by_kind = {}
        for request in requests:
            by_kind.setdefault(request.kind, []).append(request)
        with without_check_access():
            for kind, kind_requests in by_kind.items():
                result.update(kind.get_implementation().preview(
                        kind_requests))
        return result

    @classmethod
    def refresh_lines(cls, requests):
        "Replace the requests' preview lines by what they show now."
        Line = Pool().get('spp.change_request.line')
        if not requests:
            return
        previews = cls.preview(requests)
        with without_check_access():
            Line.delete(Line.search([
                        ('request', 'in', [r.id for r in requests])]))
            Line.create([{'request': request_id, 'sequence': i, **line}
                    for request_id, lines in previews.items()
                    for i, line in enumerate(lines)])

    @classmethod
    def stale_changes(cls, requests):
        """{request: [(field, at submission, now)]} of the requests whose
        shown current values changed since they were submitted."""
        previews = cls.preview(requests)
        stale = {}
        for request in requests:
            saved = {line.key: line for line in request.lines}
            now = {line['key']: line for line in previews[request.id]}
            changes = []
            for key in sorted(saved.keys() | now.keys()):
                before = saved[key].current if key in saved else ''
                after = now[key]['current'] if key in now else ''
                if (before or '') != (after or ''):
                    label = (now.get(key) or {}).get('field') or (
                        saved[key].field)
                    changes.append((label, before or '', after or ''))
            if changes:
                stale[request] = changes
        return stale

    # -- conflicts --------------------------------------------------------
    @classmethod
    def get_conflicts(cls, requests, name):
        "Other open requests of the registrant showing a line of the same key."
        result = {r.id: [] for r in requests}
        for request_id, other_id in cls.conflicting(
                [r.id for r in requests]):
            result[request_id].append(other_id)
        return result

    @classmethod
    def conflicting(cls, ids, states=OPEN_STATES):
        "[(request id, other request id)] in conflict, one query per batch."
        Line = Pool().get('spp.change_request.line')
        line, other_line = Line.__table__(), Line.__table__()
        request, other = cls.__table__(), cls.__table__()
        cursor = Transaction().connection.cursor()
        pairs = set()
        for sub_ids in grouped_slice(ids):
            query = (line
                .join(request, condition=request.id == line.request)
                .join(other, condition=(other.registrant == request.registrant)
                    & (other.id != request.id))
                .join(other_line, condition=(other_line.request == other.id)
                    & (other_line.key == line.key))
                .select(request.id, other.id,
                    where=reduce_ids(request.id, sub_ids)
                    & other.state.in_(list(states)),
                    group_by=[request.id, other.id]))
            cursor.execute(*query)
            pairs.update(cursor)
        return sorted(pairs)

    # -- who waits for whom ----------------------------------------------
    @classmethod
    def waiting_domain(cls):
        """Domain of the submitted requests the user may decide at their
        current stage: in one of the user's groups, not their own, and in
        the user's areas where the stage is limited to them."""
        User = Pool().get('res.user')
        user = Transaction().user
        areas = User.get_spp_areas()
        in_areas = [('stage.area_limited', '=', False)]
        if areas:
            in_areas = ['OR', *in_areas,
                ('area', 'child_of', areas, 'parent')]
        return [('state', '=', 'submitted'),
            ('requested_by', '!=', user),
            ('stage.group', 'in', list(User.get_groups())),
            in_areas]

    @classmethod
    def get_waiting_for_me(cls, requests, name):
        waiting = set()
        for sub_ids in grouped_slice([r.id for r in requests]):
            waiting.update(map(int, cls.search(
                        [('id', 'in', list(sub_ids))] + cls.waiting_domain(),
                        order=[])))
        return {r.id: r.id in waiting for r in requests}

    @classmethod
    def search_waiting_for_me(cls, name, clause):
        _, operator, value = clause[:3]
        if (operator == '=') == bool(value):
            return cls.waiting_domain()
        return [('id', 'not in', cls.search(
                    cls.waiting_domain(), order=[], query=True))]

    # -- lifecycle (the decisions are in validation.py) ------------------
    @classmethod
    @ModelView.button
    @Workflow.transition('submitted')
    def submit(cls, requests):
        """Check the proposal with the registry's rules, the documents and
        conflicts, freeze what it shows and send it to the first stage."""
        Decision = Pool().get('spp.change_request.decision')
        cls.check_submittable(requests)
        resubmitted = {r.id for r in requests if r.state == 'revision'}
        now = dt.datetime.now()
        with without_check_access():
            for kind, kind_requests in cls.by_kind(requests).items():
                cls.write(kind_requests,
                    {'stage': kind.stages[0].id, 'submitted_on': now})
            Decision.add(requests, lambda r: (
                    'resubmitted' if r.id in resubmitted else 'submitted'))

    @classmethod
    def by_kind(cls, requests):
        result = {}
        for request in requests:
            result.setdefault(request.kind, []).append(request)
        return result

    @classmethod
    def check_submittable(cls, requests):
        Attachment = Pool().get('ir.attachment')
        for request in requests:
            if not request.kind.stages:
                refuse('msg_kind_no_stage', kind=request.kind.rec_name)
            target = request.kind.target
            if target and not request.registrant:
                refuse('msg_registrant_required', request=request.rec_name)
            if request.registrant and request.registrant.disabled:
                refuse('msg_registrant_disabled',
                    registrant=request.registrant.rec_name)
            if target in {'individual', 'group'} and (
                    request.registrant.registrant_type != target):
                refuse('msg_registrant_type', request=request.rec_name,
                    kind=request.kind.rec_name)
        with without_check_access():
            attached = {}
            for attachment in Attachment.search([('resource', 'in',
                            [str(r) for r in requests])]):
                if attachment.document_type:
                    attached.setdefault(str(attachment.resource), set()).add(
                        attachment.document_type)
        for request in requests:
            missing = [d.rec_name for d in request.kind.documents
                if d not in attached.get(str(request), set())]
            if missing:
                refuse('msg_documents_missing', request=request.rec_name,
                    documents=', '.join(missing))
        for kind, kind_requests in cls.by_kind(requests).items():
            kind.get_implementation().check(kind_requests)
        # What the request shows is frozen here: submission keeps it.
        cls.refresh_lines(requests)
        blocking = [r for r in requests
            if r.kind.conflict_policy == 'block']
        if blocking:
            pairs = cls.conflicting([r.id for r in blocking],
                states=['submitted', 'revision', 'approved'])
            if pairs:
                request, other = cls(pairs[0][0]), cls(pairs[0][1])
                refuse('msg_conflict_blocked', request=request.rec_name,
                    other=other.rec_name)

    @classmethod
    @ModelView.button_action('spp_change_request.wizard_approve')
    def approve(cls, requests):
        pass

    @classmethod
    @ModelView.button_action('spp_change_request.wizard_request_revision')
    def request_revision(cls, requests):
        pass

    @classmethod
    @ModelView.button_action('spp_change_request.wizard_reject')
    def reject(cls, requests):
        pass

    @classmethod
    @ModelView.button_action('spp_change_request.wizard_apply')
    def apply(cls, requests):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, requests):
        Decision = Pool().get('spp.change_request.decision')
        with without_check_access():
            cls.write(requests, {'stage': None})
            Decision.add(requests, 'cancelled')

    @classmethod
    def decide(cls, requests, decision, comment=None):
        """Decide submitted requests at their current stage: 'approve',
        'revision' (back to the requester) or 'reject', with a comment
        (required unless approving). Returns what happened (see
        validation.decide)."""
        return validation.decide(cls, requests, decision, comment)

    @classmethod
    def applied(cls, requests, sent_back):
        """Called once requests were applied and stale ones sent back: an
        extension point (the audit trail records both)."""

    @classmethod
    def registrants_edited(cls, edits):
        """Called with {party id: {column: [old, new]}} once edit requests
        changed registrant columns in SQL: an extension point (the audit
        trail records the changes, as it does the registry's writes)."""

    @classmethod
    def registrants_exited(cls, requests):
        """Called when exit requests disabled their registrants: an
        extension point (spp_programs exits their memberships)."""

