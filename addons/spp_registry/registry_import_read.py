"""Reading the file of a registry import (registry_import): CSV or XLSX
bytes into a header and rows of text cells."""
import datetime as dt
import io
import zipfile

from trytond.model.exceptions import ValidationError

from .registry_import_rows import _msg
from .spreadsheet import csv_reader


class ImportFileError(ValidationError):
    pass


def read_table(data, filename=None):
    """Return (header, rows) of a CSV or XLSX file given as bytes.

    Rows are (row number, {column: text}); row numbers are those a
    spreadsheet shows (the header is row 1) and blank rows are left out."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    if not data:
        raise ImportFileError(_msg('empty'))
    if data[:4] == b'PK\x03\x04' or (filename or '').lower().endswith(
            ('.xlsx', '.xlsm')):
        records = _xlsx_records(data)
    else:
        records = _csv_records(data)
    header, rows = None, []
    for number, cells in enumerate(records, start=1):
        texts = [cell_text(c) for c in cells]
        if header is None:
            header = [t.lower() for t in texts]
            continue
        if any(texts):
            rows.append((number, dict(zip(header, texts))))
    if not header or not rows:
        raise ImportFileError(_msg('empty'))
    return header, rows


def _csv_records(data):
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError:
        raise ImportFileError(_msg('encoding'))
    first_line = text.split('\n', 1)[0]
    # Spreadsheets of many locales save CSV with semicolons.
    delimiter = max(',;\t', key=first_line.count)
    return csv_reader(io.StringIO(text, newline=''), delimiter=delimiter)


def _xlsx_records(data):
    import openpyxl
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exception:
        raise ImportFileError(_msg('xlsx', error=str(exception)))
    return list(workbook.worksheets[0].iter_rows(values_only=True))


def cell_text(value):
    "The text of a CSV or spreadsheet cell (dates as ISO, 12.0 as 12)."
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            value = value.date()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


