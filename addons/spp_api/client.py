"""API clients (keys, scopes, areas, expiry, rate limit) and the call log.

A key is `spp_` + 43 random URL-safe characters (256 bits), shown once
when it is issued; only its SHA-256 is stored. A salted slow hash would
add nothing for a key of that entropy, and the digest is looked up through
a unique index on every call.

The REST and DCI routes authenticate through `authenticate_cached()`: a
verified client is kept in this process for `[spp_api] key_cache_seconds`
(default 10; 0 turns the cache off), keyed by database and the key's
SHA-256, so a busy client costs no query per call. Only keys found in the
database are kept (a wrong key is looked up, and refused, every time).
Expiry is compared with the clock on every call, so it is exact; a
revocation, a new key, a change of scopes, areas or rate limit empties the
cache of the process that made it at once, and reaches the other server
processes within `key_cache_seconds`."""
import datetime as dt
import hashlib
import secrets
import threading
import time

from sql import Null

from trytond import config
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.rpc import RPC
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .resources import SCOPES

KEY_PREFIX = 'spp_'


def utcnow():
    "Now as trytond stores DateTime fields: naive UTC."
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def hash_key(key):
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


class KeyCache:
    "Verified clients by (database, key digest), for a few seconds."
    max_size = 1024

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}

    def get(self, name, digest, ttl):
        entry = self.entries.get((name, digest))
        if entry is None or time.monotonic() - entry[0] >= ttl:
            return None
        return entry[1]

    def put(self, name, digest, client):
        with self.lock:
            if len(self.entries) >= self.max_size:
                self.entries.clear()
            self.entries[(name, digest)] = (time.monotonic(), client)

    def clear(self):
        with self.lock:
            self.entries.clear()


key_cache = KeyCache()


def key_cache_seconds():
    return config.getfloat('spp_api', 'key_cache_seconds', default=10)


def authenticate_cached(key):
    """`Client.authenticate(key)` through the process's key cache (see the
    module docstring for how long a change takes to be seen)."""
    pool = Pool()
    Client = pool.get('spp.api.client')
    ttl = key_cache_seconds()
    if not ttl or not key or not key.startswith(KEY_PREFIX) or len(
            key) > 100:
        return Client.authenticate(key)
    name = Transaction().database.name
    digest = hash_key(key)
    client = key_cache.get(name, digest, ttl)
    if client is None:
        client = Client.authenticate(key)
        if client is None:
            return None
        key_cache.put(name, digest, client)
    # A copy: callers may not change what the next call sees.
    return {**client, 'scopes': set(client['scopes']),
        'areas': list(client['areas'])}


class Client(ModelSQL, ModelView):
    "API Client"
    __string__ = "API Client"
    __name__ = 'spp.api.client'
    name = fields.Char("Name", required=True,
        help="Who calls the API with this key (system, organisation).")
    user = fields.Many2One('res.user', "Acting User", required=True,
        ondelete='RESTRICT',
        help="Records the client creates or changes are attributed "
        "to this user.")
    scopes = fields.MultiSelection(
        [(s, s) for s in SCOPES], "Scopes",
        help="What the client may do, as resource:action.")
    areas = fields.Many2Many('spp.api.client-spp.area', 'client', 'area',
        "Areas", help="When set, the client sees and writes only "
        "registrants of these areas and the areas below them.")
    expires = fields.DateTime("Expires",
        help="The key stops working at this time (leave empty for never).")
    revoked = fields.DateTime("Revoked", readonly=True)
    rate_limit = fields.Integer("Rate Limit", required=True,
        domain=[('rate_limit', '>=', 0)],
        help="Requests per minute (0: no limit).")
    key_hash = fields.Char("Key Hash", readonly=True)
    key_hint = fields.Char("Key", readonly=True,
        help="The beginning of the key, to recognise it.")
    key_issued = fields.DateTime("Key Issued", readonly=True)
    state = fields.Function(fields.Selection([
                ('no_key', "No Key"),
                ('active', "Active"),
                ('expired', "Expired"),
                ('revoked', "Revoked"),
                ], "State"), 'get_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_hash_unique', Unique(t, t.key_hash),
                'spp_api.msg_key_hash_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.key_hash, Index.Equality())))
        cls._buttons.update({
                'issue_key_button': {
                    'invisible': Bool(Eval('revoked')),
                    'depends': ['revoked'],
                    },
                'revoke': {
                    'invisible': Bool(Eval('revoked')) | ~Eval('key_hash'),
                    'depends': ['revoked', 'key_hash'],
                    },
                })
        cls.__rpc__['issue_key'] = RPC(readonly=False, instantiate=0)

    @classmethod
    def default_rate_limit(cls):
        return 600

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        # A revoked, re-keyed or narrowed client is seen at once here
        # (again once committed: a call may have cached the old row since).
        key_cache.clear()
        Transaction().atexit(key_cache.clear)

    @classmethod
    def default_user(cls):
        ModelData = Pool().get('ir.model.data')
        return ModelData.get_id('spp_api', 'user_api')

    def get_state(self, name):
        if self.revoked:
            return 'revoked'
        if not self.key_hash:
            return 'no_key'
        if self.expires and self.expires <= utcnow():
            return 'expired'
        return 'active'

    @classmethod
    def copy(cls, clients, default=None):
        default = default.copy() if default else {}
        for name in ['key_hash', 'key_hint', 'key_issued', 'revoked']:
            default.setdefault(name, None)
        return super().copy(clients, default=default)

    @classmethod
    def issue_key(cls, clients):
        """Give each client a new key (the old one stops working) and
        return the keys in the same order: the only time they are seen."""
        keys = []
        now = utcnow()
        for client in clients:
            if client.revoked:
                raise ValidationError(gettext(
                        'spp_api.msg_revoked_no_key', client=client.rec_name))
        to_write = []
        for client in clients:
            key = KEY_PREFIX + secrets.token_urlsafe(32)
            keys.append(key)
            to_write.extend(([client], {
                        'key_hash': hash_key(key),
                        'key_hint': key[:10] + '…',
                        'key_issued': now,
                        }))
        if to_write:
            cls.write(*to_write)
        return keys

    @classmethod
    @ModelView.button_action('spp_api.wizard_issue_key')
    def issue_key_button(cls, clients):
        pass

    @classmethod
    @ModelView.button
    def revoke(cls, clients):
        "Revoke keys for good; a revoked client cannot be given a new one."
        cls.write([c for c in clients if not c.revoked],
            {'revoked': utcnow()})

    @classmethod
    def authenticate(cls, key):
        """The client owning `key`, as a dict, or None. Read with SQL
        (one indexed row) because it runs on every call."""
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        pool = Pool()
        ClientArea = pool.get('spp.api.client-spp.area')
        table = cls.__table__()
        relation = ClientArea.__table__()
        cursor = Transaction().connection.cursor()
        # One query for the client and its areas (one row per area).
        cursor.execute(*table
            .join(relation, 'LEFT', condition=relation.client == table.id)
            .select(table.id, table.user, table.scopes, table.expires,
                table.revoked, table.rate_limit, relation.area,
                where=(table.key_hash == hash_key(key))
                & (table.key_hash != Null)))
        rows = cursor.fetchall()
        if not rows:
            return None
        id_, user, scopes, expires, revoked, rate_limit, _ = rows[0]
        return {
            'id': id_,
            'user': user,
            'scopes': set(cls._decode_scopes(scopes)),
            'expires': expires,
            'revoked': revoked,
            'rate_limit': rate_limit or 0,
            'areas': sorted(r[-1] for r in rows if r[-1] is not None),
            **cls.sharing_values(id_),
            }

    # -- sharing hooks: no-ops here, what an addon (spp_consent) limits ---
    @classmethod
    def sharing_values(cls, client_id):
        """{key: value} added to the client dict of `client_id` wherever
        one is made (authenticate(), the DCI tokens, queued tasks): what
        the other hooks need of the client, read in at most one query."""
        return {}

    @classmethod
    def sharing_domain(cls, client, registrant):
        """Domain limiting a search to the records whose registrant (the
        path `registrant`: 'id' on party.party, 'group' on memberships...)
        the client (a dict of authenticate()) may receive. Scope.area_domain()
        adds it to every REST and DCI registrant search."""
        return []

    @classmethod
    def check_search(cls, client, fields):
        """Raise an ApiError when the client may not find registrants by
        `fields` (names of party.party fields, e.g. identifiers)."""

    @classmethod
    def shape_records(cls, client, kind, records):
        """Change in place the dicts of `kind` answered to the client:
        'individual' and 'group' (the REST API's, the DCI records are made
        of them) and 'dci' (DCI reg_records)."""

    @classmethod
    def _decode_scopes(cls, value):
        import json
        if not value:
            return []
        if isinstance(value, (list, tuple)):
            return value
        return json.loads(value)


class ClientArea(ModelSQL):
    "API Client - Area"
    __string__ = "API Client - Area"
    __name__ = 'spp.api.client-spp.area'
    client = fields.Many2One('spp.api.client', "Client", required=True,
        ondelete='CASCADE')
    area = fields.Many2One('spp.area', "Area", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.client, Index.Range())))

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        key_cache.clear()
        Transaction().atexit(key_cache.clear)


class Log(ModelSQL, ModelView):
    """API Call

    One row per call; endpoints are route templates
    (`/individuals/{handle}`), so no personal data is kept."""
    __name__ = 'spp.api.log'
    client = fields.Many2One('spp.api.client', "Client", readonly=True,
        ondelete='SET NULL')
    timestamp = fields.DateTime("Time", readonly=True, required=True)
    method = fields.Char("Method", readonly=True)
    endpoint = fields.Char("Endpoint", readonly=True)
    status = fields.Integer("Status", readonly=True)
    request_id = fields.Char("Request ID", readonly=True)
    duration = fields.Integer("Duration (ms)", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.client, Index.Range()),
                    (t.timestamp, Index.Range())),
                Index(t, (t.request_id, Index.Equality())),
                })
        cls._order = [('timestamp', 'DESC'), ('id', 'DESC')]

    @classmethod
    def record(cls, entries):
        "Insert call entries (dicts) in one statement, bypassing the ORM."
        if not entries:
            return
        table = cls.__table__()
        columns = [table.client, table.timestamp, table.method,
            table.endpoint, table.status, table.request_id, table.duration,
            table.create_uid, table.create_date]
        now = utcnow()
        values = [[e['client'], e['timestamp'], e['method'], e['endpoint'],
                e['status'], e['request_id'], e['duration'], 0, now]
            for e in entries]
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.insert(columns, values))

    @classmethod
    def served(cls, model, ids, query=None, count=None):
        """What a call answered: the `ids` of `model` its answer holds, the
        `query` that found them and, if not len(ids), how many.

        Called once per call and model, in the call's transaction, with the
        call's client and request id in the context (spp_api_client,
        spp_request_id). Nothing is done here: it is where an addon
        (spp_audit) records who received which registrants."""


class IssueKeyShow(ModelView):
    "API Key"
    __string__ = "API Key"
    __name__ = 'spp.api.client.issue_key.show'
    key = fields.Char("Key", readonly=True,
        help="Copy it now: it is not stored and cannot be shown again.")


class IssueKey(Wizard):
    "Issue API Key"
    __string__ = "Issue API Key"
    __name__ = 'spp.api.client.issue_key'
    start_state = 'issue'
    issue = StateTransition()
    show = StateView('spp.api.client.issue_key.show',
        'spp_api.client_issue_key_show_view_form', [
            Button("Done", 'end', 'tryton-ok', default=True),
            ])

    def transition_issue(self):
        self._key, = self.model.issue_key([self.record])
        return 'show'

    def default_show(self, fields):
        # The key lives only in this answer, never in the wizard's session.
        return {'key': getattr(self, '_key', None)}
