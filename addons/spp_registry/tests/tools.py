"Helpers shared by the registry tests and by tests of dependent addons."
import datetime as dt

from trytond.pool import Pool
from trytond.tests.test_tryton import TestCase, activate_module, drop_db


class ActivatedModuleTestCase(TestCase):
    """Tests on a database of their own with `module` activated, without
    the generic checks of ModuleTestCase (one class per addon runs those)."""
    module = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(cls.module)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()


def get_ref(module, xml_id):
    ModelData = Pool().get('ir.model.data')
    return ModelData.get_id(module, xml_id)


def create_areas():
    "Country > Region > two districts A and B; return them by code."
    Area = Pool().get('spp.area')
    country, = Area.create([{'name': "Testland", 'code': 'TL'}])
    region, = Area.create([{'name': "North", 'code': 'TL-N',
                'parent': country.id}])
    district_a, district_b = Area.create([
            {'name': "District A", 'code': 'TL-N-A', 'parent': region.id},
            {'name': "District B", 'code': 'TL-N-B', 'parent': region.id},
            ])
    return {a.code: a for a in [country, region, district_a, district_b]}


def years_ago(years, today=None):
    today = today or Pool().get('ir.date').today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def create_household(name, members, area=None):
    """Create a household and its members.

    members: list of dicts of individual values plus 'roles' (role codes).
    Return (group, individuals)."""
    pool = Pool()
    Party = pool.get('party.party')
    Role = pool.get('spp.group.membership.role')
    roles = {r.code: r.id for r in Role.search([])}
    individuals = Party.create([{
                'registrant_type': 'individual',
                'area': area.id if area else None,
                **{k: v for k, v in m.items() if k != 'roles'},
                } for m in members])
    group, = Party.create([{
                'registrant_type': 'group',
                'name': name,
                'group_kind': get_ref('spp_registry', 'group_kind_household'),
                'area': area.id if area else None,
                'memberships': [('create', [{
                                'individual': individual.id,
                                'roles': [('add', [roles[c]
                                            for c in m.get('roles', [])])],
                                } for individual, m in zip(
                                individuals, members)])],
                }])
    return group, individuals


__all__ = ['ActivatedModuleTestCase', 'create_areas', 'create_household',
    'years_ago', 'get_ref', 'dt']
