"""DCI senders: the systems that call the DCI endpoints, by `sender_id`.

A sender is bound to an API client (its key, scopes, areas and rate
limit). It holds where its callbacks may go (`callback_url`: the
asynchronous answers are delivered only under it) and, optionally, the
public key its messages are signed with. It is also the OAuth2 client id
of the token endpoint.

Senders are looked up on every DCI call, through a per-process cache like
the key cache (`[spp_api] key_cache_seconds`): a change is seen at once by
the process that made it and within that many seconds by the others."""
from sql import Null

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import ValidationError
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .client import KeyCache, key_cache_seconds
from .dci_signature import load_public_key

# Senders (or False: no such active sender) by (database, sender_id).
sender_cache = KeyCache()


class Sender(DeactivableMixin, ModelSQL, ModelView):
    "DCI Sender"
    __string__ = "DCI Sender"
    __name__ = 'spp.dci.sender'
    sender_id = fields.Char("Sender ID", required=True,
        help="The header.sender_id this system sends; also its OAuth2 "
        "client id.")
    name = fields.Char("Name", required=True)
    client = fields.Many2One('spp.api.client', "API Client", required=True,
        ondelete='CASCADE',
        help="The key, scopes and areas the sender acts with.")
    callback_url = fields.Char("Callback URL",
        help="Asynchronous answers go to header.sender_uri only when it "
        "starts with this URL; it is the default when sender_uri is "
        "missing.")
    public_key = fields.Text("Public Key",
        help="PEM public key (Ed25519 or RSA ≥ 2048 bits) that checks "
        "the sender's message signatures.")
    algorithm = fields.Function(fields.Char("Algorithm"), 'get_algorithm')
    signature_required = fields.Boolean("Signature Required",
        states={'invisible': ~Eval('public_key')},
        help="Refuse unsigned messages from this sender.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sender_id_unique', Unique(t, t.sender_id),
                'spp_api.msg_dci_sender_unique'),
            ]

    def get_algorithm(self, name):
        if self.public_key:
            try:
                return load_public_key(self.public_key)[1]
            except ValueError:
                return None

    @classmethod
    def validate_fields(cls, senders, field_names):
        super().validate_fields(senders, field_names)
        for sender in senders:
            if sender.public_key:
                try:
                    load_public_key(sender.public_key)
                except ValueError as error:
                    raise ValidationError(gettext(
                            'spp_api.msg_dci_public_key_invalid',
                            sender=sender.rec_name, error=str(error)))
            if sender.callback_url and not sender.callback_url.startswith(
                    ('https://', 'http://')):
                raise ValidationError(gettext(
                        'spp_api.msg_dci_callback_url_invalid',
                        sender=sender.rec_name))

    @classmethod
    def lookup(cls, sender_id):
        """The active sender of a header.sender_id as a dict, or None,
        through the process's sender cache."""
        if not isinstance(sender_id, str) or len(sender_id) > 200:
            return None
        ttl = key_cache_seconds()
        if not ttl:
            return cls._lookup(sender_id)
        name = Transaction().database.name
        sender = sender_cache.get(name, sender_id, ttl)
        if sender is None:
            sender = cls._lookup(sender_id) or False
            sender_cache.put(name, sender_id, sender)
        # A copy: callers may not change what the next call sees.
        return dict(sender) if sender else None

    @classmethod
    def _lookup(cls, sender_id):
        "The active sender as a dict, or None: one indexed row, with SQL."
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.client,
                table.callback_url, table.public_key,
                table.signature_required,
                where=(table.sender_id == sender_id)
                & (table.active == True)  # noqa: E712
                & (table.client != Null)))
        row = cursor.fetchone()
        if not row:
            return None
        id_, client, callback_url, public_key, required = row
        return {'id': id_, 'client': client, 'sender_id': sender_id,
            'callback_url': callback_url, 'public_key': public_key,
            'signature_required': bool(required)}

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        # As for API clients (client.py): seen at once here, and again once
        # committed, as a call may have cached the old row since.
        sender_cache.clear()
        Transaction().atexit(sender_cache.clear)
