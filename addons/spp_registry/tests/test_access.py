"""Area rules on every path that reads registry data, as a registrar and a
viewer of another area would try them (issue probes D1, D3, D5, D13)."""
from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, create_household, get_ref,
    years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

NATIONAL_ID = 'P4659694'


def registry():
    """Households in districts A and B, B's head with an ID and a phone,
    and users of district A: a registrar and a viewer."""
    pool = Pool()
    User = pool.get('res.user')
    Identifier = pool.get('party.identifier')
    Contact = pool.get('party.contact_mechanism')
    Address = pool.get('party.address')
    areas = create_areas()
    group_a, (ana,) = create_household("A household", [
            {'name': "Ana", 'birth_date': years_ago(30),
                'roles': ['head']}], area=areas['TL-N-A'])
    group_b, (bea,) = create_household("B household", [
            {'name': "Fletcher, Danielle Fox", 'birth_date': years_ago(40),
                'roles': ['head']}], area=areas['TL-N-B'])
    Identifier.create([{'party': bea.id, 'type': 'passport',
                'code': NATIONAL_ID}])
    Contact.create([{'party': bea.id, 'type': 'phone',
                'value': '+63 917 555 0101'}])
    Address.create([{'party': bea.id, 'street': "12 Hidden Street"}])
    users = User.create([{
                'name': name, 'login': login,
                'groups': [('add', [get_ref('spp_registry', group)])],
                'spp_areas': [('add', [areas['TL-N-A'].id])],
                } for name, login, group in [
                ("Registrar A", 'reg_a', 'group_registrar'),
                ("Viewer A", 'view_a', 'group_registry_viewer')]])
    return areas, (group_a, ana), (group_b, bea), users


class AccessTestCase(ActivatedModuleTestCase):
    "Registry area rules on export, write and error paths"

    module = 'spp_registry'

    @with_transaction()
    def test_export_refused_outside_areas(self):
        "Export is refused exactly as read is, for both users (D1)"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Contact = pool.get('party.contact_mechanism')
        Membership = pool.get('spp.group.membership')
        Address = pool.get('party.address')
        _, (group_a, ana), (group_b, bea), users = registry()
        exports = [
            (Party, [bea], ['name', 'birth_date', 'identifiers/code',
                    'contact_mechanisms/value']),
            (Party, [group_b], ['name', 'memberships/individual/name']),
            (Identifier, Identifier.search([('party', '=', bea.id)]),
                ['code']),
            (Contact, Contact.search([('party', '=', bea.id)]), ['value']),
            (Address, Address.search([('party', '=', bea.id)]), ['street']),
            (Membership, Membership.search([('group', '=', group_b.id)]),
                ['individual/name']),
            ]
        for user in users:
            with Transaction().set_user(user.id), check_access():
                for Model, records, names in exports:
                    with self.subTest(user=user.login, model=Model.__name__,
                            fields=names):
                        records = Model.browse(list(map(int, records)))
                        with self.assertRaises(AccessError):
                            Model.read(list(map(int, records)), ['id'])
                        with self.assertRaises(AccessError):
                            Model.export_data(records, names)
                # Their own area exports as before.
                self.assertEqual(
                    Party.export_data([Party(ana.id)], ['name']), [["Ana"]])

    @with_transaction()
    def test_export_refused_through_relations(self):
        "An own record does not open a path to another area's data (D1)"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        _, (group_a, ana), (group_b, bea), (registrar, _) = registry()
        # An administrator put B's head into A's household.
        Membership.create([{'group': group_a.id, 'individual': bea.id}])
        with Transaction().set_user(registrar.id), check_access():
            group_a = Party(group_a.id)
            self.assertEqual(
                Party.export_data([group_a], ['name']), [["A household"]])
            for names in [['memberships/individual/name'],
                    ['memberships/individual/identifiers/code'],
                    ['memberships/individual/contact_mechanisms/value']]:
                with self.subTest(fields=names), \
                        self.assertRaises(AccessError):
                    Party.export_data([group_a], names)
            memberships = Membership.search([('group', '=', group_a.id)])
            self.assertEqual(len(memberships), 2)
            # The name of the other area's person is refused through the
            # Many2One too (read of individual.rec_name).
            with self.assertRaises(AccessError):
                Membership.read(list(map(int, memberships)),
                    ['individual.rec_name'])

    @with_transaction()
    def test_hidden_reads_as_missing(self):
        "A hidden record is answered as a missing one (D13)"
        Party = Pool().get('party.party')
        _, _, (group_b, bea), (registrar, viewer) = registry()
        cursor = Transaction().connection.cursor()
        table = Party.__table__()
        cursor.execute(*table.select(table.id, order_by=[table.id.desc],
                limit=1))
        missing, = cursor.fetchone()
        missing += 1000
        with Transaction().set_user(registrar.id), check_access():
            answers = {}
            for id_ in [bea.id, missing]:
                with self.assertRaises(AccessError) as cm:
                    Party.read([id_], ['name'])
                answers[id_] = cm.exception.message.replace(str(id_), 'N')
            self.assertEqual(answers[bea.id], answers[missing])
            self.assertNotIn("rule", answers[bea.id])
            with self.assertRaises(AccessError) as cm:
                Party.write([Party(bea.id)], {'name': "X"})
            self.assertNotIn("rule", cm.exception.message)
            self.assertNotIn("user's areas", cm.exception.message)

    @with_transaction()
    def test_cross_area_links_refused(self):
        "No membership or relationship to a person of another area (D5)"
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        Relationship = pool.get('spp.relationship')
        Kind = pool.get('spp.relationship.kind')
        Party = pool.get('party.party')
        _, (group_a, ana), (group_b, bea), (registrar, _) = registry()
        kind, = Kind.search([], limit=1)
        own, = Party.create([{'registrant_type': 'individual',
                    'name': "Own", 'area': ana.area.id}])
        with Transaction().set_user(registrar.id), check_access():
            with self.assertRaises(AccessError):
                Membership.create(
                    [{'group': group_a.id, 'individual': bea.id}])
            with self.assertRaises(AccessError):
                Relationship.create([{'source': ana.id,
                            'destination': bea.id, 'kind': kind.id}])
            # Between registrants of their own area both still work.
            Membership.create([{'group': group_a.id, 'individual': own.id}])
            Relationship.create([{'source': ana.id,
                        'destination': own.id, 'kind': kind.id}])

    @with_transaction()
    def test_password_hash_not_searchable(self):
        "Nobody but root searches on password hashes or reset codes (D3)"
        pool = Pool()
        User = pool.get('res.user')
        Party = pool.get('party.party')
        _, _, _, (registrar, _) = registry()
        admin, = User.search([('login', '=', 'admin')])
        User.write([admin], {'password': 'spp-test-Admin-2024'})
        probes = [
            (User, [('login', '=', 'admin'),
                    ('password_hash', 'like', '%')]),
            (User, [('password_reset', '!=', None)]),
            (User, [('login', '=', 'admin'),
                    ('create_uid.password_hash', 'like', '%')]),
            (Party, [('create_uid.password_hash', 'like', '%')]),
            (Party, [('create_uid', 'where',
                        [('password_hash', 'like', '%')])]),
            ]
        for user_id in [registrar.id, admin.id]:
            with Transaction().set_user(user_id), check_access():
                for Model, domain in probes:
                    with self.subTest(user=user_id, domain=domain), \
                            self.assertRaises(AccessError):
                        Model.search_count(domain)
        # Root still can, and a user still logs in and changes it.
        with Transaction().set_user(0):
            self.assertEqual(User.search_count([('login', '=', 'admin'),
                        ('password_hash', 'like', '%')]), 1)
        self.assertEqual(User.get_login(
                'admin', {'password': 'spp-test-Admin-2024'}), admin.id)
        with Transaction().set_user(admin.id), check_access():
            User.write([User(admin.id)], {'password': 'spp-test-Other-2024'})
        self.assertEqual(User.get_login(
                'admin', {'password': 'spp-test-Other-2024'}), admin.id)

