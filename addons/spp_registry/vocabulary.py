"Configurable lists: genders and group kinds."
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields


class _CodedMixin(DeactivableMixin):
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True,
        help="Stable code used by imports, rules and the API.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_code_unique'),
            ]


class Gender(_CodedMixin, ModelSQL, ModelView):
    "Gender"
    __string__ = "Gender"
    __name__ = 'spp.gender'


class GroupKind(_CodedMixin, ModelSQL, ModelView):
    "Group Kind"
    __string__ = "Group Kind"
    __name__ = 'spp.group.kind'
