"ID types: changing the Unique flag or the code of a type already in use."
from trytond.exceptions import UserError
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction


def individuals(count):
    Party = Pool().get('party.party')
    return Party.create([{'registrant_type': 'individual', 'name': f"P{n}"}
            for n in range(count)])


def ration_card(unique):
    IdType = Pool().get('spp.id.type')
    id_type, = IdType.create([{'name': "Ration Card", 'code': 'ration_card',
                'unique': unique}])
    return id_type


def give(party, type_, code, **values):
    Identifier = Pool().get('party.identifier')
    identifier, = Identifier.create([{
                'party': party.id, 'type': type_, 'code': code, **values}])
    return identifier


def unique_codes(type_):
    "{code_compact: unique_code} of the IDs of `type_`, archived ones too."
    Identifier = Pool().get('party.identifier')
    identifiers = Identifier.search([
            ('type', '=', type_), ('active', 'in', [True, False])])
    return {i.code_compact: i.unique_code for i in identifiers}


class IdTypeTestCase(ActivatedModuleTestCase):
    "Test changes to ID types in use"

    module = 'spp_registry'

    @with_transaction()
    def test_made_unique(self):
        "Numbers entered before a type is made unique are then held once"
        ration = ration_card(unique=False)
        one, two, three = individuals(3)
        give(one, 'ration_card', 'R1')
        give(two, 'ration_card', 'R2', active=False)

        Pool().get('spp.id.type').write([ration], {'unique': True})

        self.assertEqual(unique_codes('ration_card'), {
                'R1': 'ration_card:R1', 'R2': 'ration_card:R2'})
        for number in ['R1', 'R2']:
            with self.assertRaises(UserError) as cm:
                give(three, 'ration_card', number)
            self.assertIn("Ration Card", cm.exception.message)
            self.assertIn(f'"{number}"', cm.exception.message)

    @with_transaction()
    def test_made_unique_refused(self):
        "A type whose numbers are held twice is not made unique"
        IdType = Pool().get('spp.id.type')
        ration = ration_card(unique=False)
        parties = individuals(25)
        for n in range(12):
            give(parties[2 * n], 'ration_card', f'R{n + 1:02}')
            # An archived ID still holds its number.
            give(parties[2 * n + 1], 'ration_card', f'R{n + 1:02}',
                active=(n != 0))
        give(parties[24], 'ration_card', 'R99')

        with self.assertRaises(UserError) as cm:
            IdType.write([ration], {'unique': True})
        message = cm.exception.message
        self.assertIn("Ration Card", message)
        self.assertIn("12 in all", message)
        self.assertIn('R01', message)
        self.assertIn('R10', message)
        self.assertNotIn('R11', message)
        self.assertNotIn('R99', message)
        self.assertFalse(IdType(ration.id).unique)
        self.assertEqual(set(unique_codes('ration_card').values()), {None})

    @with_transaction()
    def test_made_not_unique(self):
        "A type made not unique accepts a second holder of a number"
        IdType = Pool().get('spp.id.type')
        national = IdType(get_ref('spp_registry', 'id_type_national_id'))
        one, two = individuals(2)
        give(one, 'national_id', '1234567897')

        IdType.write([national], {'unique': False})
        self.assertEqual(unique_codes('national_id'), {'1234567897': None})
        give(two, 'national_id', '1234567897')

        with self.assertRaises(UserError) as cm:
            IdType.write([national], {'unique': True})
        self.assertIn("National ID", cm.exception.message)
        self.assertIn('1234567897', cm.exception.message)

    @with_transaction()
    def test_code_of_type_in_use(self):
        "The code of a type in use is kept: its IDs store it"
        IdType = Pool().get('spp.id.type')
        ration = ration_card(unique=False)
        IdType.write([ration], {'code': 'ration'})
        one, = individuals(1)
        give(one, 'ration', 'R1', active=False)

        with self.assertRaises(UserError) as cm:
            IdType.write([ration], {'code': 'ration_card'})
        self.assertIn("Ration Card", cm.exception.message)
        with self.assertRaises(UserError) as cm:
            IdType.delete([ration])
        self.assertIn("Ration Card", cm.exception.message)
        IdType.write([ration], {'name': "Ration Book", 'code': 'ration'})
        self.assertEqual(IdType(ration.id).code, 'ration')

    @with_transaction()
    def test_number_written_otherwise(self):
        "A number held already, written with dots or spaces, is named"
        pool = Pool()
        IdType = pool.get('spp.id.type')
        Identifier = pool.get('party.identifier')
        # The party module compacts and formats the numbers of a type
        # named after a python-stdnum module: 76.086.428-5 is 760864285.
        IdType.create([{'name': "Chilean RUT", 'code': 'cl_rut',
                    'validator': 'cl.rut'}])
        one, two, three = individuals(3)
        first = give(one, 'cl_rut', '760864285')
        self.assertEqual((first.code, first.unique_code),
            ('76.086.428-5', 'cl_rut:760864285'))

        for number in ['76.086.428-5', '76 086 428 5']:
            with self.assertRaises(UserError) as cm:
                give(two, 'cl_rut', number)
            self.assertIn("Chilean RUT", cm.exception.message)
        with self.assertRaises(UserError) as cm:
            Identifier.create([
                    {'party': two.id, 'type': 'cl_rut', 'code': '123456785'},
                    {'party': three.id, 'type': 'cl_rut',
                        'code': '12.345.678-5'}])
        self.assertIn("Chilean RUT", cm.exception.message)
        second = give(two, 'cl_rut', '123456785')
        with self.assertRaises(UserError) as cm:
            Identifier.write([second], {'code': '76 086 428-5'})
        self.assertIn("Chilean RUT", cm.exception.message)
