"""A caseworker finding people (issue 19): household numbers from their
sequence on every write path, a household found by a member's ID, an
individual by any ID, members' details, party actions hidden."""
from trytond.modules.spp_registry.bulk.writer import BulkWriter
from trytond.modules.spp_registry.registry_import_write import (
    with_party_codes)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, create_household, get_ref,
    years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

NATIONAL_ID = '8001015000'
PASSPORT = 'P4659694'


def mendoza_households():
    "Two households of the same name; the second head holds two IDs."
    Identifier = Pool().get('party.identifier')
    areas = create_areas()
    one, _ = create_household("Mendoza Household", [
            {'name': "Mendoza, Ana", 'birth_date': years_ago(30),
                'roles': ['head']}], area=areas['TL-N-A'])
    two, (head, child) = create_household("Mendoza Household", [
            {'name': "Mendoza, Bea", 'birth_date': years_ago(41),
                'gender': get_ref('spp_registry', 'gender_female'),
                'roles': ['head']},
            {'name': "Mendoza, Cid", 'birth_date': years_ago(7),
                'roles': ['child']}], area=areas['TL-N-A'])
    Identifier.create([
            {'party': head.id, 'type': 'national_id', 'code': NATIONAL_ID,
                'sequence': 1},
            {'party': head.id, 'type': 'passport', 'code': PASSPORT,
                'sequence': 2}])
    return one, two, head, child


class CaseworkerRegistryTestCase(ActivatedModuleTestCase):
    "Household numbers, search by ID, members' details, hidden actions"

    module = 'spp_registry'

    @with_transaction()
    def test_household_numbers(self):
        "Groups get unique HH numbers from the group sequence on every path"
        pool = Pool()
        Configuration = pool.get('spp.registry.configuration')
        sequence = Configuration(1).group_sequence
        self.assertEqual(sequence.id,
            get_ref('spp_registry', 'sequence_household'))
        one, two, head, _ = mendoza_households()
        self.assertRegex(one.code, r'^HH-\d{6}$')
        self.assertRegex(two.code, r'^HH-\d{6}$')
        self.assertNotEqual(one.code, two.code)
        self.assertFalse(head.code.startswith('HH-'))
        last = int(two.code[3:])
        # The bulk writer (demo generator, bulk import) and the ORM import
        # draw from the same sequence, after the ORM's numbers.
        bulk = BulkWriter()._party_codes(2, 'group')
        self.assertEqual(bulk, [f'HH-{last + 1:06d}', f'HH-{last + 2:06d}'])
        imported = with_party_codes([{}, {}], 'group')
        self.assertEqual([v['code'] for v in imported],
            [f'HH-{last + 3:06d}', f'HH-{last + 4:06d}'])
        individual, = with_party_codes([{}])
        self.assertFalse(individual['code'].startswith('HH-'))

    @with_transaction()
    def test_household_numbers_configurable(self):
        "Without a group sequence, groups get party codes"
        Configuration = Pool().get('spp.registry.configuration')
        configuration = Configuration(1)
        configuration.group_sequence = None
        configuration.save()
        one, _, _, _ = mendoza_households()
        self.assertFalse(one.code.startswith('HH-'))

    @with_transaction()
    def test_group_found_by_member_id(self):
        "Typing a member's ID in the Groups search finds the household"
        Party = Pool().get('party.party')
        one, two, head, _ = mendoza_households()
        for text in [NATIONAL_ID, PASSPORT, two.code]:
            found = Party.search([('registrant_type', '=', 'group'),
                    ('rec_name', 'ilike', f'%{text}%')])
            self.assertEqual(found, [two], text)
        found = Party.search([('registrant_type', '=', 'group'),
                ('rec_name', 'ilike', '%Mendoza Household%')])
        self.assertEqual(set(found), {one, two})
        self.assertEqual(Party.search([('registrant_type', '=', 'group'),
                    ('rec_name', 'ilike', '%0000000000%')]), [])

    @with_transaction()
    def test_individual_found_by_any_id(self):
        "The Individuals search finds a person by any of their IDs"
        Party = Pool().get('party.party')
        _, _, head, _ = mendoza_households()
        for text in [NATIONAL_ID, PASSPORT]:
            self.assertEqual(Party.search([
                        ('registrant_type', '=', 'individual'),
                        ('rec_name', 'ilike', f'%{text}%')]), [head], text)

    @with_transaction()
    def test_members_details(self):
        "The members list shows each member's age, sex, role and main ID"
        Membership = Pool().get('spp.group.membership')
        _, two, _, _ = mendoza_households()
        head_row, child_row = Membership.read(
            [m.id for m in two.memberships],
            ['age', 'gender', 'role_names', 'main_id'])
        self.assertEqual(
            (head_row['age'], head_row['gender'], head_row['role_names'],
                head_row['main_id']),
            (41, get_ref('spp_registry', 'gender_female'), "Head",
                NATIONAL_ID))
        self.assertEqual(
            (child_row['age'], child_row['gender'], child_row['role_names'],
                child_row['main_id']),
            (7, None, "Child", None))

    @with_transaction()
    def test_members_details_follow_area_rules(self):
        "A member registered outside the user's areas shows no details"
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        Party = pool.get('party.party')
        User = pool.get('res.user')
        _, two, head, child = mendoza_households()
        other_area, = pool.get('spp.area').search(
            [('code', '=', 'TL-N-B')])
        Party.write([head], {'area': other_area.id})
        registrar, = User.create([{'name': "Registrar", 'login': 'reg',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [two.area.id])],
                    }])
        User._get_groups_cache.clear()
        ids = [m.id for m in two.memberships]
        with Transaction().set_user(registrar.id), check_access():
            head_row, child_row = Membership.read(ids, ['age', 'main_id'])
        self.assertEqual((head_row['age'], head_row['main_id']),
            (None, None))
        self.assertEqual(child_row['age'], 7)
        # Root reads them all.
        head_row, _ = Membership.read(ids, ['age', 'main_id'])
        self.assertEqual((head_row['age'], head_row['main_id']),
            (41, NATIONAL_ID))

    @with_transaction()
    def test_party_actions_hidden(self):
        "Check VIES, Erase, Replace and Labels: administrators only"
        pool = Pool()
        Keyword = pool.get('ir.action.keyword')
        User = pool.get('res.user')
        hidden = {get_ref('party', x) for x in [
                'wizard_check_vies', 'wizard_erase', 'wizard_replace',
                'report_label']}
        registrar, = User.create([{'name': "Registrar", 'login': 'reg',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    }])
        User._get_groups_cache.clear()

        def actions(user_id):
            with Transaction().set_user(user_id), check_access():
                found = set()
                for keyword in ['form_action', 'form_print']:
                    found |= {a['id'] for a in Keyword.get_keyword(
                                keyword, ('party.party', -1))}
                return found
        self.assertFalse(actions(registrar.id) & hidden)
        self.assertEqual(actions(1) & hidden, hidden)
