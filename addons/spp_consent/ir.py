from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('spp.consent|expire', "Expire Consents"),
                ('spp.retention.policy|run_all', "Apply Retention Policies"),
                ])
