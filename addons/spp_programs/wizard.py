"The create-program wizard: the essentials on one page, a ready program."
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.wizard import Button, StateAction, StateView, Wizard

from .program import RECURRENCES, TARGET_TYPES


class CreateProgramStart(ModelView):
    "Create Program"
    __string__ = "Create Program"
    __name__ = 'spp.program.create.start'
    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True)
    target_type = fields.Selection(TARGET_TYPES, "Target", required=True)
    currency = fields.Many2One('currency.currency', "Currency",
        required=True)
    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")
    eligibility_method = fields.Selection('get_eligibility_methods',
        "Eligibility Method", required=True)
    eligibility_rule = fields.Text("Eligibility Rule",
        states={'invisible': Eval('eligibility_method') != 'rule'},
        help='For example: child_count >= 1 and area in "District A".')
    exclusion_rule = fields.Text("Exclusion Rule",
        states={'invisible': Eval('eligibility_method') != 'rule'})
    rule_status = fields.Char("Rule Check", readonly=True)
    eligible_count = fields.Integer("Matching Now", readonly=True)
    recurrence = fields.Selection(RECURRENCES, "Cycle Recurrence",
        required=True)
    recurrence_interval = fields.Integer("Every (Months)", states={
            'invisible': Eval('recurrence') != 'every_n_months',
            'required': Eval('recurrence') == 'every_n_months',
            })
    activate = fields.Boolean("Activate",
        help="Activate the program at once, ready for enrolment.")
    enrol = fields.Boolean("Import and Enrol",
        states={'invisible': ~Eval('activate')},
        help="Enrol every registrant who matches the rule now, without a "
        "draft review (in the background for a large population).")

    @classmethod
    def get_eligibility_methods(cls):
        Program = Pool().get('spp.program')
        return Program.get_eligibility_methods()

    @fields.depends('target_type', 'eligibility_method', 'eligibility_rule',
        'exclusion_rule')
    def on_change_eligibility_rule(self):
        "Show whether the rule is valid and how many it matches now."
        Program = Pool().get('spp.program')
        program = Program(target_type=self.target_type,
            eligibility_method=self.eligibility_method,
            eligibility_rule=self.eligibility_rule,
            exclusion_rule=self.exclusion_rule)
        self.rule_status = program.on_change_with_rule_status()
        self.eligible_count = program.on_change_with_eligible_count()

    @fields.depends(methods=['on_change_eligibility_rule'])
    def on_change_exclusion_rule(self):
        self.on_change_eligibility_rule()

    @fields.depends(methods=['on_change_eligibility_rule'])
    def on_change_target_type(self):
        self.on_change_eligibility_rule()


class CreateProgram(Wizard):
    "Create Program"
    __string__ = "Create Program"
    __name__ = 'spp.program.create'
    start = StateView('spp.program.create.start',
        'spp_programs.program_create_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateAction('spp_programs.act_program_form')

    def default_start(self, fields):
        Program = Pool().get('spp.program')
        return {
            'target_type': Program.default_target_type(),
            'currency': Program.default_currency(),
            'eligibility_method': Program.default_eligibility_method(),
            'recurrence': Program.default_recurrence(),
            'activate': True,
            }

    def get_program_values(self):
        """The values of the program to create from the start form; other
        addons extend them (e.g. spp_entitlement adds a cash item)."""
        start = self.start
        return {
            'name': start.name,
            'code': start.code,
            'target_type': start.target_type,
            'currency': start.currency.id,
            'start_date': start.start_date,
            'end_date': start.end_date,
            'eligibility_method': start.eligibility_method,
            'eligibility_rule': start.eligibility_rule,
            'exclusion_rule': start.exclusion_rule,
            'recurrence': start.recurrence,
            'recurrence_interval': start.recurrence_interval,
            }

    def do_create_(self, action):
        "Create the program (rules are checked on save) and open it."
        Program = Pool().get('spp.program')
        start = self.start
        program, = Program.create([self.get_program_values()])
        if start.activate:
            Program.activate([program])
            if start.enrol:
                Program.import_and_enrol([program])
        action['res_id'] = [program.id]
        action['views'].reverse()
        return action, {}
