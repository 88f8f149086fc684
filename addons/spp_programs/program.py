"Social protection programs: target population, eligibility rule, state."
from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, Id, If, PYSONDecoder, PYSONEncoder
from trytond.transaction import Transaction, without_check_access

from .action import PopulationActionMixin
from .exceptions import ProgramError
from .rule import RuleError, compile_rule
from .run import ACTIONS

TARGET_TYPES = [
    ('group', "Group (household)"),
    ('individual', "Individual"),
    ]
RECURRENCES = [
    ('one_off', "One-off"),
    ('monthly', "Monthly"),
    ('every_n_months', "Every N Months"),
    ('quarterly', "Quarterly"),
    ('yearly', "Yearly"),
    ]
MEMBER_STATES = ['draft', 'enrolled', 'paused', 'exited', 'not_eligible',
    'duplicated']

_draft = {'readonly': Eval('state') != 'draft'}
_not_ended = {'readonly': Eval('state') == 'ended'}
_not_admin = ~Eval('context', {}).get('groups', []).contains(
    Id('res', 'group_admin'))


def encode_domain(domain):
    return PYSONEncoder(sort_keys=True).encode(domain)


def decode_domain(text):
    return PYSONDecoder().decode(text) if text else []


class Program(PopulationActionMixin, Workflow, ModelSQL, ModelView):
    "Program"
    __string__ = "Program"
    __name__ = 'spp.program'
    name = fields.Char("Name", required=True, translate=True,
        states=_not_ended)
    code = fields.Char("Code", required=True, states=_draft,
        help="A short unique code, e.g. CG-2026.")
    target_type = fields.Selection(TARGET_TYPES, "Target", required=True,
        states=_draft, help="Whether households or individuals enrol.")
    currency = fields.Many2One('currency.currency', "Currency",
        required=True, ondelete='RESTRICT', states=_not_ended)
    start_date = fields.Date("Start Date", states=_not_ended,
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date("End Date", states=_not_ended,
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')), ())])
    description = fields.Text("Description", states=_not_ended)
    responsible_team = fields.Many2One('res.group', "Responsible Team",
        ondelete='RESTRICT', states=_not_ended)
    state = fields.Selection([
            ('draft', "Draft"),
            ('active', "Active"),
            ('ended', "Ended"),
            ], "State", readonly=True, required=True, sort=False)
    eligibility_method = fields.Selection('get_eligibility_methods',
        "Eligibility Method", required=True, states=_not_ended,
        help="How the eligible population is found; other addons may add "
        "methods.")
    eligibility_rule = fields.Text("Eligibility Rule", states={
            'readonly': Eval('state') == 'ended',
            'invisible': Eval('eligibility_method') != 'rule',
            },
        help='For example: child_count >= 1 and area in "District A". '
        'See the rule language in the Programs guide.')
    exclusion_rule = fields.Text("Exclusion Rule", states={
            'readonly': Eval('state') == 'ended',
            'invisible': Eval('eligibility_method') != 'rule',
            },
        help="Registrants matching this rule are never eligible.")
    # The compiled domains are technical: shown to administrators only
    # (the client's context holds the user's groups); the rule is the
    # readable form.
    eligibility_domain = fields.Text("Eligibility Domain", readonly=True,
        states={'invisible': _not_admin},
        help="The rule compiled to a Tryton domain.")
    exclusion_domain = fields.Text("Exclusion Domain", readonly=True,
        states={'invisible': _not_admin})
    rule_status = fields.Function(fields.Char("Rule Check"),
        'on_change_with_rule_status')
    eligible_count = fields.Function(fields.Integer("Matching Now",
            help="Registrants matching the rules now (disabled "
            "registrants excluded)."),
        'on_change_with_eligible_count')
    recurrence = fields.Selection(RECURRENCES, "Cycle Recurrence",
        required=True, states=_not_ended)
    recurrence_interval = fields.Integer("Every (Months)", states={
            'invisible': Eval('recurrence') != 'every_n_months',
            'required': Eval('recurrence') == 'every_n_months',
            'readonly': Eval('state') == 'ended',
            }, domain=[If(Eval('recurrence') == 'every_n_months',
                ('recurrence_interval', '>=', 1), ())])
    memberships = fields.One2Many('spp.program.membership', 'program',
        "Beneficiaries", readonly=True)
    cycles = fields.One2Many('spp.cycle', 'program', "Cycles", readonly=True)
    runs = fields.One2Many('spp.program.run', 'program', "Action Runs",
        readonly=True,
        help="The population-wide actions started on the program, with "
        "their progress; the newest first.")
    # Selections (VARCHAR columns as before) so that forms and lists show
    # the action's name, not its code.
    running_action = fields.Selection([(None, "")] + ACTIONS,
        "Running Action", readonly=True,
        help="A population-wide action in progress; another cannot start "
        "until it ends.")
    running_since = fields.DateTime("Running Since", readonly=True)
    last_action = fields.Selection([(None, "")] + ACTIONS, "Last Action",
        readonly=True)
    last_action_date = fields.DateTime("Last Action At", readonly=True)
    draft_count = fields.Function(fields.Integer("Draft"), 'get_counts')
    enrolled_count = fields.Function(fields.Integer("Enrolled"), 'get_counts')
    paused_count = fields.Function(fields.Integer("Paused"), 'get_counts')
    exited_count = fields.Function(fields.Integer("Exited"), 'get_counts')
    not_eligible_count = fields.Function(
        fields.Integer("Not Eligible"), 'get_counts')
    duplicated_count = fields.Function(
        fields.Integer("Duplicated"), 'get_counts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_programs.msg_program_code_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.state, Index.Equality())))
        cls._order = [('start_date', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'active'),
            ('active', 'ended'),
            ('ended', 'active'),
            }
        active = Eval('state') == 'active'
        busy = Bool(Eval('running_action'))
        cls._buttons.update({
                'activate': {
                    'invisible': Eval('state') == 'active',
                    'depends': ['state'],
                    },
                'end': {
                    'invisible': ~active,
                    'depends': ['state'],
                    },
                'import_eligible': {
                    'invisible': ~active, 'readonly': busy,
                    'depends': ['state', 'running_action'],
                    },
                'enrol': {
                    'invisible': ~active, 'readonly': busy,
                    'depends': ['state', 'running_action'],
                    },
                'import_and_enrol': {
                    'invisible': ~active, 'readonly': busy,
                    'depends': ['state', 'running_action'],
                    },
                'verify_eligibility': {
                    'invisible': ~active, 'readonly': busy,
                    'depends': ['state', 'running_action'],
                    },
                'deduplicate': {
                    'invisible': ~active, 'readonly': busy,
                    'depends': ['state', 'running_action'],
                    },
                'add_manually': {
                    'invisible': ~active,
                    'depends': ['state'],
                    },
                'new_cycle': {
                    'invisible': ~active,
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_target_type(cls):
        return 'group'

    @classmethod
    def default_eligibility_method(cls):
        return 'rule'

    @classmethod
    def default_recurrence(cls):
        return 'monthly'

    @classmethod
    def default_currency(cls):
        Currency = Pool().get('currency.currency')
        currencies = Currency.search([], limit=2)
        if len(currencies) == 1:
            return currencies[0].id
        # Several: the configured default (currency.py), if there.
        default = Currency.get_default()
        return default.id if default else None

    @classmethod
    def get_eligibility_methods(cls):
        "Eligibility methods; other addons extend this list."
        return [('rule', "Rule-based")]

    # Eligibility --------------------------------------------------------

    def base_domain(self):
        "Who can ever be a beneficiary: the target type, not disabled."
        return [
            ('registrant_type', '=', self.target_type),
            ('disabled', '=', None),
            ]

    def eligible_domain(self):
        """The domain of registrants eligible now, by the program's method.

        A method `m` is implemented by `_eligible_domain_<m>`; it returns
        the domain that, added to the base domain, selects the eligible."""
        method = getattr(self, f'_eligible_domain_{self.eligibility_method}')
        return self.base_domain() + [method()]

    def _eligible_domain_rule(self):
        Party = Pool().get('party.party')
        domain = decode_domain(self.eligibility_domain)
        exclusion = decode_domain(self.exclusion_domain)
        if exclusion:
            with without_check_access():
                excluded = Party.search(exclusion, query=True)
            domain = [domain, ('id', 'not in', excluded)]
        return domain

    def eligible_query(self, low=None, high=None):
        """SQL query of the ids of registrants eligible now; with `low` and
        `high`, only those whose id is in [low, high) (a batch)."""
        Party = Pool().get('party.party')
        domain = self.eligible_domain()
        if low is not None:
            domain = [domain, ('id', '>=', low), ('id', '<', high)]
        with without_check_access():
            # No ORDER BY: the query is a sub-query of INSERT/UPDATE.
            return Party.search(domain, order=[], query=True)

    @classmethod
    def compile_rules(cls, eligibility_rule, exclusion_rule):
        "Compile both rules; raise RuleError naming the problem."
        return (
            encode_domain(compile_rule(eligibility_rule)),
            encode_domain(compile_rule(exclusion_rule)))

    @fields.depends('eligibility_rule', 'exclusion_rule',
        'eligibility_method')
    def on_change_with_rule_status(self, name=None):
        if self.eligibility_method != 'rule':
            return None
        try:
            self.compile_rules(self.eligibility_rule, self.exclusion_rule)
        except RuleError as error:
            return error.message
        return gettext('spp_programs.msg_rule_valid')

    @fields.depends('eligibility_rule', 'exclusion_rule',
        'eligibility_method', 'target_type')
    def on_change_with_eligible_count(self, name=None):
        """How many registrants match the current (possibly unsaved) rules.

        Called by a user (the form's preview, or any JSON-RPC client), it
        answers only program managers, and counts only the registrants
        the caller may read: a count is a way of reading the registry."""
        pool = Pool()
        Party = pool.get('party.party')
        ModelAccess = pool.get('ir.model.access')
        if not self.target_type or not self.eligibility_method:
            return None
        # Without access checks (code of its own) the count is the whole
        # registry's; with them, the caller's record rules apply.
        if Transaction().check_access and not ModelAccess.check(
                'spp.program', 'write', raise_exception=False):
            return None
        if self.eligibility_method == 'rule':
            try:
                self.eligibility_domain, self.exclusion_domain = (
                    self.compile_rules(
                        self.eligibility_rule, self.exclusion_rule))
            except RuleError:
                return None
        return Party.search_count(self.eligible_domain())

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'eligibility_rule' in values or 'exclusion_rule' in values:
            if mode == 'create':
                rules = (values.get('eligibility_rule'),
                    values.get('exclusion_rule'))
                (values['eligibility_domain'],
                    values['exclusion_domain']) = cls.compile_rules(*rules)
        return values

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        new_args = []
        for programs, values in zip(actions, actions):
            if {'eligibility_rule', 'exclusion_rule'} & values.keys():
                for program in programs:
                    rules = (
                        values.get('eligibility_rule',
                            program.eligibility_rule),
                        values.get('exclusion_rule', program.exclusion_rule))
                    domains = cls.compile_rules(*rules)
                    new_args.extend(([program], {**values,
                                'eligibility_domain': domains[0],
                                'exclusion_domain': domains[1]}))
            else:
                new_args.extend((programs, values))
        super().write(*new_args)

    @classmethod
    def get_counts(cls, programs, names):
        "Members by state, in one GROUP BY query."
        Membership = Pool().get('spp.program.membership')
        membership = Membership.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {p.id: 0 for p in programs} for n in names}
        cursor.execute(*membership.select(
                membership.program, membership.state, Count(membership.id),
                where=membership.program.in_([p.id for p in programs]),
                group_by=[membership.program, membership.state]))
        for program_id, state, count in cursor:
            name = f'{state}_count'
            if name in result:
                result[name][program_id] = count
        return result

    @classmethod
    def copy(cls, programs, default=None):
        default = default.copy() if default else {}
        default.setdefault('code', None)
        default.setdefault('memberships', None)
        default.setdefault('cycles', None)
        default.setdefault('runs', None)
        default.setdefault('running_action', None)
        default.setdefault('running_since', None)
        default.setdefault('last_action', None)
        default.setdefault('last_action_date', None)
        return super().copy(programs, default=default)

    @classmethod
    def check_modification(cls, mode, programs, values=None, external=False):
        super().check_modification(
            mode, programs, values=values, external=external)
        if mode == 'delete':
            for program in programs:
                if program.state != 'draft':
                    raise AccessError(gettext(
                            'spp_programs.msg_program_delete_not_draft',
                            program=program.rec_name))

    def check_active(self):
        "Refuse changes to the population of a program that is not active."
        if self.state != 'active':
            raise ProgramError(gettext('spp_programs.msg_program_not_active',
                    program=self.rec_name))

    # Workflow -----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def activate(cls, programs):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('ended')
    def end(cls, programs):
        "End programs; their draft and submitted cycles are cancelled."
        Cycle = Pool().get('spp.cycle')
        cycles = Cycle.search([
                ('program', 'in', [p.id for p in programs]),
                ('state', 'in', ['draft', 'to_approve']),
                ])
        Cycle.cancel(cycles)

    # Population-wide actions (runner in action.py, SQL in enrolment.py)

    @classmethod
    @ModelView.button
    def import_eligible(cls, programs):
        "Add every eligible registrant not yet a member as draft."
        cls.start_action(programs, 'import_eligible')

    @classmethod
    @ModelView.button
    def enrol(cls, programs):
        "Enrol draft members who are still eligible; the others are not."
        cls.start_action(programs, 'enrol')

    @classmethod
    @ModelView.button
    def import_and_enrol(cls, programs):
        "Import eligible registrants and enrol them in one pass."
        cls.start_action(programs, 'import_and_enrol')

    @classmethod
    @ModelView.button
    def verify_eligibility(cls, programs):
        "Re-check enrolled and not eligible members against the rules."
        cls.start_action(programs, 'verify_eligibility')

    @classmethod
    @ModelView.button
    def deduplicate(cls, programs):
        "Flag members who share a household member or an ID number."
        cls.start_action(programs, 'deduplicate')

    @classmethod
    @ModelView.button_action('spp_programs.wizard_add_member')
    def add_manually(cls, programs):
        pass

    @classmethod
    @ModelView.button
    def new_cycle(cls, programs):
        "Create each program's next cycle following its recurrence."
        Cycle = Pool().get('spp.cycle')
        for program in programs:
            program.check_active()
            Cycle.create_next(program)
