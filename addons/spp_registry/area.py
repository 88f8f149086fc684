"Administrative areas: a tree of any depth that registrants belong to."
import csv
import io

from sql.aggregate import Min

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields, tree)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .rec_name import any_field_matches


class AreaKind(ModelSQL, ModelView):
    "Area Kind"
    __string__ = "Area Kind"
    __name__ = 'spp.area.kind'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    sequence = fields.Integer("Level", help="Depth of this kind in the hierarchy (0 = country).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_area_kind_code_unique'),
            ]
        cls._order.insert(0, ('sequence', 'ASC'))


class Area(DeactivableMixin, tree(separator=' / '), ModelSQL, ModelView):
    "Area"
    __name__ = 'spp.area'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True, help="Unique code, e.g. from the national statistics office.")
    kind = fields.Many2One('spp.area.kind', "Kind", ondelete='RESTRICT')
    parent = fields.Many2One(
        'spp.area', "Parent", ondelete='RESTRICT',
        left='left', right='right',
        domain=[('id', '!=', Eval('id', -1))])
    children = fields.One2Many('spp.area', 'parent', "Children")
    # Nested set: child_of on millions of registrants becomes a range
    # condition instead of a recursive walk.
    left = fields.Integer("Left", required=True)
    right = fields.Integer("Right", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code), 'spp_registry.msg_area_code_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.left, Index.Range()), (t.right, Index.Range())),
                })
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def default_left(cls):
        return 0

    @classmethod
    def default_right(cls):
        return 0

    def get_rec_name(self, name):
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        return any_field_matches(clause, ['name', 'code'])

    @classmethod
    def import_csv(cls, data):
        """Create or update areas from CSV text with the columns
        code, name, parent_code, kind (kind is an area kind code).

        Rows may come in any order; a parent must be in the file or in the
        database. Nothing is written if any row is wrong."""
        pool = Pool()
        Kind = pool.get('spp.area.kind')
        if isinstance(data, bytes):
            data = data.decode('utf-8-sig')
        reader = csv.DictReader(io.StringIO(data))
        missing = {'code', 'name', 'parent_code'} - set(reader.fieldnames or [])
        if missing:
            raise AreaImportError(gettext(
                    'spp_registry.msg_area_import_columns',
                    columns=', '.join(sorted(missing))))
        rows = list(reader)
        kinds = {k.code: k for k in Kind.search([])}
        existing = {a.code: a for a in cls.search([
                    ('code', 'in', [r['code'] for r in rows]
                        + [r['parent_code'] for r in rows if r['parent_code']]),
                    ], )}
        in_file = {}
        for number, row in enumerate(rows, start=2):
            code = (row.get('code') or '').strip()
            if not code or not (row.get('name') or '').strip():
                raise AreaImportError(gettext(
                        'spp_registry.msg_area_import_row',
                        row=number, reason='code and name are required'))
            if code in in_file:
                raise AreaImportError(gettext(
                        'spp_registry.msg_area_import_row',
                        row=number, reason=f'code {code} repeated'))
            kind = (row.get('kind') or '').strip()
            if kind and kind not in kinds:
                raise AreaImportError(gettext(
                        'spp_registry.msg_area_import_row',
                        row=number, reason=f'unknown kind {kind}'))
            in_file[code] = (number, row)
        for code, (number, row) in in_file.items():
            parent = (row['parent_code'] or '').strip()
            if parent and parent not in in_file and parent not in existing:
                raise AreaImportError(gettext(
                        'spp_registry.msg_area_import_row',
                        row=number, reason=f'unknown parent {parent}'))

        # Parents first: walk the file tree from its roots.
        areas = dict(existing)
        pending = dict(in_file)
        while pending:
            ready = [c for c, (_, r) in pending.items()
                if not (r['parent_code'] or '').strip()
                or (r['parent_code'].strip() in areas
                    and r['parent_code'].strip() not in pending)]
            if not ready:
                raise AreaImportError(gettext(
                        'spp_registry.msg_area_import_row',
                        row=min(n for n, _ in pending.values()),
                        reason='parent cycle'))
            to_create, to_write = [], []
            for code in ready:
                _, row = pending.pop(code)
                parent = (row['parent_code'] or '').strip()
                kind = (row.get('kind') or '').strip()
                values = {
                    'code': code,
                    'name': row['name'].strip(),
                    'parent': areas[parent].id if parent else None,
                    'kind': kinds[kind].id if kind else None,
                    }
                if code in areas:
                    to_write.extend(([areas[code]], values))
                else:
                    to_create.append(values)
            if to_write:
                cls.write(*to_write)
            for area in cls.create(to_create):
                areas[area.code] = area
        return [areas[c] for c in in_file]


class AreaImportError(ValidationError):
    pass


def default_area_level():
    "The Region kind, or the highest level below the country."
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    Kind = pool.get('spp.area.kind')
    try:
        return ModelData.get_id('spp_registry', 'area_kind_region')
    except KeyError:
        kinds = Kind.search([('sequence', '>=', 1)], limit=1)
        return kinds[0].id if kinds else None


def level_rollup(level):
    """A query of (area, level_area): each area and its ancestor of kind
    `level` (itself when it is of that kind); areas with none are absent,
    so that a LEFT JOIN and COALESCE keep them as they are. Nested set:
    the ancestors of an area are those whose interval holds its own."""
    Area = Pool().get('spp.area')
    area, ancestor = Area.__table__(), Area.__table__()
    return area.join(ancestor, condition=(
            (ancestor.left <= area.left)
            & (ancestor.right >= area.right)
            & (ancestor.kind == level))).select(
        area.id.as_('area'), Min(ancestor.id).as_('level_area'),
        group_by=[area.id])
