"""What is audited: one rule per model and source, the union of them counts.

Each addon's defaults are rules loaded from XML (`module` says whose); an
administrator adds rules or widens a default one, never lowers a default
below what its addon declared: auditing that can be switched off from the
client is no audit."""
from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval

FLAGS = ('log_create', 'log_write', 'log_delete', 'log_access')
# Never worth auditing by value: the ORM's own bookkeeping.
UNAUDITED_FIELDS = {
    'id', 'create_uid', 'create_date', 'write_uid', 'write_date', 'rec_name'}


def names(text):
    "The names listed in a rule's text (one per line or comma separated)."
    return frozenset(
        n.strip() for n in (text or '').replace(',', '\n').splitlines()
        if n.strip())


class Rule(ModelSQL, ModelView):
    "Audit Rule"
    __string__ = "Audit Rule"
    __name__ = 'spp.audit.rule'

    model = fields.Selection('get_models', "Model", required=True)
    field_names = fields.Text("Fields",
        help="The fields whose changes are recorded with their old and new "
        "values, one per line. Empty: every stored field.")
    log_create = fields.Boolean("Creation")
    log_write = fields.Boolean("Changes")
    log_delete = fields.Boolean("Deletion")
    log_access = fields.Boolean("Access",
        help="Record who reads these records over JSON-RPC (the web client "
        "included), exports them, or receives them through the API.")
    actions = fields.Text("Actions",
        help="The named actions recorded (buttons such as approve, post, "
        "export), one per line.")
    module = fields.Char("Declared By", readonly=True,
        help="The addon whose default this rule is: it can be widened, "
        "never lowered or deleted.")

    _config_cache = Cache('spp_audit.rule.config', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('model', 'ASC'))
        readonly = Eval('module', None) != None  # noqa: E711
        cls.model.states = {'readonly': readonly}

    @staticmethod
    def default_log_write():
        return True

    @classmethod
    def get_models(cls):
        return Pool().get('ir.model').get_name_items()

    def get_rec_name(self, name):
        return dict(self.get_models()).get(self.model, self.model or '')

    @classmethod
    def config(cls, model):
        "The audited set of a model: a dict, or None when it is not audited."
        configs = cls._config_cache.get(None)
        if configs is None:
            configs = {}
            for rule in cls.search([]):
                config = configs.setdefault(rule.model, {
                        'create': False, 'write': False, 'delete': False,
                        'access': False, 'fields': frozenset(),
                        'all_fields': False, 'actions': frozenset()})
                for flag in FLAGS:
                    config[flag[4:]] |= bool(getattr(rule, flag))
                rule_fields = names(rule.field_names)
                if rule.log_write or rule.log_create or rule.log_delete:
                    config['all_fields'] |= not rule_fields
                    config['fields'] |= rule_fields
                config['actions'] |= names(rule.actions)
            cls._config_cache.set(None, configs)
        return configs.get(model)

    @classmethod
    def audited_models(cls):
        "The names of the models an audit rule covers."
        cls.config(None)
        return sorted(cls._config_cache.get(None) or ())

    @classmethod
    def audited_fields(cls, model, config, names=None):
        "The audited stored fields of `model`, among `names` if given."
        Model = Pool().get(model)
        if config['all_fields']:
            # Every stored field but the lists of other records, which are
            # audited as those records (a stored Dict or Binary has a `get`
            # too: the test is the Function class, not the method).
            candidates = {n for n, f in Model._fields.items()
                if not isinstance(f, fields.Function)
                and f._type not in {'one2many', 'many2many'}
                and n not in UNAUDITED_FIELDS}
        else:
            candidates = set(config['fields'])
        candidates -= set(getattr(Model, '_audit_ignored', ()))
        if names is not None:
            candidates &= set(names)
        return sorted(candidates)

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        pool = Pool()
        for rule in rules:
            try:
                Model = pool.get(rule.model)
            except KeyError:
                continue
            for name in names(rule.field_names):
                if name not in Model._fields:
                    raise ValidationError(gettext(
                            'spp_audit.msg_rule_unknown_field',
                            field=name, model=rule.rec_name))
            if rule.log_access and not getattr(Model, '_audit_access', False):
                raise ValidationError(gettext(
                        'spp_audit.msg_rule_access_unsupported',
                        model=rule.rec_name))
            known = set(getattr(Model, '_buttons', {})) | set(
                getattr(Model, '_audit_actions', ()))
            for name in names(rule.actions):
                if name not in known:
                    raise ValidationError(gettext(
                            'spp_audit.msg_rule_unknown_action',
                            action=name, model=rule.rec_name,
                            known=', '.join(sorted(known)) or '-'))

    @classmethod
    def check_modification(cls, mode, rules, values=None, external=False):
        super().check_modification(
            mode, rules, values=values, external=external)
        if not external:
            return
        for rule in rules:
            if not rule.module:
                continue
            if mode == 'delete' or rule.lowered_by(values or {}):
                raise AccessError(gettext(
                        'spp_audit.msg_rule_default_lowered',
                        rule=rule.rec_name, module=rule.module))

    def lowered_by(self, values):
        "Whether writing `values` would audit less than this rule does."
        if 'model' in values and values['model'] != self.model:
            return True
        if 'module' in values and values['module'] != self.module:
            return True
        for flag in FLAGS:
            if flag in values and getattr(self, flag) and not values[flag]:
                return True
        if 'field_names' in values:
            old, new = names(self.field_names), names(values['field_names'])
            # An empty list is every field: any list is fewer.
            if (not old and new) or (old and new and not old <= new):
                return True
        if 'actions' in values:
            if not names(self.actions) <= names(values['actions']):
                return True
        return False

    @classmethod
    def on_modification(cls, mode, rules, field_names=None):
        super().on_modification(mode, rules, field_names=field_names)
        cls._config_cache.clear()
