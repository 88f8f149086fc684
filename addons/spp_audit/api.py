"""What the API records (with spp_api): what each REST or DCI call answered,
as one access entry per call and model, and the life of the API clients:
keys issued and revoked, scopes, areas, expiry.

spp_api knows nothing of the audit trail: it tells `spp.api.log.served()`
what an answer holds and puts the channel, client and request id in the
context of the call; the recorder takes them from there, for the changes
a call makes as for what it reads."""
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .audited import AuditedModel


def log():
    return Pool().get('spp.audit.log')


class ApiLog(metaclass=PoolMeta):
    __name__ = 'spp.api.log'

    @classmethod
    def served(cls, model, ids, query=None, count=None):
        super().served(model, ids, query=query, count=count)
        log().record_access(model, ids, query=query, count=count)


class Client(AuditedModel, metaclass=PoolMeta):
    __name__ = 'spp.api.client'
    # Issued from the client's form through a wizard, or over RPC.
    _audit_actions = ('issue_key',)
    # The key's digest identifies the key: it stays out of the log.
    _audit_ignored = ('key_hash',)

    @classmethod
    def issue_key(cls, clients):
        keys = super().issue_key(clients)
        log().record_action(cls.__name__, [c.id for c in clients],
            'issue_key')
        return keys


class Log(metaclass=PoolMeta):
    __name__ = 'spp.audit.log'
    client = fields.Function(fields.Many2One('spp.api.client', "API Client"),
        'get_client', searcher='search_client')

    @classmethod
    def get_client(cls, entries, name):
        "The entry's API client, while it exists (api_client is kept)."
        Client = Pool().get('spp.api.client')
        ids = {e.api_client for e in entries if e.api_client}
        # Only ids the entries hold: whether each still exists.
        with Transaction().set_context(active_test=False), \
                without_check_access():
            existing = {c.id for c in Client.search(
                    [('id', 'in', list(ids))])}
        return {e.id: e.api_client if e.api_client in existing else None
            for e in entries}

    @classmethod
    def search_client(cls, name, clause):
        nested = clause[0][len(name) + 1:]
        if not nested and not isinstance(clause[2], str):
            return [('api_client',) + tuple(clause[1:])]
        Client = Pool().get('spp.api.client')
        query = Client.search([(nested or 'rec_name',) + tuple(clause[1:])],
            query=True)
        return [('api_client', 'in', query)]
