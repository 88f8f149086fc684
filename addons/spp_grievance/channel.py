"The doors complaints come in through (configurable)."
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields


class Channel(DeactivableMixin, ModelSQL, ModelView):
    "Grievance Channel"
    __string__ = "Grievance Channel"
    __name__ = 'spp.grievance.channel'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True,
        help="Used by the API and the email intake.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_grievance.msg_channel_code_unique'),
            ]
        cls._order = [('name', 'ASC'), ('id', 'ASC')]
