"""Sensitive fields: which fields of the registry are shown masked to the
users outside the "View Sensitive Data" group, and how.

A sensitive field names a field (ir.model.field) and a mask: the last 4
characters of an ID or phone number, the year of a date, or nothing at
all. Some fields show the value of another under another name (an
identifier's code_compact and rec_name, a party's phone): DERIVED lists
them; they are masked alike. Custom fields are marked sensitive on their
definition (sensitive_custom.py) and are hidden.

The masking itself is in sensitive_access.py (search, order, export, of
every model) and sensitive_registry.py (read, fields_get, write of the
models holding the values)."""
import datetime as dt

from trytond.cache import Cache
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

MASKS = [
    ('last4', "Last 4 Characters"),
    ('year', "Year Only"),
    ('hidden', "Hidden"),
    ]
HIDDEN = '•••'
BULLETS = '••••'
# Context key: a search of a user who may not see sensitive values is
# being converted (the ORM converts nested domains without access checks).
RESTRICTED_SEARCH = '_spp_sensitive_search'
# Lists of exact values searched at once stay short: a long list of
# candidates would guess a masked number by bisection.
MAX_EXACT_VALUES = 10

# Fields showing the value of a sensitive field under another name.
DERIVED = {
    ('party.identifier', 'code'): [
        ('party.identifier', 'code_compact'),
        ('party.identifier', 'unique_code'),
        ('party.identifier', 'rec_name'),
        ],
    ('party.contact_mechanism', 'value'): [
        ('party.contact_mechanism', 'value_compact'),
        ('party.contact_mechanism', 'other_value'),
        ('party.contact_mechanism', 'email'),
        ('party.contact_mechanism', 'website'),
        ('party.contact_mechanism', 'skype'),
        ('party.contact_mechanism', 'sip'),
        ('party.contact_mechanism', 'url'),
        ('party.contact_mechanism', 'rec_name'),
        ('party.party', 'phone'),
        ('party.party', 'mobile'),
        ('party.party', 'fax'),
        ('party.party', 'email'),
        ],
    }


def mask(value, style):
    "The masked form of `value` (None stays None)."
    if value is None or value == '':
        return value
    if style == 'last4':
        text = str(value)
        # The prefix does not show the length of the number.
        return BULLETS + (text[-4:] if len(text) > 4 else '')
    if style == 'year':
        if isinstance(value, (dt.date, dt.datetime)):
            return str(value.year)
        return str(value)[:4]
    return HIDDEN


class SensitiveField(ModelSQL, ModelView):
    "Sensitive Field"
    __string__ = "Sensitive Field"
    __name__ = 'spp.sensitive.field'
    field = fields.Many2One('ir.model.field', "Field", required=True,
        ondelete='CASCADE',
        domain=[('model', 'in', ['party.party', 'party.identifier',
                    'party.contact_mechanism'])],
        help="A field of registrants, their identifiers or contacts.")
    model = fields.Function(fields.Char("Model"), 'get_model')
    mask = fields.Selection(MASKS, "Mask", required=True,
        help="What the users without the \"View Sensitive Data\" group "
        "see of the value.")
    _fields_cache = Cache('spp_consent.sensitive_fields', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('field_unique', Unique(t, t.field),
                'spp_consent.msg_sensitive_field_unique'),
            ]

    @staticmethod
    def default_mask():
        return 'hidden'

    def get_model(self, name):
        return self.field.model if self.field else None

    def get_rec_name(self, name):
        return f'{self.field.model}.{self.field.name}'

    @classmethod
    def by_model(cls):
        """{model name: {field name: mask}} of the sensitive fields and the
        fields derived from them, cached."""
        result = cls._fields_cache.get('all')
        if result is not None:
            return result
        table = cls.__table__()
        field = Pool().get('ir.model.field').__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.join(field, condition=field.id == table.field)
            .select(field.model, field.name, table.mask))
        result = {}
        for model, name, style in cursor:
            result.setdefault(model, {})[name] = style
            for other_model, other in DERIVED.get((model, name), []):
                result.setdefault(other_model, {}).setdefault(other, style)
        cls._fields_cache.set('all', result)
        return result

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._fields_cache.clear()
        ModelView._fields_view_get_cache.clear()


def sensitive_fields(model_name):
    "{field name: mask} of the sensitive fields of a model."
    try:
        SensitiveField = Pool().get('spp.sensitive.field')
    except KeyError:
        return {}
    return SensitiveField.by_model().get(model_name, {})


def sensitive_custom_fields():
    "Names of the custom fields marked sensitive (spp_custom_field)."
    try:
        CustomField = Pool().get('spp.custom_field')
    except KeyError:
        return set()
    return {name for name, d in CustomField.definitions().items()
        if d.get('sensitive')}


def sees_sensitive(user=None):
    "Whether the user (the transaction's by default) sees sensitive data."
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    transaction = Transaction()
    if user is None:
        user = transaction.user
    if not user:
        return True
    group = ModelData.get_id('spp_consent', 'group_sensitive')
    if user != transaction.user:
        with transaction.set_user(user):
            return group in User.get_groups()
    return group in User.get_groups()


def masked_caller():
    """Whether the call is one to mask: a user's call, access checked (an
    RPC call), by a user outside the sensitive group. Buttons, wizards
    and the server's own code see the values."""
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access
        and not sees_sensitive())


def masked_search():
    """Whether a search is to refuse the comparisons on sensitive fields:
    an RPC call (or one of the API, which does not check access) of a
    user outside the group, or one of its nested searches."""
    transaction = Transaction()
    context = transaction.context
    if context.get(RESTRICTED_SEARCH):
        return True
    if not transaction.user:
        return False
    # The API runs its handlers as the client's user without checking
    # access; code asking explicitly not to be checked is left alone.
    api_call = (context.get('spp_api_client')
        and context.get('_check_access') is None)
    return bool((transaction.check_access or api_call)
        and not sees_sensitive())
