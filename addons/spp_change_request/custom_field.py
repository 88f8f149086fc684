"""With spp_custom_field: custom fields of registrants are fields an edit
request may change (`cf_<name>`), checked by the custom fields' own
rules. Computed indicators and links are not: the former are never
written, the latter have no place in proposed values."""
from trytond.pool import Pool, PoolMeta

TYPES = {'char', 'integer', 'numeric', 'boolean', 'date', 'selection'}
TARGETS = {'individual': 'individual', 'group': 'group', 'both': 'both'}


class ChangeRequest(metaclass=PoolMeta):
    __name__ = 'spp.change_request'

    @classmethod
    def editable_fields(cls):
        specs = super().editable_fields()
        if not any(s['source'] == 'custom' for s in specs.values()):
            CustomField = Pool().get('spp.custom_field')
            for name, definition in CustomField.definitions().items():
                if (definition['computed'] or not definition['active']
                        or definition['type'] not in TYPES):
                    continue
                specs[f'cf_{name}'] = {
                    'string': definition['string'],
                    'type': definition['type'],
                    'target': TARGETS[definition['applies_to']],
                    'source': 'custom', 'name': name,
                    'selection': '\n'.join(
                        f'{k}:{v}' for k, v in definition['selection']),
                    }
        return specs
