"""Kinds of change request and how each is validated.

A kind is configuration (`spp.change_request.kind`): a name, the code the
API uses, its implementation (a small pool class of kinds_*.py that knows
how to check, preview and apply it), the fields an edit kind may change,
the documents it needs and its ordered validation stages."""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, DictSchemaMixin, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval

IMPLEMENTATION_PREFIX = 'spp.change_request.kind.'


def implementation(name):
    "The pool class of an implementation name (e.g. 'edit_individual')."
    return Pool().get(IMPLEMENTATION_PREFIX + name)


class Kind(DeactivableMixin, ModelSQL, ModelView):
    "Change Request Kind"
    __string__ = "Change Request Kind"
    __name__ = 'spp.change_request.kind'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True,
        help="Used by the API to name the kind (e.g. edit_individual).")
    implementation = fields.Selection('get_implementations',
        "Implementation", required=True,
        help="What the request does to the registry.")
    description = fields.Text("Description", translate=True)
    target = fields.Function(fields.Selection([
                (None, ""),
                ('individual', "Individual"),
                ('group', "Group"),
                ('any', "Individual or Group"),
                ], "Applies To"), 'on_change_with_target')
    editable = fields.Function(fields.Boolean("Edits Fields"),
        'on_change_with_editable')
    fields_ = fields.One2Many('spp.change_request.kind.field', 'kind',
        "Fields", states={'invisible': ~Eval('editable')},
        help="The registrant fields a request of this kind may change.")
    documents = fields.Many2Many('spp.change_request.kind-document.type',
        'kind', 'document_type', "Required Documents",
        help="An attachment of each of these types is needed to submit.")
    stages = fields.One2Many('spp.change_request.stage', 'kind',
        "Validation Stages",
        help="Who decides, in order; the last approval applies the change "
        "when Apply on Approval is ticked.")
    conflict_policy = fields.Selection([
            ('warn', "Warn"),
            ('block', "Block"),
            ], "Conflicting Requests", required=True,
        help="What happens when another open request on the same "
        "registrant changes the same field or the same household: both "
        "requests show it (Warn), or this one cannot be submitted (Block).")
    apply_on_approval = fields.Boolean("Apply on Approval",
        help="Apply the change as soon as the last stage approves; "
        "otherwise approved requests wait for the Apply button.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_change_request.msg_kind_code_unique'),
            ]

    @staticmethod
    def default_conflict_policy():
        return 'warn'

    @staticmethod
    def default_apply_on_approval():
        return True

    @classmethod
    def get_implementations(cls):
        "Every kind implementation in the pool, by its short name."
        pool = Pool()
        result = []
        for name, klass in pool.iterobject():
            if (name.startswith(IMPLEMENTATION_PREFIX)
                    and hasattr(klass, 'kind_string')):
                result.append((name[len(IMPLEMENTATION_PREFIX):],
                        klass.kind_string()))
        return sorted(result, key=lambda r: r[1])

    @fields.depends('implementation')
    def on_change_with_target(self, name=None):
        if self.implementation:
            return implementation(self.implementation).target

    @fields.depends('implementation')
    def on_change_with_editable(self, name=None):
        return bool(self.implementation
            and implementation(self.implementation).editable)

    def get_implementation(self):
        return implementation(self.implementation)


class Stage(sequence_ordered(), ModelSQL, ModelView):
    "Change Request Validation Stage"
    __name__ = 'spp.change_request.stage'
    kind = fields.Many2One('spp.change_request.kind', "Kind",
        required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True, translate=True)
    group = fields.Many2One('res.group', "Decided By", required=True,
        ondelete='RESTRICT',
        help="The group whose members approve, send back or reject at "
        "this stage.")
    area_limited = fields.Boolean("Limited to the Validator's Areas",
        help="Only validators whose registry areas contain the "
        "registrant's area decide at this stage.")

    @staticmethod
    def default_area_limited():
        return True

    def get_rec_name(self, name):
        return f'{self.kind.rec_name}: {self.name}'


class DocumentType(DeactivableMixin, ModelSQL, ModelView):
    "Change Request Document Type"
    __string__ = "Change Request Document Type"
    __name__ = 'spp.change_request.document.type'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_change_request.msg_document_type_code_unique'),
            ]


class KindDocumentType(ModelSQL):
    "Change Request Kind - Document Type"
    __string__ = "Change Request Kind - Document Type"
    __name__ = 'spp.change_request.kind-document.type'
    kind = fields.Many2One('spp.change_request.kind', "Kind",
        required=True, ondelete='CASCADE')
    document_type = fields.Many2One('spp.change_request.document.type',
        "Document Type", required=True, ondelete='CASCADE')


# A field an edit kind may change: one key of the request's proposed
# values, described from the registrant field it writes.
class KindField(DictSchemaMixin, ModelSQL, ModelView):
    "Change Request Kind Field"
    __string__ = "Change Request Kind Field"
    __name__ = 'spp.change_request.kind.field'
    kind = fields.Many2One('spp.change_request.kind', "Kind",
        required=True, ondelete='CASCADE')
    field = fields.Selection('get_editable_fields', "Registrant Field",
        required=True)
    sequence = fields.Integer("Sequence")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('sequence', 'ASC'))
        for name in ['name', 'string', 'type_', 'selection', 'digits']:
            getattr(cls, name).readonly = True
        t = cls.__table__()
        cls._sql_constraints += [
            ('kind_field_unique', Unique(t, t.kind, t.field),
                'spp_change_request.msg_kind_field_unique'),
            ]

    @classmethod
    def get_editable_fields(cls):
        ChangeRequest = Pool().get('spp.change_request')
        return [(key, spec['string'])
            for key, spec in ChangeRequest.editable_fields().items()]

    @classmethod
    def get_keys(cls, records):
        """The keys as the client shows them, with the options of today:
        a gender added after the field was listed is offered too."""
        ChangeRequest = Pool().get('spp.change_request')
        specs = ChangeRequest.editable_fields()
        keys = super().get_keys(records)
        for key in keys:
            spec = specs.get(key['name'])
            if spec and spec['type'] == 'selection':
                key['selection'] = [tuple(line.split(':', 1))
                    for line in spec['selection'].splitlines()
                    if ':' in line]
        return keys

    @classmethod
    def preprocess_values(cls, mode, values):
        "Name, label and type follow the registrant field chosen."
        values = super().preprocess_values(mode, values)
        if values.get('field'):
            ChangeRequest = Pool().get('spp.change_request')
            spec = ChangeRequest.editable_fields().get(values['field'])
            if spec:
                values.update(name=values['field'], string=spec['string'],
                    type_=spec['type'],
                    selection=spec.get('selection') or None,
                    digits=spec.get('digits'))
        return values

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            editable = record.kind.editable and record.field in (
                record.kind.get_implementation().editable_keys())
            if not editable:
                raise ValidationError(gettext(
                        'spp_change_request.msg_kind_field_not_editable',
                        field=record.field, kind=record.kind.rec_name))
