from trytond.pool import PoolMeta
from trytond.transaction import Transaction


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('spp.grievance|run_sla', "Grievance SLA and Escalation"))


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    # The receiver of a complaint reads it while it is new (grievance.xml):
    # a rule of the user, whose context and cache key trytond keeps to
    # the user's groups.
    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        context['spp_user'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        return (*super()._get_cache_key(model_names), Transaction().user)
