"Edit kinds: change fields of an individual or of a group."
from trytond.pool import Pool

from . import editable
from .kinds import KindImplementation, check_birth_date, refuse


class EditMixin(KindImplementation):
    editable = True
    form_fields = ('proposed',)

    @classmethod
    def editable_keys(cls):
        ChangeRequest = Pool().get('spp.change_request')
        return {k for k, s in ChangeRequest.editable_fields().items()
            if s['target'] in {cls.target, 'both'}}

    @classmethod
    def _specs(cls, requests):
        "The specs of the keys the requests propose, by key."
        ChangeRequest = Pool().get('spp.change_request')
        specs = ChangeRequest.editable_fields()
        keys = {k for r in requests for k in (r.proposed or {})}
        return {k: specs[k] for k in keys if k in specs}

    @classmethod
    def preview(cls, requests):
        specs = cls._specs(requests)
        with_party = [r for r in requests if r.registrant]
        current = editable.read_current(
            [r.registrant for r in with_party], specs)
        result = {}
        for request in requests:
            now = current.get(request.registrant.id, {}) \
                if request.registrant else {}
            lines = []
            for key, value in sorted((request.proposed or {}).items(),
                    key=lambda kv: cls._order(kv[0], request)):
                spec = specs.get(key)
                if spec is None:
                    continue
                lines.append({'key': key, 'field': spec['string'],
                        'current': editable.display(spec, now.get(key)),
                        'proposed': editable.display(spec, value)})
            result[request.id] = lines
        return result

    @staticmethod
    def _order(key, request):
        sequence = {f.name: (f.sequence or 0, i)
            for i, f in enumerate(request.kind.fields_)}
        return sequence.get(key, (1 << 30, 0)), key

    @classmethod
    def proposed_values(cls, request):
        """The proposed values, checked against the kind's fields and
        converted to the registry's types."""
        ChangeRequest = Pool().get('spp.change_request')
        specs = ChangeRequest.editable_fields()
        allowed = {f.name for f in request.kind.fields_}
        values = {}
        for key, value in (request.proposed or {}).items():
            if key not in allowed or key not in specs:
                refuse('msg_proposed_field_not_allowed', field=key,
                    kind=request.kind.rec_name)
            values[key] = editable.coerce(key, specs[key], value)
        return values

    @classmethod
    def check(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        ChangeRequest = pool.get('spp.change_request')
        specs = ChangeRequest.editable_fields()
        for request in requests:
            values = cls.proposed_values(request)
            if not values:
                refuse('msg_nothing_proposed', request=request.rec_name)
            party = request.registrant
            if values.get('birth_date'):
                check_birth_date(party.rec_name, values['birth_date'])
            if values.get('income') is not None and values['income'] < 0:
                refuse('msg_proposed_income', request=request.rec_name)
            if party.registrant_type == 'individual' and not any(
                    values.get(k, getattr(party, k))
                    for k in ['family_name', 'given_name']):
                refuse('msg_new_person_name', request=request.rec_name)
            if 'name' in values and not values['name']:
                refuse('msg_group_name', request=request.rec_name)
            if values.get('phone'):
                ContactMechanism.check_valid_phonenumber([ContactMechanism(
                            party=party, type='phone',
                            value=values['phone'])])
            custom = {specs[k]['name']: v for k, v in values.items()
                if specs[k]['source'] == 'custom' and v is not None}
            if custom:
                Party.check_custom_values(custom)

    @classmethod
    def apply(cls, requests):
        """Edits of registrant columns in SQL for the whole batch
        (editable.update_columns), the others (phones, custom values)
        through the registry's write."""
        ChangeRequest = Pool().get('spp.change_request')
        specs = ChangeRequest.editable_fields()
        columns, others = [], []
        for request in requests:
            values = cls.proposed_values(request)
            change = (request.registrant, values, request)
            (columns if editable.set_based(specs, values) else others
                ).append(change)
        if columns:
            ChangeRequest.registrants_edited(
                editable.update_columns(columns))
        if others:
            editable.write_proposed(others)


class EditIndividual(EditMixin):
    "Edit an individual"
    __string__ = "Edit an individual"
    __name__ = 'spp.change_request.kind.edit_individual'
    target = 'individual'


class EditGroup(EditMixin):
    "Edit a group"
    __string__ = "Edit a group"
    __name__ = 'spp.change_request.kind.edit_group'
    target = 'group'
