"""Registry pulls: households (with their members) read from an external
social registry into ours, as a queued job.

A pull says what to ask: the households of an area (and the areas below
it) at the registry, optionally narrowed by conditions (a DCI expression
over the registry's group attributes, checked on save). *Pull* queues the
job: it pages through the registry's sync search (page_size of the
registry) and applies each page (pull_apply.py): households created,
updated, unchanged or refused, and why. *Refresh* re-reads the households
pulled from the registry before (their record ids and identifiers: one
idtype-value query per household, 20 to a message) and applies what
changed. New individuals are then checked by the registry's duplicate
finder; the pairs it flags are listed with the report.

Transactions: each page is applied and committed on its own (in the
queued job), so a failure of the registry on page 7 keeps pages 1-6 and
writes nothing of page 7; the pull is *failed* with the error, every call
is in the exchange log, and pulling again re-reads every page: what was
applied is matched and unchanged (a pull is idempotent)."""
import datetime as dt
import json
import uuid

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_api.dci_query import (
    GROUP_ATTRIBUTES, MAX_IN, MAX_TERMS, Compiler, QueryFault)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .pull_job import COUNTS, Job
from .transport import now_iso

QUEUE = 'spp_dci_client'
STATES = [
    ('draft', "Draft"),
    ('queued', "Queued"),
    ('running', "Running"),
    ('done', "Done"),
    ('failed', "Failed"),
    ]


class Pull(Workflow, ModelSQL, ModelView):
    "Registry Pull"
    __string__ = "Registry Pull"
    __name__ = 'spp.dci.pull'
    _states = {'readonly': Eval('state').in_(['queued', 'running'])}
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, ondelete='RESTRICT', states=_states,
        domain=[('kind', '=', 'social_registry')])
    area = fields.Many2One('spp.area', "Area", ondelete='RESTRICT',
        states=_states,
        help="The households of this area and the areas below it "
        "(empty: the registry's areas).")
    conditions = fields.Text("Conditions", states=_states,
        help="Optional, a DCI expression over the registry's household "
        "attributes, e.g. {\"group_size\": {\"$gte\": 3}} (attributes: "
        + ', '.join(sorted(GROUP_ATTRIBUTES)) + ").")
    detect_duplicates = fields.Boolean("Find Duplicates", states=_states,
        help="Run the registry's duplicate finder on the new individuals.")
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    last_action = fields.Selection([
            (None, ""),
            ('pull', "Pull"),
            ('refresh', "Refresh"),
            ], "Last Run", readonly=True)
    started = fields.DateTime("Started", readonly=True)
    finished = fields.DateTime("Finished", readonly=True)
    total = fields.Integer("Households at Registry", readonly=True)
    pages = fields.Integer("Pages", readonly=True)
    households_read = fields.Integer("Households Read", readonly=True)
    created = fields.Integer("Created", readonly=True)
    updated = fields.Integer("Updated", readonly=True)
    unchanged = fields.Integer("Unchanged", readonly=True)
    refused = fields.Integer("Refused", readonly=True)
    flagged = fields.Integer("Possible Duplicates", readonly=True)
    individuals = fields.Integer("Individuals Created", readonly=True)
    progress = fields.Function(fields.Float("Progress", digits=(1, 2)),
        'get_progress')
    error = fields.Text("Error", readonly=True,
        states={'invisible': ~Eval('error')})
    lines = fields.One2Many('spp.dci.pull.line', 'pull', "Report",
        readonly=True)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.registry, Index.Equality())))
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'queued'), ('done', 'queued'), ('failed', 'queued'),
            ('queued', 'running'), ('running', 'done'),
            ('running', 'failed'), ('queued', 'failed'),
            }
        cls._buttons.update({
                'pull': {
                    'invisible': Eval('state').in_(['queued', 'running']),
                    'depends': ['state'],
                    },
                'refresh': {
                    'invisible': (Eval('state').in_(['queued', 'running'])
                        | ~Eval('last_action')),
                    'depends': ['state', 'last_action'],
                    },
                })

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_detect_duplicates():
        return True

    def get_rec_name(self, name):
        where = self.area.rec_name if self.area else gettext(
            'spp_dci_client.msg_pull_all_areas')
        return f'{self.registry.rec_name}: {where} ({self.id})'

    def get_progress(self, name):
        if self.state == 'done':
            return 1.0
        if self.total:
            return min((self.households_read or 0) / self.total, 1.0)
        return 0.0

    # -- what to ask -----------------------------------------------------
    @classmethod
    def validate_fields(cls, pulls, field_names):
        super().validate_fields(pulls, field_names)
        for pull in pulls:
            pull.query()

    def condition_node(self):
        "The conditions as an expression node (checked), or None."
        if not self.conditions or not self.conditions.strip():
            return None
        try:
            node = json.loads(self.conditions)
        except ValueError as error:
            raise ValidationError(gettext(
                    'spp_dci_client.msg_pull_conditions_json',
                    pull=self.rec_name, error=str(error)))
        try:
            Compiler(GROUP_ATTRIBUTES).expression(node)
        except QueryFault as error:
            raise ValidationError(gettext(
                    'spp_dci_client.msg_pull_conditions_invalid',
                    pull=self.rec_name, error=error.message))
        return node

    def area_codes(self):
        "Codes of the pull's area (or the registry's) and those below."
        Area = Pool().get('spp.area')
        roots = [self.area] if self.area else list(self.registry.areas)
        if not roots:
            return []
        return sorted({a.code for a in Area.search(
                    [('parent', 'child_of', [a.id for a in roots])])
                if a.code})

    def query(self):
        "The expression query node sent to the registry."
        parts = []
        codes = self.area_codes()
        if codes:
            chunks = [codes[i:i + MAX_IN]
                for i in range(0, len(codes), MAX_IN)]
            if len(chunks) >= MAX_TERMS:
                raise ValidationError(gettext(
                        'spp_dci_client.msg_pull_too_many_areas',
                        pull=self.rec_name, count=len(codes)))
            areas = [{'location': {'$in': c}} for c in chunks]
            parts.append(areas[0] if len(areas) == 1 else {'$or': areas})
        node = self.condition_node()
        if node is not None:
            parts.append(node)
        if not parts:
            raise ValidationError(gettext(
                    'spp_dci_client.msg_pull_scope_required',
                    pull=self.rec_name))
        return parts[0] if len(parts) == 1 else {'$and': parts}

    def search_message(self, page_number, page_size):
        return {'transaction_id': str(uuid.uuid4()), 'search_request': [{
                    'reference_id': f'pull-{self.id}-{page_number}',
                    'timestamp': now_iso(),
                    'search_criteria': {
                        'version': '1.0.0',
                        'reg_type': 'ns:org:RegistryType:Social',
                        'query_type': 'expression',
                        'query': {'type': 'ns:org:QueryType:NoSql',
                            'value': {'expression': {
                                    'collection': 'Group',
                                    'query': self.query()}}},
                        'response_entity': 'Group',
                        'pagination': {'page_size': page_size,
                            'page_number': page_number},
                        },
                    }]}

    # -- buttons ---------------------------------------------------------
    @classmethod
    @ModelView.button
    def pull(cls, pulls):
        "Queue the pull of each: every page of the households it asks for."
        cls.start(pulls, 'pull')

    @classmethod
    @ModelView.button
    def refresh(cls, pulls):
        "Queue a re-read of the households pulled from each registry."
        cls.start(pulls, 'refresh')

    @classmethod
    def start(cls, pulls, action):
        Line = Pool().get('spp.dci.pull.line')
        for pull in pulls:
            if pull.state in {'queued', 'running'}:
                raise AccessError(gettext(
                        'spp_dci_client.msg_pull_running',
                        pull=pull.rec_name))
            pull.query()
            if action == 'refresh' and not pull.last_action:
                raise AccessError(gettext(
                        'spp_dci_client.msg_pull_refresh_first',
                        pull=pull.rec_name))
        # The user's write access to the pulls is checked first.
        cls.write(pulls, {'last_action': action, 'error': None,
                'started': None, 'finished': None,
                **{name: 0 for name in COUNTS}})
        with without_check_access():
            Line.delete(Line.search([('pull', 'in', [p.id for p in pulls])]))
        cls.queue(pulls)
        with Transaction().set_context(queue_name=QUEUE):
            for pull in pulls:
                cls.__queue__.run_job([pull], action)

    @classmethod
    @Workflow.transition('queued')
    def queue(cls, pulls):
        pass

    @classmethod
    @Workflow.transition('running')
    def set_running(cls, pulls):
        cls.write(pulls, {'started': dt.datetime.now()})

    @classmethod
    @Workflow.transition('done')
    def set_done(cls, pulls):
        cls.write(pulls, {'finished': dt.datetime.now()})

    @classmethod
    @Workflow.transition('failed')
    def set_failed(cls, pulls):
        pass

    # -- the job ---------------------------------------------------------
    @classmethod
    def run_job(cls, pulls, action='pull', commit=True):
        """Run each pull (or refresh) now: the queued task. With `commit`,
        each page is committed when applied and a failure is committed
        after the page's rollback (see the module)."""
        for pull in pulls:
            # 'running': the task run again after a crash or a lock retry.
            if pull.state not in {'queued', 'running'}:
                continue
            Job(pull, action, commit).run()

    @classmethod
    def check_modification(cls, mode, pulls, values=None, external=False):
        super().check_modification(mode, pulls, values=values,
            external=external)
        if mode == 'delete' and any(
                p.state in {'queued', 'running'} for p in pulls):
            raise AccessError(gettext(
                    'spp_dci_client.msg_pull_delete_running'))

    @classmethod
    def copy(cls, pulls, default=None):
        default = dict(default or {})
        default.setdefault('lines', None)
        default.setdefault('last_action', None)
        default.setdefault('error', None)
        for name in COUNTS + ('started', 'finished'):
            default.setdefault(name, None)
        return super().copy(pulls, default=default)


class PullLine(ModelSQL, ModelView):
    "Registry Pull Report Line"
    __string__ = "Registry Pull Report Line"
    __name__ = 'spp.dci.pull.line'
    pull = fields.Many2One('spp.dci.pull', "Pull", required=True,
        readonly=True, ondelete='CASCADE')
    kind = fields.Selection([
            ('refused', "Refused"),
            ('flagged', "Possible Duplicate"),
            ('missing', "Not Found"),
            ], "Kind", required=True, readonly=True)
    record = fields.Char("Record at Registry", readonly=True,
        help="The household's or member's record id at the registry.")
    party = fields.Many2One('party.party', "Registrant", readonly=True,
        ondelete='SET NULL')
    reason = fields.Text("Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.pull, Index.Equality())))
        cls._order = [('id', 'ASC')]
