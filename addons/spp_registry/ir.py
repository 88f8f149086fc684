from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('party.party|recompute_all_indicators',
                "Recompute Registry Indicators"))
        cls.method.selection.append(
            ('ir.queue|requeue_abandoned',
                "Requeue the Tasks of Dead Workers"))
