"Relationships between individuals (parent of, spouse, guardian...)."
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import PoolMeta
from trytond.pyson import Eval, If


class RelationshipKind(DeactivableMixin, ModelSQL, ModelView):
    "Relationship Kind"
    __string__ = "Relationship Kind"
    __name__ = 'spp.relationship.kind'
    name = fields.Char("Name", required=True, translate=True,
        help="Read from the first individual: \"parent of\".")
    code = fields.Char("Code", required=True)
    inverse = fields.Many2One(
        'spp.relationship.kind', "Inverse",
        help="The same relationship read from the other individual: "
        "\"child of\" for \"parent of\"; itself for \"spouse of\".")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_code_unique'),
            ]

    @classmethod
    def on_modification(cls, mode, kinds, field_names=None):
        super().on_modification(mode, kinds, field_names=field_names)
        if mode in {'create', 'write'}:
            # An inverse reads both ways: child of <-> parent of.
            to_write = []
            for kind in kinds:
                if kind.inverse and kind.inverse.inverse != kind:
                    to_write.extend(([kind.inverse], {'inverse': kind.id}))
            if to_write:
                cls.write(*to_write)


class Relationship(ModelSQL, ModelView):
    "Relationship"
    __string__ = "Relationship"
    __name__ = 'spp.relationship'
    source = fields.Many2One(
        'party.party', "Individual", required=True, ondelete='CASCADE',
        domain=[('registrant_type', '=', 'individual')])
    kind = fields.Many2One(
        'spp.relationship.kind', "Relationship", required=True,
        ondelete='RESTRICT')
    destination = fields.Many2One(
        'party.party', "Related Individual", required=True,
        ondelete='CASCADE',
        domain=[
            ('registrant_type', '=', 'individual'),
            ('id', '!=', Eval('source', -1)),
            ])
    start_date = fields.Date("Start Date")
    end_date = fields.Date(
        "End Date",
        domain=[If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')), ())])
    inverse_kind = fields.Function(
        fields.Many2One('spp.relationship.kind', "Inverse"),
        'on_change_with_inverse_kind')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._history = True
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.source, Index.Range())),
                Index(t, (t.destination, Index.Range())),
                })

    @fields.depends('kind')
    def on_change_with_inverse_kind(self, name=None):
        if self.kind and self.kind.inverse:
            return self.kind.inverse.id

    def get_rec_name(self, name):
        return (f'{self.source.rec_name} {self.kind.rec_name} '
            f'{self.destination.rec_name}')

    @classmethod
    def validate(cls, relationships):
        super().validate(relationships)
        for relationship in relationships:
            if relationship.source == relationship.destination:
                raise ValidationError(gettext(
                        'spp_registry.msg_relationship_self',
                        individual=relationship.source.rec_name))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    relationships = fields.One2Many(
        'spp.relationship', 'source', "Relationships",
        states={'invisible': Eval('registrant_type') != 'individual'})
    related_from = fields.One2Many(
        'spp.relationship', 'destination', "Related From", readonly=True,
        states={'invisible': Eval('registrant_type') != 'individual'},
        help="Relationships recorded on other individuals towards this one "
        "(read them with the inverse kind).")

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default else {}
        default.setdefault('relationships', None)
        default.setdefault('related_from', None)
        return super().copy(parties, default=default)
