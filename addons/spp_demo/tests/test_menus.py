"""The menus each role sees, with every addon activated (spp_demo depends
on all of them): an SP-MIS for caseworkers, the ERP's menus and the
integration set-up for administrators."""
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction, check_access

ROLES = {
    'registry_viewer': ('spp_registry', 'group_registry_viewer'),
    'registrar': ('spp_registry', 'group_registrar'),
    'registry_validator': ('spp_registry', 'group_registry_validator'),
    'program_manager': ('spp_programs', 'group_program_manager'),
    'cycle_approver': ('spp_programs', 'group_cycle_approver'),
    'finance_validator': ('spp_entitlement', 'group_finance_validator'),
    'payment_officer': ('spp_payment', 'group_payment_officer'),
    'grievance_officer': ('spp_grievance', 'group_officer'),
    'reporting_officer': ('spp_reporting', 'group_reporting_officer'),
    'reporting_manager': ('spp_reporting', 'group_reporting_manager'),
    }
ERP_ROOTS = {'Parties', 'Products', 'Currencies', 'Companies',
    'Administration'}
# The windows of program money, each one level below Programs.
MONEY = {'Entitlements', 'Payment Batches', 'Payments', 'Program Funds'}


def visible_paths(user_id):
    "The paths ('Programs / Cycles') of the menu entries the user sees."
    Menu = Pool().get('ir.ui.menu')
    with Transaction().set_user(user_id), check_access():
        ids = [m.id for m in Menu.search([])]
    return {m.complete_name for m in Menu.browse(ids)}


def children(paths, root):
    prefix = root + ' / '
    return {p[len(prefix):] for p in paths
        if p.startswith(prefix) and ' / ' not in p[len(prefix):]}


class MenusTestCase(TestCase):
    "Menus per role"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['spp_demo'])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def role_user(self, role):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group_id = ModelData.get_id(*ROLES[role])
        user, = User.create([{'login': role, 'name': role,
                    'groups': [('add', [group_id])]}])
        return user.id

    @with_transaction()
    def test_caseworkers_see_no_erp_menus(self):
        "No role of the SP-MIS sees Parties, Products, Currencies, Companies"
        for role in ROLES:
            with self.subTest(role=role):
                paths = visible_paths(self.role_user(role))
                roots = {p for p in paths if ' / ' not in p}
                self.assertFalse(roots & ERP_ROOTS, roots)
                self.assertFalse(
                    [p for p in paths if 'Integrations' in p
                        or 'API Clients' in p or 'DCI' in p], paths)
                self.assertLessEqual(roots, {'Registry', 'Programs',
                        'Grievances', 'Reporting'})
                self.assertEqual('Reporting' in roots,
                    role.startswith('reporting_'), roots)

    @with_transaction()
    def test_money_below_programs(self):
        "Entitlements, payments and funds sit one level below Programs"
        expected = {
            'program_manager': MONEY,
            'finance_validator': MONEY,
            'payment_officer': {'Entitlements', 'Payment Batches',
                'Payments'},
            }
        seen = {}
        for role, money in expected.items():
            with self.subTest(role=role):
                paths = seen[role] = visible_paths(self.role_user(role))
                self.assertLessEqual(money, children(paths, 'Programs'))
                self.assertFalse([p for p in paths if 'Finance' in p])
        officer = seen['payment_officer']
        self.assertNotIn('Programs / Program Funds', officer)
        self.assertIn('Programs / Payment Batches / Create Payment Batches',
            officer)

    @with_transaction()
    def test_reporting_menus(self):
        "Officers read the dashboards; managers configure targets too"
        dashboards = {'Registry', 'Programs', 'Cycles and Money', 'Payments',
            'Grievances', 'Change Requests'}
        configuration = {'Program Targets', 'Indicator Snapshots',
            'Take Snapshot Now'}
        for role in ['reporting_officer', 'reporting_manager']:
            with self.subTest(role=role):
                paths = visible_paths(self.role_user(role))
                self.assertEqual(dashboards,
                    children(paths, 'Reporting / Dashboards'))
                self.assertIn('Program Report', children(paths, 'Reporting'))
                self.assertEqual(
                    children(paths, 'Reporting / Configuration'),
                    configuration if role == 'reporting_manager' else set())

    @with_transaction()
    def test_registry_names(self):
        "Groups read Households and Groups; Registry holds no API menu"
        paths = visible_paths(self.role_user('registrar'))
        self.assertIn('Households and Groups', children(paths, 'Registry'))
        self.assertNotIn('Groups', children(paths, 'Registry'))
        admin = visible_paths(Pool().get('ir.model.data').get_id(
                'res', 'user_admin'))
        self.assertNotIn('API', children(admin, 'Registry'))

    @with_transaction()
    def test_administrator_sees_everything(self):
        "The administrator keeps the ERP menus and the integration set-up"
        pool = Pool()
        Module = pool.get('ir.module')
        admin_id = pool.get('ir.model.data').get_id('res', 'user_admin')
        paths = visible_paths(admin_id)
        roots = {p for p in paths if ' / ' not in p}
        expected = {'Registry', 'Programs', 'Parties', 'Products',
            'Currencies', 'Administration'}
        if Module.search([('name', '=', 'company'),
                    ('state', '=', 'activated')]):
            expected.add('Companies')
        self.assertLessEqual(expected, roots)
        self.assertLessEqual(MONEY, children(paths, 'Programs'))
        self.assertLessEqual(
            {'API Clients', 'API Calls', 'DCI', 'ID Verification'},
            children(paths, 'Administration / Integrations'))
