# REST API, DCI Social Registry search, API clients (keys, scopes, areas,
# rate limits) and call log. Routes are registered on trytond's WSGI
# application when imported.
from . import dci, dci_async, dci_token, routes

__all__ = ['dci', 'dci_async', 'dci_token', 'routes']
