"""What a change request shows: its preview lines (current and proposed
value, field by field) and the members a household request lists."""
from trytond.model import Index, ModelSQL, ModelView, fields, sequence_ordered
from trytond.pool import Pool
from trytond.pyson import Eval


class Line(sequence_ordered(), ModelSQL, ModelView):
    "Change Request Line"
    __name__ = 'spp.change_request.line'
    request = fields.Many2One('spp.change_request', "Request",
        required=True, ondelete='CASCADE')
    key = fields.Char("Key", readonly=True,
        help="What the line changes; open requests of a registrant "
        "conflict when they show a line of the same key.")
    field = fields.Char("Field", readonly=True)
    current = fields.Text("Current Value", readonly=True,
        help="The registry's value when the request was last saved in "
        "draft or submitted.")
    proposed = fields.Text("Proposed Value", readonly=True)
    now = fields.Function(fields.Text("Value Now",
            help="The registry's value now: it differs from the current "
            "value when the registrant changed since submission."),
        'get_now')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.request, Index.Range())),
                Index(t, (t.key, Index.Equality())),
                })

    @classmethod
    def get_now(cls, lines, name):
        ChangeRequest = Pool().get('spp.change_request')
        requests = list({line.request for line in lines})
        previews = ChangeRequest.preview(requests)
        now = {(r_id, line['key']): line['current']
            for r_id, r_lines in previews.items() for line in r_lines}
        return {line.id: now.get((line.request.id, line.key), '')
            for line in lines}


class Member(ModelSQL, ModelView):
    "Change Request Member"
    __string__ = "Change Request Member"
    __name__ = 'spp.change_request.member'
    request = fields.Many2One('spp.change_request', "Request",
        required=True, ondelete='CASCADE')
    implementation = fields.Function(fields.Char("Implementation"),
        'on_change_with_implementation')
    individual = fields.Many2One('party.party', "Individual",
        ondelete='RESTRICT', domain=[('registrant_type', '=', 'individual')],
        states={
            'invisible': Eval('implementation') != 'split_household',
            'required': Eval('implementation') == 'split_household',
            },
        help="A current member who moves to the new household.")
    family_name = fields.Char("Family Name",
        states={'invisible': Eval('implementation') != 'create_household'})
    given_name = fields.Char("Given Name",
        states={'invisible': Eval('implementation') != 'create_household'})
    birth_date = fields.Date("Birth Date",
        states={'invisible': Eval('implementation') != 'create_household'})
    gender = fields.Many2One('spp.gender', "Gender", ondelete='RESTRICT',
        states={'invisible': Eval('implementation') != 'create_household'})
    role = fields.Many2One('spp.group.membership.role', "Role",
        ondelete='RESTRICT')
    id_type = fields.Selection('get_id_types', "ID Type",
        states={'invisible': Eval('implementation') != 'create_household'})
    id_number = fields.Char("ID Number",
        states={'invisible': Eval('implementation') != 'create_household'})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.request, Index.Range())))

    @classmethod
    def get_id_types(cls):
        return Pool().get('spp.change_request').get_id_types()

    @fields.depends('request', '_parent_request.kind')
    def on_change_with_implementation(self, name=None):
        if self.request and self.request.kind:
            return self.request.kind.implementation

    def person_values(self):
        return {'family_name': self.family_name,
            'given_name': self.given_name, 'birth_date': self.birth_date,
            'gender': self.gender.id if self.gender else None}

    @classmethod
    def on_modification(cls, mode, members, field_names=None):
        super().on_modification(mode, members, field_names=field_names)
        if mode == 'delete':
            return
        # The household line shows the members.
        ChangeRequest = Pool().get('spp.change_request')
        requests = {m.request for m in members
            if m.request.state in {'draft', 'revision'}}
        ChangeRequest.refresh_lines(list(requests))
