import datetime as dt

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, check_access


def five_member_household(area=None):
    female = get_ref('spp_registry', 'gender_female')
    male = get_ref('spp_registry', 'gender_male')
    return create_household("Santos household", [
            {'family_name': "Santos", 'given_name': "Ana",
                'birth_date': years_ago(35), 'gender': female,
                'roles': ['head']},
            {'family_name': "Santos", 'given_name': "Rui",
                'birth_date': years_ago(40), 'gender': male,
                'roles': ['spouse']},
            {'family_name': "Santos", 'given_name': "Lia",
                'birth_date': years_ago(3), 'gender': female,
                'roles': ['child']},
            {'family_name': "Santos", 'given_name': "Teo",
                'birth_date': years_ago(10), 'gender': male,
                'disability': True, 'roles': ['child']},
            {'family_name': "Dias", 'given_name': "Rosa",
                'birth_date': years_ago(70), 'gender': female,
                'roles': ['parent']},
            ], area=area)


def two_individuals():
    "Two individuals without IDs, One and Two."
    Party = Pool().get('party.party')
    return Party.create([
            {'registrant_type': 'individual', 'name': "One"},
            {'registrant_type': 'individual', 'name': "Two"}])


class RegistryTestCase(ModuleTestCase):
    "Test Registry module"
    module = 'spp_registry'

    @with_transaction()
    def test_individual_name_composed(self):
        "The full name follows the configured rule and is normalised"
        pool = Pool()
        Party = pool.get('party.party')
        Configuration = pool.get('spp.registry.configuration')

        person, = Party.create([{
                    'registrant_type': 'individual',
                    'family_name': "Pérez", 'given_name': "María",
                    'additional_name': "José"}])
        self.assertEqual(person.name, "Pérez, María José")
        self.assertEqual(person.name_key, "perez, maria jose")
        self.assertEqual(person.registration_date,
            pool.get('ir.date').today())

        Configuration.write([Configuration(1)], {
                'name_format': '{given_name} {family_name}'})
        Party.write([person], {'given_name': "Maria"})
        self.assertEqual(person.name, "Maria Pérez")

        with self.assertRaises(UserError):
            Configuration.write([Configuration(1)], {
                    'name_format': '{first_name}'})

    @with_transaction()
    def test_age_search(self):
        "Age is computed and searchable as a birth date range"
        Party = Pool().get('party.party')
        today = Pool().get('ir.date').today()
        young, just60, old = Party.create([
                {'registrant_type': 'individual', 'name': "Young",
                    'birth_date': years_ago(59) - dt.timedelta(days=-1)},
                {'registrant_type': 'individual', 'name': "Sixty",
                    'birth_date': years_ago(60)},
                {'registrant_type': 'individual', 'name': "Old",
                    'birth_date': years_ago(75)},
                ])
        self.assertEqual(just60.age, 60)
        self.assertEqual(young.age, 58)

        def names(domain):
            return {p.name for p in Party.search(
                    [('registrant_type', '=', 'individual'), domain])}
        self.assertEqual(names(('age', '>=', 60)), {"Sixty", "Old"})
        self.assertEqual(names(('age', '>', 60)), {"Old"})
        self.assertEqual(names(('age', '<', 60)), {"Young"})
        self.assertEqual(names(('age', '<=', 60)), {"Young", "Sixty"})
        self.assertEqual(names(('age', '=', 60)), {"Sixty"})
        self.assertEqual(names(('age', '!=', 60)), {"Young", "Old"})
        self.assertEqual(names(('age', 'in', [58, 75])), {"Young", "Old"})
        with self.assertRaises(UserError):
            Party.create([{'registrant_type': 'individual', 'name': "Later",
                        'birth_date': today + dt.timedelta(days=1)}])

    @with_transaction()
    def test_household_indicators(self):
        "Indicators follow memberships, birth dates, disability and status"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')

        group, (head, spouse, baby, boy, grandma) = five_member_household()
        self.assertEqual(
            (group.member_count, group.child_count, group.elderly_count,
                group.disabled_member_count, group.female_head),
            (5, 2, 1, 1, True))

        # Ending a membership keeps it, but the member no longer counts.
        grandma_membership, = Membership.search([
                ('group', '=', group.id), ('individual', '=', grandma.id)])
        Membership.end([grandma_membership])
        self.assertEqual(len(Membership.search([('group', '=', group.id)])), 5)
        group = Party(group.id)
        self.assertEqual((group.member_count, group.elderly_count), (4, 0))

        # A birthday correction moves a child into adulthood.
        Party.write([boy], {'birth_date': years_ago(20), 'disability': False})
        group = Party(group.id)
        self.assertEqual(
            (group.child_count, group.disabled_member_count), (1, 0))

        # A disabled registrant drops out of the counts.
        Party.disable([spouse], "Moved abroad")
        group = Party(group.id)
        self.assertEqual(group.member_count, 3)
        self.assertEqual(spouse.disabled_reason, "Moved abroad")
        self.assertEqual(spouse.disabled_by.id, Transaction().user)

        # A recompute of everything gives the same figures.
        Party.write([group], {'member_count': 99})
        Party.recompute_all_indicators()
        self.assertEqual(Party(group.id).member_count, 3)

    @with_transaction()
    def test_unique_head(self):
        "A group has one active head at a time"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        head_role = get_ref('spp_registry', 'role_head')
        group, (head, spouse, *_) = five_member_household()
        spouse_membership, = Membership.search([
                ('individual', '=', spouse.id)])
        with self.assertRaises(UserError) as cm:
            Membership.write([spouse_membership], {
                    'roles': [('add', [head_role])]})
        self.assertIn("Head", cm.exception.message)
        self.assertIn("Santos household", cm.exception.message)

        head_membership, = Membership.search([('individual', '=', head.id)])
        Membership.write([head_membership], {
                'end_date': pool.get('ir.date').today()})
        Membership.write([spouse_membership], {
                'roles': [('add', [head_role])]})
        self.assertEqual(Party(group.id).female_head, False)

    @with_transaction()
    def test_several_groups_flag(self):
        "An individual in two active groups is flagged"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        group, (head, *_) = five_member_household()
        other, _ = create_household("Other", [
                {'name': "Somebody", 'birth_date': years_ago(30)}])
        self.assertFalse(Party(head.id).multiple_groups)
        membership, = Membership.create([{
                    'group': other.id, 'individual': head.id}])
        self.assertTrue(Party(head.id).multiple_groups)
        Membership.end([membership])
        self.assertFalse(Party(head.id).multiple_groups)

    @with_transaction()
    def test_identifiers(self):
        "ID numbers are validated and unique per type"
        pool = Pool()
        Identifier = pool.get('party.identifier')
        IdType = pool.get('spp.id.type')
        one, two = two_individuals()
        Identifier.create([{
                    'party': one.id, 'type': 'national_id',
                    'code': '1234567897'}])
        with self.assertRaises(UserError) as cm:
            Identifier.create([{
                        'party': two.id, 'type': 'national_id',
                        'code': '1234567897'}])
        self.assertIn("National ID", cm.exception.message)
        self.assertIn("1234567897", cm.exception.message)
        with self.assertRaises(UserError) as cm:
            Identifier.create([{
                        'party': two.id, 'type': 'national_id',
                        'code': '1234567890'}])
        self.assertIn("check digit", cm.exception.message)
        with self.assertRaises(UserError) as cm:
            Identifier.create([{
                        'party': two.id, 'type': 'national_id',
                        'code': '12345'}])
        self.assertIn("format", cm.exception.message)

        # A type that is not unique accepts the same number twice.
        ration, = IdType.create([{
                    'name': "Ration Card", 'code': 'ration_card',
                    'unique': False}])
        Identifier.create([
                {'party': one.id, 'type': 'ration_card', 'code': 'R1'},
                {'party': two.id, 'type': 'ration_card', 'code': 'R1'}])
        with self.assertRaises(UserError):
            IdType.create([{'name': "Bad", 'code': 'bad',
                        'validator': 'no_such_module'}])

    @with_transaction()
    def test_identifier_compact_form(self):
        "A number typed with spaces is the same number as without them"
        pool = Pool()
        Identifier = pool.get('party.identifier')
        IdType = pool.get('spp.id.type')
        one, two = two_individuals()
        IdType.create([
                {'name': "SA ID", 'code': 'sa_id', 'validator': 'za.idnr'},
                {'name': "Voucher Card", 'code': 'voucher_card'}])
        sa_id, card = Identifier.create([
                {'party': one.id, 'type': 'sa_id',
                    'code': '800101 5009 087'},
                {'party': one.id, 'type': 'voucher_card', 'code': 'VC 12 34'},
                ])
        self.assertEqual(
            (sa_id.code, sa_id.code_compact, sa_id.unique_code),
            ('800101 5009 087', '8001015009087', 'sa_id:8001015009087'))
        self.assertEqual(card.code_compact, 'VC1234')
        for code in ['8001015009087', '800101-5009-087']:
            with self.assertRaises(UserError) as cm:
                Identifier.create([{'party': two.id, 'type': 'sa_id',
                            'code': code}])
            self.assertIn("SA ID", cm.exception.message)
        with self.assertRaises(UserError):
            Identifier.create([{'party': two.id, 'type': 'voucher_card',
                        'code': 'VC1234'}])
        # Changing the number keeps its compact form in step.
        Identifier.write([card], {'code': 'VC 99'})
        self.assertEqual((card.code_compact, card.unique_code),
            ('VC99', 'voucher_card:VC99'))
        self.assertEqual(
            Identifier.compact_code('sa_id', '800101 5009 087'),
            '8001015009087')

    @with_transaction()
    def test_area_descendants(self):
        "Searching by an area includes the areas below it"
        pool = Pool()
        Party = pool.get('party.party')
        areas = create_areas()
        a, b = Party.create([
                {'registrant_type': 'individual', 'name': "In A",
                    'area': areas['TL-N-A'].id},
                {'registrant_type': 'individual', 'name': "In B",
                    'area': areas['TL-N-B'].id}])
        self.assertEqual(
            set(Party.search([('area', 'child_of', [areas['TL-N'].id], 'parent')])),
            {a, b})
        self.assertEqual(
            Party.search([('area', 'child_of', [areas['TL-N-A'].id], 'parent')]), [a])

    @with_transaction()
    def test_area_import(self):
        "Areas import from CSV in any order; a bad file writes nothing"
        Area = Pool().get('spp.area')
        csv_text = ("code,name,parent_code,kind\n"
            "D1,District One,R1,district\n"
            "C,Country,,country\n"
            "R1,Region One,C,region\n")
        areas = Area.import_csv(csv_text)
        self.assertEqual(len(areas), 3)
        district, = Area.search([('code', '=', 'D1')])
        self.assertEqual(district.parent.code, 'R1')
        self.assertEqual(district.kind.code, 'district')
        with self.assertRaises(UserError) as cm:
            Area.import_csv("code,name,parent_code\nX,Ex,NOPE\n")
        self.assertIn("row 2", cm.exception.message)
        self.assertFalse(Area.search([('code', '=', 'X')]))

    @with_transaction()
    def test_registrar_area_rule(self):
        "A registrar of district A cannot read or write district B"
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        areas = create_areas()
        group_a, _ = five_member_household(area=areas['TL-N-A'])
        group_b, _ = create_household("B household", [
                {'name': "Bee", 'birth_date': years_ago(30)}],
            area=areas['TL-N-B'])
        registrar, = User.create([{
                    'name': "Registrar A", 'login': 'registrar_a',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [areas['TL-N-A'].id])],
                    }])
        with Transaction().set_user(registrar.id), check_access():
            visible = Party.search([('registrant_type', '=', 'group')])
            self.assertEqual(visible, [group_a])
            with self.assertRaises(AccessError):
                Party.read([group_b.id], ['name'])
            with self.assertRaises(AccessError):
                Party.write([Party(group_b.id)], {'name': "Hijacked"})
            Party.write([Party(group_a.id)], {'name': "Renamed"})
            Membership = Pool().get('spp.group.membership')
            self.assertEqual(
                {m.group for m in Membership.search([])}, {group_a})
            with self.assertRaises(AccessError):
                Party.delete([Party(group_a.id)])
        self.assertEqual(Party(group_b.id).name, "B household")

    @with_transaction()
    def test_relationship_inverse(self):
        "A relationship kind and its inverse point to each other"
        pool = Pool()
        Kind = pool.get('spp.relationship.kind')
        parent_of, = Kind.search([('code', '=', 'parent_of')])
        child_of, = Kind.search([('code', '=', 'child_of')])
        self.assertEqual(parent_of.inverse, child_of)
        self.assertEqual(child_of.inverse, parent_of)

    @with_transaction()
    def test_history(self):
        "Registrants, identifiers and memberships keep their history"
        pool = Pool()
        for name in ['party.party', 'party.identifier',
                'spp.group.membership']:
            self.assertTrue(pool.get(name)._history, name)


del ModuleTestCase
