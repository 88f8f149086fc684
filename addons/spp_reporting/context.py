"""The filters of every report: area (with the areas below it), the
level the figures are rolled up to, and the period; the programs addon
adds program and cycle. They reach the reports' queries through the
context, as Tryton's context models do."""
from trytond.model import ModelView, fields
from trytond.modules.spp_registry.area import default_area_level
from trytond.pyson import Eval, If


class Context(ModelView):
    "Report Filters"
    __string__ = "Report Filters"
    __name__ = 'spp.report.context'
    area = fields.Many2One('spp.area', "Area",
        help="Count only this area and the areas below it.")
    area_level = fields.Many2One('spp.area.kind', "Area Level",
        help="Show the figures of the areas of this level, those of the "
        "areas below them included.")
    from_date = fields.Date("From",
        domain=[If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')), ())])
    to_date = fields.Date("To",
        domain=[If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')), ())])

    @classmethod
    def default_area_level(cls):
        return default_area_level()
