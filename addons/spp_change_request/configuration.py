"Change request settings: how references are numbered."
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Change Request Configuration"
    __string__ = "Change Request Configuration"
    __name__ = 'spp.change_request.configuration'
    reference_sequence = fields.Many2One('ir.sequence', "Reference Sequence",
        required=True, domain=[('sequence_type', '=', Id(
                    'spp_change_request', 'sequence_type_change_request'))])

    @classmethod
    def default_reference_sequence(cls):
        ModelData = Pool().get('ir.model.data')
        try:
            return ModelData.get_id(
                'spp_change_request', 'sequence_change_request')
        except KeyError:
            return None

    def get_reference(self):
        sequence = self.reference_sequence
        if sequence is None:
            sequence = Pool().get('ir.sequence')(
                self.default_reference_sequence())
        return sequence.get()
