"""External registries this system talks to as a DCI client: a national
social registry to pull candidates from, a civil registry (CRVS) to follow
births and deaths, an integrated beneficiary registry (IBR) to share
enrolments with.

A registry holds where it answers (base URL), how we authenticate
(OAuth2 client credentials, as DCI prescribes, or a static bearer key),
who we are to it (our sender id) and who it is (its receiver id), its
public key (its answers, callbacks and notifications must carry its
signature when set) and the mapping of its code directories (identifier
types, sex, marital status, vital events) to ours. Our own signing key is
the server's `[spp_dci] signing_key` file, the one our DCI server signs
with: no private key is stored in the database."""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.modules.spp_api.dci_signature import load_public_key
from trytond.pool import Pool
from trytond.pyson import Eval

KINDS = [
    ('social_registry', "Social Registry"),
    ('crvs', "Civil Registry (CRVS)"),
    ('ibr', "Integrated Beneficiary Registry"),
    ]
MAPPING_CATEGORIES = [
    ('identifier_type', "Identifier Type"),
    ('sex', "Sex"),
    ('marital_status', "Marital Status"),
    ('event_type', "Vital Event"),
    ]
# Our values of the categories that are not records (civil status is a
# Selection of party.party, vital events are those we act on).
EVENT_TYPES = {'live_birth', 'death'}


class ExternalRegistry(DeactivableMixin, ModelSQL, ModelView):
    "External Registry"
    __string__ = "External Registry"
    __name__ = 'spp.dci.registry'
    # The audit trail records changes, never the secret itself.
    _audit_ignored = ('client_secret',)
    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True,
        help="A short name used in our callback addresses "
        "(/<db>/dci/<code>/registry/…).")
    kind = fields.Selection(KINDS, "Kind", required=True)
    base_url = fields.Char("Base URL", required=True,
        help="Where its DCI endpoints are, e.g. "
        "https://sr.example.gov/api/v1 (the paths /registry/… are "
        "added).")
    auth_method = fields.Selection([
            ('oauth2', "OAuth2 Client Credentials"),
            ('bearer', "Static Bearer Key"),
            ('none', "None"),
            ], "Authentication", required=True)
    token_url = fields.Char("Token URL",
        states={'invisible': Eval('auth_method') != 'oauth2'},
        help="Default: the base URL + /oauth2/client/token.")
    client_id = fields.Char("Client ID",
        states={'invisible': Eval('auth_method') != 'oauth2'})
    client_secret = fields.Char("Client Secret / Key",
        states={'invisible': Eval('auth_method') == 'none'},
        help="The OAuth2 client secret, or the static bearer key.")
    sender_id = fields.Char("Our Sender ID", required=True,
        help="The header.sender_id we send to this registry.")
    receiver_id = fields.Char("Its Sender ID", required=True,
        help="The header.sender_id of its answers and notifications; "
        "our header.receiver_id.")
    public_key = fields.Text("Its Public Key",
        help="PEM public key (Ed25519 or RSA) that checks its "
        "signatures. Without it, its notifications and callbacks are "
        "refused.")
    signature_required = fields.Boolean("Signed Answers Required",
        help="Refuse its synchronous answers when they are not signed "
        "by its key (callbacks and notifications always must be).")
    callback_base = fields.Char("Our Public Address",
        help="Where it can reach our callbacks, e.g. "
        "https://spmis.example.gov/spmis (the database URL); our "
        "callback routes are added.")
    timeout = fields.Integer("Timeout (s)", required=True,
        domain=[('timeout', '>', 0), ('timeout', '<=', 600)])
    attempts = fields.Integer("Attempts", required=True,
        domain=[('attempts', '>=', 1), ('attempts', '<=', 10)],
        help="Tries of each call when it is down, slow or answers 5xx; "
        "the same message id is sent again, so the registry can tell "
        "a retry from a new request.")
    page_size = fields.Integer("Page Size", required=True,
        domain=[('page_size', '>=', 1), ('page_size', '<=', 1000)],
        help="Records asked per search page.")
    batch_size = fields.Integer("Batch Size", required=True,
        domain=[('batch_size', '>=', 1), ('batch_size', '<=', 5000)],
        help="Records sent per message (enrolment updates, checks).")
    mappings = fields.One2Many('spp.dci.registry.mapping', 'registry',
        "Code Mappings")
    areas = fields.Many2Many('spp.dci.registry-spp.area', 'registry',
        'area', "Areas",
        help="Our areas this registry's people live in (subscriptions "
        "and pulls are limited to them; empty: all).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_dci_client.msg_registry_code_unique'),
            ]

    @staticmethod
    def default_auth_method():
        return 'oauth2'

    @staticmethod
    def default_timeout():
        return 30

    @staticmethod
    def default_attempts():
        return 3

    @staticmethod
    def default_page_size():
        return 200

    @staticmethod
    def default_batch_size():
        return 500

    @classmethod
    def validate_fields(cls, registries, field_names):
        super().validate_fields(registries, field_names)
        for registry in registries:
            for name in ('base_url', 'token_url', 'callback_base'):
                url = getattr(registry, name)
                if url and not url.startswith(('https://', 'http://')):
                    raise ValidationError(gettext(
                            'spp_dci_client.msg_registry_url_invalid',
                            registry=registry.rec_name,
                            field=cls.__names__(name)['field']))
            if registry.public_key:
                try:
                    load_public_key(registry.public_key)
                except ValueError as error:
                    raise ValidationError(gettext(
                            'spp_dci_client.msg_registry_key_invalid',
                            registry=registry.rec_name, error=str(error)))
            if not registry.code.replace('-', '').replace('_', '').isalnum():
                raise ValidationError(gettext(
                        'spp_dci_client.msg_registry_code_invalid',
                        registry=registry.rec_name))

    @property
    def verifying_key(self):
        "(public key, algorithm) of its signatures, or None."
        if self.public_key:
            return load_public_key(self.public_key)

    def callback_url(self, path=''):
        "Our address for its callbacks of `path` ('' : the base)."
        if self.callback_base:
            return (f'{self.callback_base.rstrip("/")}/dci/{self.code}'
                f'{path}')

    def mapping(self, category):
        "{their code (upper case): our code} of a category."
        return {m.external_code.upper(): m.internal_code
            for m in self.mappings if m.category == category}

    def reverse_mapping(self, category):
        "{our code: their code} of a category (the first mapped)."
        result = {}
        for m in self.mappings:
            if m.category == category:
                result.setdefault(m.internal_code, m.external_code)
        return result

    @classmethod
    def copy(cls, registries, default=None):
        default = dict(default or {})
        default.setdefault('code', None)
        default.setdefault('client_secret', None)
        return super().copy(registries, default=default)


class RegistryMapping(ModelSQL, ModelView):
    "External Registry Code Mapping"
    __string__ = "External Registry Code Mapping"
    __name__ = 'spp.dci.registry.mapping'
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, ondelete='CASCADE')
    category = fields.Selection(MAPPING_CATEGORIES, "Category",
        required=True)
    category_string = category.translated('category')
    external_code = fields.Char("Their Code", required=True,
        help="The code in its messages (case does not matter), e.g. UIN.")
    internal_code = fields.Char("Our Code", required=True,
        help="Ours: an ID type code (or 'phone'), a gender code, a civil "
        "status (single, married, widowed, divorced, separated) or a "
        "vital event (live_birth, death).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('external_unique', Unique(t, t.registry, t.category,
                    t.external_code),
                'spp_dci_client.msg_mapping_unique'),
            ]

    @classmethod
    def validate_fields(cls, mappings, field_names):
        super().validate_fields(mappings, field_names)
        pool = Pool()
        known = {
            'identifier_type': set(
                pool.get('spp.id.type').by_code()) | {'phone'},
            'sex': {g.code for g in pool.get('spp.gender').search([])},
            'marital_status': {
                v for v, _ in pool.get('party.party').civil_status.selection
                if v},
            'event_type': EVENT_TYPES,
            }
        for mapping in mappings:
            if mapping.internal_code not in known[mapping.category]:
                raise ValidationError(gettext(
                        'spp_dci_client.msg_mapping_unknown',
                        code=mapping.internal_code,
                        category=mapping.category_string))


class RegistryArea(ModelSQL):
    "External Registry Area"
    __string__ = "External Registry Area"
    __name__ = 'spp.dci.registry-spp.area'
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, ondelete='CASCADE')
    area = fields.Many2One('spp.area', "Area", required=True,
        ondelete='CASCADE')
