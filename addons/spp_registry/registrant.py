"Registrants: parties that are individuals or groups (households)."
import datetime as dt
import unicodedata

from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import is_full_text, lstrip_wildcard
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

REGISTRANT_TYPES = [
    (None, ""),
    ('individual', "Individual"),
    ('group', "Group"),
    ]
CIVIL_STATUSES = [
    (None, ""),
    ('single', "Single"),
    ('married', "Married"),
    ('partnered', "Partnered"),
    ('divorced', "Divorced"),
    ('separated', "Separated"),
    ('widowed', "Widowed"),
    ]

_individual = {'invisible': Eval('registrant_type') != 'individual'}
_group = {'invisible': Eval('registrant_type') != 'group'}


def years_before(date, years):
    "The date `years` years before `date` (29 February becomes 28)."
    try:
        return date.replace(year=date.year - years)
    except ValueError:
        return date.replace(year=date.year - years, day=28)


def age_on(birth_date, date):
    "Age in whole years on `date`."
    return date.year - birth_date.year - (
        (date.month, date.day) < (birth_date.month, birth_date.day))


def normalise_name(name):
    "Lower case, no accents, single spaces: the key duplicate checks compare."
    if not name:
        return ''
    decomposed = unicodedata.normalize('NFKD', name)
    plain = ''.join(c for c in decomposed if not unicodedata.combining(c))
    return ' '.join(plain.casefold().split())


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    registrant_type = fields.Selection(
        REGISTRANT_TYPES, "Registrant Type",
        help="Individuals are people; groups are households, families "
        "or other collections of individuals.")
    group_kind = fields.Many2One(
        'spp.group.kind', "Group Kind", ondelete='RESTRICT',
        states={
            'invisible': Eval('registrant_type') != 'group',
            'required': Eval('registrant_type') == 'group',
            })
    family_name = fields.Char("Family Name", states=_individual)
    given_name = fields.Char("Given Name", states=_individual)
    additional_name = fields.Char(
        "Additional Name", states=_individual,
        help="Middle name, patronymic or other names.")
    birth_date = fields.Date("Birth Date", states=_individual)
    birth_date_approximate = fields.Boolean(
        "Approximate Birth Date", states=_individual,
        help="The birth date is an estimate (e.g. only the year is known).")
    age = fields.Function(
        fields.Integer("Age", states=_individual),
        'get_age', searcher='search_age')
    gender = fields.Many2One(
        'spp.gender', "Gender", ondelete='RESTRICT', states=_individual)
    civil_status = fields.Selection(
        CIVIL_STATUSES, "Civil Status", states=_individual)
    occupation = fields.Char("Occupation", states=_individual)
    income = fields.Numeric(
        "Income", digits=(16, 2), states=_individual,
        domain=[If(Bool(Eval('income')), ('income', '>=', 0), ())],
        help="Monthly income.")
    disability = fields.Boolean("Disability", states=_individual)
    registration_date = fields.Date(
        "Registration Date",
        states={'invisible': ~Eval('registrant_type')})
    area = fields.Many2One(
        'spp.area', "Area", ondelete='RESTRICT',
        states={'invisible': ~Eval('registrant_type')})
    name_key = fields.Char(
        "Normalised Name", readonly=True,
        help="The name without case, accents or extra spaces.")
    disabled = fields.DateTime(
        "Disabled", readonly=True,
        help="When the registrant was disabled; disabled registrants "
        "are kept for history but drop out of eligibility.")
    disabled_reason = fields.Text(
        "Disabled Reason", readonly=True,
        states={'invisible': ~Eval('disabled')})
    disabled_by = fields.Many2One(
        'res.user', "Disabled By", readonly=True,
        states={'invisible': ~Eval('disabled')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._history = True
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.registrant_type, Index.Equality())),
                Index(t, (t.area, Index.Range())),
                Index(t, (t.birth_date, Index.Range())),
                Index(t, (t.name_key, Index.Equality()),
                    (t.birth_date, Index.Range())),
                })
        cls._buttons.update({
                'disable_registrant': {
                    'invisible': (
                        ~Eval('registrant_type') | Bool(Eval('disabled'))),
                    'depends': ['registrant_type', 'disabled'],
                    },
                'enable_registrant': {
                    'invisible': ~Eval('disabled'),
                    'depends': ['disabled'],
                    },
                })

    @staticmethod
    def default_registration_date():
        context = Transaction().context
        if context.get('registrant_type'):
            return Pool().get('ir.date').today()

    @staticmethod
    def default_registrant_type():
        return Transaction().context.get('registrant_type')

    @staticmethod
    def default_group_kind(force=False):
        "Households are the default kind of group."
        pool = Pool()
        if force or Transaction().context.get('registrant_type') == 'group':
            Kind = pool.get('spp.group.kind')
            kinds = Kind.search([('code', '=', 'household')], limit=1)
            if kinds:
                return kinds[0].id

    @staticmethod
    def default_birth_date_approximate():
        return False

    @staticmethod
    def default_disability():
        return False

    def get_age(self, name):
        if self.birth_date:
            today = Pool().get('ir.date').today()
            return age_on(self.birth_date, today)

    @classmethod
    def search_age(cls, name, clause):
        """Translate a condition on age into one on birth date, so that
        `age >= 60` is an indexed range on birth_date."""
        _, operator, value = clause[:3]
        today = Pool().get('ir.date').today()
        if value is None:
            return [('birth_date', operator, None)]
        if operator in {'in', 'not in'}:
            terms = [cls._age_domain('=', int(v), today) for v in value]
            if operator == 'in':
                return ['OR', *terms] if terms else [('id', '=', None)]
            return [('birth_date', '!=', None),
                *[cls._age_domain('!=', int(v), today) for v in value]]
        return cls._age_domain(operator, int(value), today)

    @classmethod
    def _age_domain(cls, operator, age, today):
        # age >= n  <=>  born on or before today minus n years
        if operator == '>=':
            return [('birth_date', '<=', years_before(today, age))]
        elif operator == '>':
            return [('birth_date', '<=', years_before(today, age + 1))]
        elif operator == '<':
            return [('birth_date', '>', years_before(today, age))]
        elif operator == '<=':
            return [('birth_date', '>', years_before(today, age + 1))]
        elif operator == '=':
            return [
                ('birth_date', '>', years_before(today, age + 1)),
                ('birth_date', '<=', years_before(today, age)),
                ]
        elif operator == '!=':
            return ['OR',
                ('birth_date', '<=', years_before(today, age + 1)),
                ('birth_date', '>', years_before(today, age)),
                ]
        raise ValueError(f"Unsupported operator for age: {operator}")

    @classmethod
    def compose_name(cls, family_name, given_name, additional_name):
        "The full name of an individual following the registry's name rule."
        Configuration = Pool().get('spp.registry.configuration')
        return Configuration(1).format_name(
            family_name=family_name, given_name=given_name,
            additional_name=additional_name)

    @classmethod
    def _code_sequence(cls, **pattern):
        """Groups are numbered from the registry's group sequence
        (HH-000123), individuals from the party sequence."""
        if pattern.get('registrant_type') == 'group':
            Configuration = Pool().get('spp.registry.configuration')
            sequence = Configuration(1).group_sequence
            if sequence:
                return sequence
        pattern.pop('registrant_type', None)
        return super()._code_sequence(**pattern)

    @classmethod
    def search_rec_name(cls, name, clause):
        """Also find a group by an ID number of one of its members (past
        members too: the household a person was registered in)."""
        domain = super().search_rec_name(name, clause)
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            return domain
        if operator.endswith('like') and is_full_text(operand):
            operand = lstrip_wildcard(operand)
        return [*domain,
            ('memberships.individual.identifiers.code_compact', operator,
                operand, *extra)]

    @classmethod
    def preprocess_values(cls, mode, values):
        if (mode == 'create' and values.get('registrant_type') == 'group'
                and not values.get('code')):
            sequence = cls._code_sequence(registrant_type='group')
            if sequence:
                values = {**values, 'code': sequence.get()}
        values = super().preprocess_values(mode, values)
        if (mode == 'create'
                and values.get('registrant_type') == 'individual'
                and any(values.get(f) for f in (
                        'family_name', 'given_name', 'additional_name'))):
            values['name'] = cls.compose_name(
                values.get('family_name'), values.get('given_name'),
                values.get('additional_name'))
        if mode == 'create' and 'name' in values:
            values['name_key'] = normalise_name(values['name'])
        if (mode == 'create' and values.get('registrant_type') == 'group'
                and not values.get('group_kind')):
            values['group_kind'] = cls.default_group_kind(force=True)
        if (mode == 'create' and values.get('registrant_type')
                and not values.get('registration_date')):
            values['registration_date'] = Pool().get('ir.date').today()
        return values

    def compute_fields(self, field_names=None):
        values = super().compute_fields(field_names=field_names)
        name_parts = {'family_name', 'given_name', 'additional_name'}
        name = getattr(self, 'name', None)
        if (field_names is not None and name_parts & field_names
                and self.registrant_type == 'individual'):
            name = self.compose_name(
                self.family_name, self.given_name, self.additional_name)
            if name != self.name:
                values['name'] = name
        if field_names is None or {'name'} | name_parts & field_names:
            key = normalise_name(name)
            if key != getattr(self, 'name_key', None):
                values['name_key'] = key
        return values

    @fields.depends(
        'registrant_type', 'family_name', 'given_name', 'additional_name')
    def on_change_with_name(self):
        if self.registrant_type == 'individual' and (
                self.family_name or self.given_name or self.additional_name):
            return self.compose_name(
                self.family_name, self.given_name, self.additional_name)
        return getattr(self, 'name', None)

    @fields.depends(methods=['on_change_with_name'])
    def on_change_family_name(self):
        self.name = self.on_change_with_name()

    @fields.depends(methods=['on_change_with_name'])
    def on_change_given_name(self):
        self.name = self.on_change_with_name()

    @fields.depends(methods=['on_change_with_name'])
    def on_change_additional_name(self):
        self.name = self.on_change_with_name()

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        cls.check_birth_date(parties, field_names)

    @classmethod
    def check_birth_date(cls, parties, field_names):
        if field_names and 'birth_date' not in field_names:
            return
        today = Pool().get('ir.date').today()
        for party in parties:
            if party.birth_date and (
                    party.birth_date > today
                    or party.birth_date.year < today.year - 130):
                raise BirthDateError(gettext(
                        'spp_registry.msg_invalid_birth_date',
                        party=party.rec_name,
                        date=party.birth_date.isoformat()))

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'delete' and external:
            # Caseworkers disable registrants; only administrators delete.
            pool = Pool()
            ModelData = pool.get('ir.model.data')
            User = pool.get('res.user')
            admin_group = ModelData.get_id(
                'spp_registry', 'group_registry_admin')
            if admin_group not in User.get_groups():
                registrants = [p for p in parties if p.registrant_type]
                if registrants:
                    raise AccessError(gettext(
                            'spp_registry.msg_registrant_delete',
                            party=registrants[0].rec_name))

    @classmethod
    @ModelView.button_action('spp_registry.wizard_disable_registrant')
    def disable_registrant(cls, parties):
        pass

    @classmethod
    @ModelView.button
    def enable_registrant(cls, parties):
        cls.write(parties, {
                'disabled': None,
                'disabled_reason': None,
                'disabled_by': None,
                })

    @classmethod
    def registry_imported(cls, result, filename):
        """Called once a file's households are written (an ImportResult).

        An extension point: the audit trail records the import here."""

    @classmethod
    def disable(cls, parties, reason):
        "Disable registrants with a reason, recording when and by whom."
        if not reason or not reason.strip():
            raise DisableError(gettext('spp_registry.msg_disable_reason'))
        cls.write(parties, {
                'disabled': dt.datetime.now(),
                'disabled_reason': reason.strip(),
                'disabled_by': Transaction().user,
                })


class BirthDateError(ValidationError):
    pass


class DisableError(ValidationError):
    pass


class DisableRegistrantStart(ModelView):
    "Disable Registrant"
    __string__ = "Disable Registrant"
    __name__ = 'spp.registrant.disable.start'
    reason = fields.Text("Reason", required=True,
        help="Why the registrant is disabled (deceased, moved abroad, "
        "registered by mistake...).")


class DisableRegistrant(Wizard):
    "Disable Registrant"
    __string__ = "Disable Registrant"
    __name__ = 'spp.registrant.disable'
    start = StateView('spp.registrant.disable.start',
        'spp_registry.registrant_disable_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Disable", 'disable', 'tryton-ok', default=True),
            ])
    disable = StateTransition()

    def transition_disable(self):
        self.model.disable(
            [r for r in self.records if not r.disabled], self.start.reason)
        return 'end'
