"Grievance settings: references, the working week, when a ticket is at risk."
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id

WEEKDAYS = [
    ('0', "Monday"),
    ('1', "Tuesday"),
    ('2', "Wednesday"),
    ('3', "Thursday"),
    ('4', "Friday"),
    ('5', "Saturday"),
    ('6', "Sunday"),
    ]


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Grievance Configuration"
    __string__ = "Grievance Configuration"
    __name__ = 'spp.grievance.configuration'
    reference_sequence = fields.Many2One('ir.sequence', "Reference Sequence",
        required=True, domain=[('sequence_type', '=', Id(
                    'spp_grievance', 'sequence_type_grievance'))])
    weekend = fields.MultiSelection(WEEKDAYS, "Weekend",
        help="The days that are not working days.")
    at_risk_share = fields.Integer("At Risk From (%)", required=True,
        domain=[('at_risk_share', '>=', 0), ('at_risk_share', '<=', 100)],
        help="A ticket is at risk once this share of the time it was given "
        "has gone.")

    @classmethod
    def default_reference_sequence(cls):
        ModelData = Pool().get('ir.model.data')
        try:
            return ModelData.get_id('spp_grievance', 'sequence_grievance')
        except KeyError:
            return None

    @classmethod
    def default_weekend(cls):
        return ['5', '6']

    @classmethod
    def default_at_risk_share(cls):
        return 75

    def weekend_days(self):
        return {int(d) for d in (self.weekend or [])}

    def get_reference(self):
        sequence = self.reference_sequence
        if sequence is None:
            sequence = Pool().get('ir.sequence')(
                self.default_reference_sequence())
        return sequence.get()
