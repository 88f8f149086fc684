"Registry settings an administrator can change without code."
import string

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval

NAME_PARTS = {'family_name', 'given_name', 'additional_name'}


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Registry Configuration"
    __string__ = "Registry Configuration"
    __name__ = 'spp.registry.configuration'
    name_format = fields.Char(
        "Name Format", required=True,
        help="How an individual's full name is composed from its parts, "
        "e.g. \"{family_name}, {given_name} {additional_name}\".")
    phone_country = fields.Many2One(
        'country.country', "Phone Country",
        help="Country of phone numbers typed without international prefix.")
    child_age = fields.Integer(
        "Child Age Limit", required=True,
        domain=[('child_age', '>', 0)],
        help="Individuals younger than this are counted as children.")
    elderly_age = fields.Integer(
        "Elderly Age", required=True,
        domain=[('elderly_age', '>', 0)],
        help="Individuals of this age or older are counted as elderly.")
    duplicate_threshold = fields.Float(
        "Duplicate Threshold", required=True, digits=(1, 2),
        domain=[
            ('duplicate_threshold', '>', 0),
            ('duplicate_threshold', '<=', 1),
            ],
        help="Name similarity (0 to 1) from which two individuals born "
        "the same day are listed as probable duplicates.")
    group_sequence = fields.Many2One(
        'ir.sequence', "Group Number Sequence",
        domain=[('sequence_type', '=', Eval('group_sequence_type', -1))],
        help="Numbers new groups and households (e.g. HH-000123); "
        "empty: they get party codes like individuals.")
    group_sequence_type = fields.Function(
        fields.Many2One('ir.sequence.type', "Group Number Sequence Type"),
        'get_group_sequence_type')

    @classmethod
    def default_group_sequence(cls):
        ModelData = Pool().get('ir.model.data')
        try:
            return ModelData.get_id('spp_registry', 'sequence_household')
        except KeyError:
            return None

    @classmethod
    def default_group_sequence_type(cls):
        return Pool().get('ir.model.data').get_id(
            'spp_registry', 'sequence_type_household')

    def get_group_sequence_type(self, name):
        return self.default_group_sequence_type()

    @classmethod
    def default_name_format(cls):
        return '{family_name}, {given_name} {additional_name}'

    @classmethod
    def default_child_age(cls):
        return 18

    @classmethod
    def default_elderly_age(cls):
        return 60

    @classmethod
    def default_duplicate_threshold(cls):
        return 0.8

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            parts = {name for _, name, _, _ in string.Formatter().parse(
                        record.name_format) if name is not None}
            if not parts or parts - NAME_PARTS:
                raise ValidationError(gettext(
                        'spp_registry.msg_invalid_name_format',
                        format=record.name_format,
                        parts=', '.join(sorted(NAME_PARTS))))

    def format_name(self, **parts):
        "Full name from its parts; empty parts and their separators vanish."
        text = (self.name_format or self.default_name_format()).format(
            **{k: (v or '').strip() for k, v in parts.items()})
        text = ' '.join(text.split())
        return text.strip(' ,;-') or None
