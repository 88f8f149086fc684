"""Beneficiaries by Area counts members in the areas of the level chosen
(Region by default), areas below rolled up to it; checked on a small
hand-made tree."""
from trytond.modules.spp_programs.tests.test_module import (
    create_program, create_user)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access


def create_tree():
    """Testland > North (> District A (> A1, A2), District B),
    South (> District C); return the areas by code."""
    Area = Pool().get('spp.area')
    kind = {k: get_ref('spp_registry', f'area_kind_{k}')
        for k in ['country', 'region', 'district', 'locality']}
    areas = {}
    for code, parent, level in [
            ('TL', None, 'country'),
            ('N', 'TL', 'region'), ('S', 'TL', 'region'),
            ('N-A', 'N', 'district'), ('N-B', 'N', 'district'),
            ('S-C', 'S', 'district'),
            ('N-A-1', 'N-A', 'locality'), ('N-A-2', 'N-A', 'locality'),
            ]:
        areas[code], = Area.create([{'name': code, 'code': code,
                    'kind': kind[level],
                    'parent': areas[parent].id if parent else None}])
    return areas


def households(areas):
    "A household per entry: two in A1, one each in A2, B, C, North, none."
    for number, code in enumerate(
            ['N-A-1', 'N-A-1', 'N-A-2', 'N-B', 'S-C', 'N', None]):
        create_household(f"H{number}", [
                {'family_name': f"Head {number}",
                    'birth_date': years_ago(40), 'roles': ['head']}],
            area=areas[code] if code else None)


def counts(level=None, **context):
    "{area code (or None): total} of the report in that context."
    Report = Pool().get('spp.program.membership.by_area')
    if level:
        context['area_level'] = get_ref('spp_registry', f'area_kind_{level}')
    with Transaction().set_context(**context):
        totals = {}
        for row in Report.search([]):
            code = row.area.code if row.area else None
            totals[code] = totals.get(code, 0) + row.total
        return totals


class ByAreaTestCase(ActivatedModuleTestCase):
    "Beneficiaries by Area"
    module = 'spp_programs'

    def import_all(self, code='CG'):
        Program = Pool().get('spp.program')
        program = create_program(code=code)
        Program.import_eligible([program])
        return program

    @with_transaction()
    def test_levels(self):
        "Counts per region (default), district and locality"
        areas = create_tree()
        households(areas)
        self.import_all()
        region = {'N': 5, 'S': 1, None: 1}
        self.assertEqual(counts(), region)
        self.assertEqual(counts('region'), region)
        self.assertEqual(counts('district'),
            {'N-A': 3, 'N-B': 1, 'S-C': 1, 'N': 1, None: 1})
        self.assertEqual(counts('locality'), {'N-A-1': 2, 'N-A-2': 1,
                'N-B': 1, 'S-C': 1, 'N': 1, None: 1})
        Report = Pool().get('spp.program.membership.by_area')
        rows = Report.search([('area.code', '=', 'N')])
        self.assertEqual([r.draft for r in rows], [5])

    @with_transaction()
    def test_program_and_area_rules(self):
        "The program chosen, and the user's areas, limit the counts"
        pool = Pool()
        User = pool.get('res.user')
        areas = create_tree()
        households(areas)
        first = self.import_all('P1')
        second = create_program(code='P2')
        self.assertEqual(counts(program=second.id), {})
        self.assertEqual(counts(program=first.id)['N'], 5)
        viewer = create_user('viewer', 'spp_registry.group_registry_viewer')
        User.write([viewer], {'spp_areas': [('add', [areas['N-A'].id])]})
        User._get_groups_cache.clear()
        with Transaction().set_user(viewer.id), check_access():
            self.assertEqual(counts(program=first.id), {'N': 3})
            self.assertEqual(counts('locality', program=first.id),
                {'N-A-1': 2, 'N-A-2': 1})
