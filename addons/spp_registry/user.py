"Areas assigned to users, and the record-rule context that uses them."
from trytond.model import ModelSQL, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class UserArea(ModelSQL):
    "User - Area"
    __name__ = 'res.user-spp.area'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    area = fields.Many2One(
        'spp.area', "Area", required=True, ondelete='CASCADE')


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    spp_areas = fields.Many2Many(
        'res.user-spp.area', 'user', 'area', "Registry Areas",
        help="Registrars and viewers work on registrants of these areas "
        "and the areas below them.")

    @classmethod
    def get_spp_areas(cls):
        "Ids of the current user's areas, read without record rules."
        user_id = Transaction().user
        if not user_id:
            return []
        table = Pool().get('res.user-spp.area').__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.area, where=table.user == user_id,
                order_by=[table.area]))
        return [area for area, in cursor]


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_context(cls, model_name):
        context = super()._get_context(model_name)
        context['spp_areas'] = Pool().get('res.user').get_spp_areas()
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        key = super()._get_cache_key(model_names)
        return (*key, tuple(Pool().get('res.user').get_spp_areas()))
