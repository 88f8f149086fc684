"""Spreadsheet (XLSX) of report rows: Print › Spreadsheet on any report
list writes the selected rows with the columns of its list view. (The
client's own export gives CSV of these and of every list behind them.)"""
import io

import openpyxl
from lxml import etree
from openpyxl.styles import Font

from trytond.pool import Pool
from trytond.report import Report


class RowsXlsx(Report):
    __name__ = 'spp.report.rows.xlsx'

    @classmethod
    def _execute(cls, records, header, data, action):
        Model = Pool().get(data['model'])
        view = Model.fields_view_get(view_type='tree')
        names = [node.get('name')
            for node in etree.fromstring(view['arch']).iter('field')]
        definitions = Model.fields_get(names)
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = Model.__string__[:31]
        sheet.append([definitions[n]['string'] for n in names])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for record in records:
            sheet.append([cls.cell(record, n, definitions[n])
                    for n in names])
        content = io.BytesIO()
        workbook.save(content)
        return 'xlsx', content.getvalue()

    @staticmethod
    def cell(record, name, definition):
        value = getattr(record, name)
        if hasattr(value, 'rec_name'):
            return value.rec_name
        if definition['type'] == 'selection':
            return dict(definition['selection']).get(value, value)
        return value
