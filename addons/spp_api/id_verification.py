"""Outbound ID verification: ask a national ID system whether an
individual's identifier (with name and birth date) is known and matches,
and keep its answer on the identifier.

The connector POSTs one JSON object per identifier to the configured URL;
the request's keys come from the field mapping (our name -> theirs). The
answer is `{"status": "match" | "mismatch" | "unknown", "message": ...}`
(keys configurable too); HTTP 404 means unknown. A timeout, a refused
connection, a 5xx or an unreadable answer is stored as `error`, never
raised, so a bulk run goes on with the next identifier.

The `verify_pending` cron job queues, in batches, the identifiers never
verified and those whose last attempt failed more than RETRY_AFTER ago."""
import datetime as dt
import json

import requests

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .client import utcnow

STATUSES = [
    (None, ""),
    ('match', "Match"),
    ('mismatch', "Mismatch"),
    ('unknown', "Unknown"),
    ('error', "Error"),
    ]
# Our names, which the field mapping renames for the ID system.
LOCAL_FIELDS = ['id_type', 'id_number', 'family_name', 'given_name',
    'birth_date', 'gender']
DEFAULT_MAPPING = {
    'id_number': 'id_number', 'family_name': 'family_name',
    'given_name': 'given_name', 'birth_date': 'birth_date'}
QUEUE_CHUNK = 100
QUEUE_NAME = 'spp_id_verification'
# A failed verification (ID system down) is tried again after this.
RETRY_AFTER = dt.timedelta(hours=1)


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "ID Verification Configuration"
    __string__ = "ID Verification Configuration"
    __name__ = 'spp.id_verification.configuration'
    url = fields.Char("URL",
        help="Where verification requests are POSTed (https://...).")
    auth_header = fields.Char("Authorization Header",
        help="Sent as the Authorization header, e.g. \"Bearer <token>\".")
    id_type = fields.Char("ID Type", required=True,
        help="Code of the ID type the ID system knows (e.g. national_id).")
    field_mapping = fields.Text("Field Mapping", required=True,
        help="JSON object: our field name -> the ID system's name. Our "
        "names: " + ', '.join(LOCAL_FIELDS) + ".")
    status_key = fields.Char("Status Key", required=True)
    message_key = fields.Char("Message Key", required=True)
    connect_timeout = fields.Float("Connect Timeout (s)", required=True,
        domain=[('connect_timeout', '>', 0)])
    read_timeout = fields.Float("Read Timeout (s)", required=True,
        domain=[('read_timeout', '>', 0)])

    @classmethod
    def default_id_type(cls):
        return 'national_id'

    @classmethod
    def default_field_mapping(cls):
        return json.dumps(DEFAULT_MAPPING, indent=2)

    @classmethod
    def default_status_key(cls):
        return 'status'

    @classmethod
    def default_message_key(cls):
        return 'message'

    @classmethod
    def default_connect_timeout(cls):
        return 3.0

    @classmethod
    def default_read_timeout(cls):
        return 10.0

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            record.mapping()

    def mapping(self):
        "The field mapping as a dict; ValidationError when it is not one."
        try:
            mapping = json.loads(self.field_mapping or '')
        except ValueError:
            mapping = None
        if (not isinstance(mapping, dict)
                or set(mapping) - set(LOCAL_FIELDS)
                or not all(isinstance(v, str) and v
                    for v in mapping.values())
                or 'id_number' not in mapping):
            raise ValidationError(gettext(
                    'spp_api.msg_id_verification_mapping',
                    fields=', '.join(LOCAL_FIELDS)))
        return mapping

    def request_body(self, identifier):
        party = identifier.party
        values = {
            'id_type': identifier.type,
            'id_number': identifier.code,
            'family_name': getattr(party, 'family_name', None),
            'given_name': getattr(party, 'given_name', None),
            'birth_date': (party.birth_date.isoformat()
                if getattr(party, 'birth_date', None) else None),
            'gender': (party.gender.code
                if getattr(party, 'gender', None) else None),
            }
        return {theirs: values[ours]
            for ours, theirs in self.mapping().items()}

    def verify(self, identifier, session=None):
        "(status, message) of the ID system's answer for `identifier`."
        headers = {'Accept': 'application/json'}
        if self.auth_header:
            headers['Authorization'] = self.auth_header
        try:
            response = (session or requests).post(self.url,
                json=self.request_body(identifier), headers=headers,
                timeout=(self.connect_timeout, self.read_timeout))
        except requests.Timeout:
            return 'error', "The ID system did not answer in time."
        except requests.RequestException as exception:
            kind = type(exception).__name__
            return 'error', f"The ID system is unreachable: {kind}."
        if response.status_code == 404:
            return 'unknown', "The ID system does not know this ID."
        if response.status_code != 200:
            return 'error', (
                f"The ID system answered HTTP {response.status_code}.")
        try:
            answer = response.json()
            status = answer[self.status_key]
        except (ValueError, KeyError, TypeError):
            return 'error', "The ID system's answer is not readable."
        if status not in {'match', 'mismatch', 'unknown'}:
            return 'error', f"The ID system answered {str(status)[:40]!r}."
        message = answer.get(self.message_key) or ''
        return status, str(message)[:500]


def configuration():
    """The connector's settings, read whoever verifies: caseworkers may
    not read the token field, but the connector sends it for them."""
    Configuration = Pool().get('spp.id_verification.configuration')
    with without_check_access():
        record = Configuration(1)
        # Load every field now, while access is not checked.
        for name in ['url', 'auth_header', 'id_type', 'field_mapping',
                'status_key', 'message_key', 'connect_timeout',
                'read_timeout']:
            getattr(record, name)
    return record


class Identifier(metaclass=PoolMeta):
    __name__ = 'party.identifier'
    verification_status = fields.Selection(STATUSES, "Verification",
        readonly=True, help="The national ID system's last answer.")
    verified_at = fields.DateTime("Verified At", readonly=True)
    verification_message = fields.Char("Verification Message",
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'verify': {
                    'invisible': Eval('party_registrant_type') != (
                        'individual'),
                    'depends': ['party_registrant_type'],
                    },
                'verify_later': {
                    'invisible': Eval('party_registrant_type') != (
                        'individual'),
                    'depends': ['party_registrant_type'],
                    },
                })

    party_registrant_type = fields.Function(fields.Char("Registrant Type"),
        'on_change_with_party_registrant_type')

    @fields.depends('party', '_parent_party.registrant_type')
    def on_change_with_party_registrant_type(self, name=None):
        if self.party:
            return getattr(self.party, 'registrant_type', None)

    @classmethod
    def copy(cls, identifiers, default=None):
        default = default.copy() if default else {}
        for name in ['verification_status', 'verified_at',
                'verification_message']:
            default.setdefault(name, None)
        return super().copy(identifiers, default=default)

    @classmethod
    def _verifiable(cls, identifiers, configuration):
        if not configuration.url:
            raise ValidationError(gettext(
                    'spp_api.msg_id_verification_not_configured'))
        return [i for i in identifiers
            if i.type == configuration.id_type
            and getattr(i.party, 'registrant_type', None) == 'individual']

    @classmethod
    @ModelView.button
    def verify(cls, identifiers):
        """Verify the individuals' identifiers of the configured type now,
        one request each, and store the answers."""
        settings = configuration()
        identifiers = cls._verifiable(identifiers, settings)
        to_write = []
        with requests.Session() as session:
            for identifier in identifiers:
                status, message = settings.verify(identifier, session)
                to_write.extend(([identifier], {
                            'verification_status': status,
                            'verification_message': message,
                            'verified_at': utcnow(),
                            }))
        if to_write:
            cls.write(*to_write)

    @classmethod
    @ModelView.button
    def verify_later(cls, identifiers):
        """Queue the verification (trytond-worker), in tasks of
        QUEUE_CHUNK identifiers: a bulk run does not hold a request."""
        identifiers = cls._verifiable(identifiers, configuration())
        cls._queue_batches(identifiers, QUEUE_CHUNK)

    @classmethod
    def _queue_batches(cls, identifiers, size):
        with Transaction().set_context(queue_name=QUEUE_NAME):
            for start in range(0, len(identifiers), size):
                cls.__queue__.verify(identifiers[start:start + size])

    @classmethod
    def verify_pending(cls, batch_size=None, limit=None):
        """Cron: queue the pending verifications (never verified, or
        failed more than RETRY_AFTER ago; oldest first) in tasks of
        `batch_size` identifiers, at most `limit` a run ([spp_id_verification]
        cron_batch_size, cron_limit: 100 and 1000). Nothing is queued
        while the previous run's tasks wait, so no ID is asked twice, nor
        when the connector has no URL. Return how many were queued."""
        Queue = Pool().get('ir.queue')
        settings = configuration()
        if not settings.url:
            return 0
        if Queue.search([('name', '=', QUEUE_NAME),
                    ('finished_at', '=', None)], limit=1):
            return 0
        if batch_size is None:
            batch_size = config.getint('spp_id_verification',
                'cron_batch_size', default=QUEUE_CHUNK)
        if limit is None:
            limit = config.getint('spp_id_verification', 'cron_limit',
                default=1000)
        identifiers = cls.search([
                ('type', '=', settings.id_type),
                ('party.registrant_type', '=', 'individual'),
                ['OR',
                    ('verification_status', '=', None),
                    [('verification_status', '=', 'error'),
                        ('verified_at', '<', utcnow() - RETRY_AFTER)],
                    ],
                ], order=[('verified_at', 'ASC NULLS FIRST'), ('id', 'ASC')],
            limit=limit)
        cls._queue_batches(identifiers, max(batch_size, 1))
        return len(identifiers)

    @classmethod
    def verify_unverified(cls, id_type=None):
        """Queue every individual's identifier of the configured type that
        was never verified or whose last attempt failed, at once (a
        migration; the cron job is verify_pending); return how many were
        queued."""
        identifiers = cls.search([
                ('type', '=', id_type or configuration().id_type),
                ('party.registrant_type', '=', 'individual'),
                ('verification_status', 'in', [None, 'error']),
                ], order=[('id', 'ASC')])
        cls.verify_later(identifiers)
        return len(identifiers)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('party.identifier|verify_pending', "Verify Pending IDs"))
