# DCI client: external registries, the exchange log, subscriptions and the
# routes of what registries send us (registered on trytond's WSGI
# application when imported). Models are registered from tryton.cfg.
from . import inbound

__all__ = ['inbound']
