"""Sensitive fields: masked for the users outside "View Sensitive Data" in
every channel (read, search_read, related fields, exports, the client's
definitions, REST and DCI), exact searches only, no probing."""
import contextlib
import datetime as dt
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import MODULES, REGISTRAR, create_user, setup_registry

SENSITIVE = ('spp_consent', 'group_sensitive')
NUMBER = '8001015000'
PHONE = '+67077123456'
BIRTH = dt.date(1980, 5, 12)


def setup_sensitive():
    """The registry of setup_registry(), Ana with an ID number, a phone,
    a birth date, an income and a disability; a caseworker (registrar of
    A without the sensitive group) and a supervisor (with it)."""
    pool = Pool()
    Party = pool.get('party.party')
    s = setup_registry()
    Party.write([s['ana']], {
            'birth_date': BIRTH, 'income': Decimal('250.00'),
            'disability': True,
            'identifiers': [('create', [{'type': 'national_id',
                            'code': NUMBER}])],
            'contact_mechanisms': [('create', [
                        {'type': 'mobile', 'value': PHONE}])],
            })
    s['caseworker'] = create_user('caseworker', [REGISTRAR],
        [s['areas']['TL-N-A']])
    s['supervisor'] = create_user('supervisor', [REGISTRAR, SENSITIVE],
        [s['areas']['TL-N-A']])
    return s


@contextlib.contextmanager
def as_user(user):
    "Act as `user` calling over RPC (access checked)."
    with Transaction().set_user(user.id), check_access():
        yield


class SensitiveTestCase(ActivatedModuleTestCase):
    "Sensitive fields"
    module = MODULES

    @with_transaction()
    def test_read_masked(self):
        "read and search_read mask the values for a caseworker"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        ana = s['ana'].id
        names = ['birth_date', 'income', 'disability', 'mobile', 'age',
            'name']
        with as_user(s['caseworker']):
            row, = Party.read([ana], names)
            searched, = Party.search_read([('id', '=', ana)],
                fields_names=names)
        for values in [row, searched]:
            self.assertEqual(values['birth_date'], '1980')
            self.assertEqual(values['income'], '•••')
            self.assertEqual(values['disability'], '•••')
            self.assertEqual(values['mobile'], '••••3456')
            self.assertEqual(values['name'], s['ana'].name)

    @with_transaction()
    def test_supervisor_sees(self):
        "A user of the sensitive group reads the values"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        with as_user(s['supervisor']):
            row, = Party.read([s['ana'].id], ['birth_date', 'income',
                    'identifiers.code'])
        self.assertEqual(row['birth_date'], BIRTH)
        self.assertEqual(row['income'], Decimal('250.00'))
        self.assertEqual(row['identifiers.'][0]['code'], NUMBER)

    @with_transaction()
    def test_related_fields_masked(self):
        "Identifiers through the party, the birth date from a membership"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Membership = pool.get('spp.group.membership')
        ContactMechanism = pool.get('party.contact_mechanism')
        s = setup_sensitive()
        membership, = Membership.search([('individual', '=', s['ana'].id)])
        identifier, = s['ana'].identifiers
        with as_user(s['caseworker']):
            row, = Party.read([s['ana'].id], ['identifiers.code',
                    'identifiers.code_compact', 'identifiers.rec_name',
                    'contact_mechanisms.value',
                    'contact_mechanisms.rec_name'])
            member, = Membership.read([membership.id],
                ['individual.birth_date', 'individual.income'])
            own, = Identifier.read([identifier.id],
                ['code', 'code_compact', 'unique_code', 'rec_name'])
            contact, = ContactMechanism.search_read(
                [('party', '=', s['ana'].id)],
                fields_names=['value', 'value_compact', 'other_value'])
        for key in ['code', 'code_compact', 'rec_name']:
            self.assertEqual(row['identifiers.'][0][key], '••••5000')
            self.assertEqual(own[key], '••••5000')
        self.assertNotIn(NUMBER, repr(own))
        self.assertEqual(row['contact_mechanisms.'][0]['value'], '••••3456')
        self.assertTrue(row['contact_mechanisms.'][0]['rec_name'].endswith(
                '<••••3456>'))
        self.assertEqual(member['individual.']['birth_date'], '1980')
        self.assertEqual(member['individual.']['income'], '•••')
        for key in ['value', 'value_compact', 'other_value']:
            self.assertEqual(contact[key], '••••3456')

    @with_transaction()
    def test_export_masked(self):
        "Exports of registrants and of other models mask the columns"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        s = setup_sensitive()
        membership, = Membership.search([('individual', '=', s['ana'].id)])
        with as_user(s['caseworker']):
            rows = Party.export_data([Party(s['ana'].id)], ['name',
                    'birth_date', 'income', 'identifiers/code',
                    'mobile'], header=True)
            listed = Party.export_data([Party(s['ana'].id)],
                ['identifiers'])
            member_rows = Membership.export_data([membership],
                ['individual/birth_date',
                    'individual/identifiers/code_compact'])
        self.assertEqual(rows[1][1:], ['1980', '•••', '••••5000',
                '••••3456'])
        self.assertEqual(listed, [['•••']])
        self.assertEqual(member_rows[0], ['1980', '••••5000'])
        self.assertNotIn(NUMBER, repr(rows) + repr(member_rows))
        with as_user(s['supervisor']):
            rows = Party.export_data([Party(s['ana'].id)],
                ['birth_date', 'identifiers/code'])
        self.assertEqual(rows[0], [BIRTH, NUMBER])

    @with_transaction()
    def test_exact_id_search(self):
        "A caseworker finds a person by the whole number, not by a part"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        ana = [s['ana']]
        with as_user(s['caseworker']):
            self.assertEqual(Party.search(
                    [('identifiers.code', '=', NUMBER)]), ana)
            self.assertEqual(Party.search(
                    [('identifiers.code', 'in', [NUMBER, '1'])]), ana)
            self.assertIn(s['ana'], Party.search(
                    [('rec_name', 'ilike', f'%{NUMBER}%')]))
            self.assertEqual(Party.search(
                    [('identifiers.code', 'ilike', f'%{NUMBER}%')]), ana)
            # Its household, by the number of a member (spp_registry).
            self.assertIn(s['santos'], Party.search(
                    [('rec_name', 'ilike', NUMBER)]))
            self.assertEqual(Party.search(
                    [('rec_name', 'ilike', PHONE)]), ana)
            # Part of the number: nothing, one character at a time.
            for probe in ['%8%', '8%', '%000', '800101%', '8_01%']:
                self.assertEqual(Party.search(
                        [('rec_name', 'ilike', probe),
                            ('id', '=', s['ana'].id)]), [], probe)
                self.assertEqual(Party.search(
                        [('identifiers.code', 'ilike', probe)]), [], probe)
                self.assertEqual(Party.search(
                        [('contact_mechanisms.value', 'like', probe)]),
                    [], probe)
        with as_user(s['supervisor']):
            self.assertEqual(Party.search([('rec_name', 'ilike', '8001%'),
                        ('id', '=', s['ana'].id)]), ana)

    @with_transaction()
    def test_rec_name_from_other_model(self):
        "A membership found by part of its member's number: no"
        Membership = Pool().get('spp.group.membership')
        s = setup_sensitive()
        with as_user(s['caseworker']):
            self.assertEqual(Membership.search(
                    [('individual', 'ilike', '8001%')]), [])
            self.assertEqual(len(Membership.search(
                        [('individual', 'ilike', NUMBER)])), 1)

    @with_transaction()
    def test_comparisons_refused(self):
        "Comparing a sensitive value (bisection) is refused, everywhere"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        Identifier = pool.get('party.identifier')
        s = setup_sensitive()
        refused = [
            (Party, ('birth_date', '<', dt.date(1990, 1, 1))),
            (Party, ('birth_date', '=', BIRTH)),
            (Party, ('income', '>=', 100)),
            (Party, ('disability', '=', True)),
            (Party, ('identifiers.code', '>', '5')),
            (Party, ('identifiers', 'where', [('code', '<', '5')])),
            (Party, ('identifiers.code', 'in', [str(i) for i in range(20)])),
            (Party, ['OR', ('name', '=', 'x'),
                    ('contact_mechanisms.value', '>=', '+6')]),
            (Membership, ('individual.birth_date', '<', dt.date(1990, 1, 1))),
            (Membership, ('individual.identifiers.code', '>=', '8')),
            (Identifier, ('code', '<', '9')),
            ]
        with as_user(s['caseworker']):
            for Model, clause in refused:
                with self.subTest(clause=clause):
                    with self.assertRaises(AccessError):
                        Model.search([clause])
        with as_user(s['supervisor']):
            self.assertEqual(Party.search(
                    [('birth_date', '<', dt.date(1990, 1, 1)),
                        ('id', '=', s['ana'].id)]), [s['ana']])

    @with_transaction()
    def test_order_neutralised(self):
        "A sort on a sensitive field is dropped"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        s = setup_sensitive()
        rui, = Party.create([{'registrant_type': 'individual',
                    'given_name': "Rui", 'family_name': "Santos",
                    'area': s['areas']['TL-N-A'].id,
                    'birth_date': dt.date(1970, 1, 1)}])
        domain = [('id', 'in', [s['ana'].id, rui.id])]
        with as_user(s['supervisor']):
            self.assertEqual(Party.search(domain,
                    order=[('birth_date', 'ASC')]), [rui, s['ana']])
        with as_user(s['caseworker']):
            for direction in ['ASC', 'DESC']:
                self.assertEqual(Party.search(domain, order=[
                            ('birth_date', direction), ('id', 'ASC')]),
                    [s['ana'], rui])
            # Through a relation too: the order is the id's.
            Membership.search([], order=[
                    ('individual.birth_date', 'ASC')])
            Party.search([], 0, None, [('identifiers.code', 'ASC')])

    @with_transaction()
    def test_write_refused_create_allowed(self):
        "A caseworker cannot change what they see masked; creating is fine"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        s = setup_sensitive()
        identifier, = s['ana'].identifiers
        with as_user(s['caseworker']):
            for values in [{'birth_date': dt.date(1981, 1, 1)},
                    {'income': Decimal(1)},
                    {'identifiers': [('write', [identifier.id],
                                {'code': '123'})]}]:
                with self.subTest(values=values):
                    with self.assertRaises(AccessError):
                        Party.write([Party(s['ana'].id)], values)
            with self.assertRaises(AccessError):
                Identifier.write([Identifier(identifier.id)],
                    {'code': '9999'})
            # Unchanged values and other fields are written.
            Party.write([Party(s['ana'].id)], {'birth_date': BIRTH,
                    'occupation': "Farmer"})
            new, = Party.create([{'registrant_type': 'individual',
                        'given_name': "Rui", 'family_name': "Santos",
                        'area': s['areas']['TL-N-A'].id,
                        'birth_date': dt.date(2000, 2, 2),
                        'identifiers': [('create', [{'code': '424242'}])]}])
        self.assertEqual(new.birth_date, dt.date(2000, 2, 2))
        self.assertEqual(new.identifiers[0].code, '424242')
        self.assertEqual(Party(s['ana'].id).occupation, "Farmer")
        with as_user(s['supervisor']):
            Party.write([Party(s['ana'].id)], {'income': Decimal(300)})
        self.assertEqual(Party(s['ana'].id).income, Decimal(300))

    @with_transaction()
    def test_fields_get(self):
        "The client is told masked fields are read-only text"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        with Transaction().set_user(s['caseworker'].id):
            masked = Party.fields_get(['birth_date', 'income', 'name'])
        with Transaction().set_user(s['supervisor'].id):
            shown = Party.fields_get(['birth_date'])
        self.assertEqual(masked['birth_date']['type'], 'char')
        self.assertIn('readonly', masked['birth_date']['states'])
        # Its own states are kept as they are, not evaluated.
        self.assertIn('registrant_type', masked['birth_date']['states'])
        self.assertEqual(masked['income']['type'], 'char')
        self.assertTrue(masked['income']['readonly'])
        self.assertFalse(masked['birth_date']['sortable'])
        self.assertEqual(masked['name']['type'], 'char')
        self.assertEqual(shown['birth_date']['type'], 'date')

    @with_transaction()
    def test_server_code_sees(self):
        "Buttons, wizards and the server's code read the real values"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        with as_user(s['caseworker']):
            with Transaction().set_context(_check_access=False):
                ana = Party(s['ana'].id)
                self.assertEqual(ana.birth_date, BIRTH)
                self.assertEqual(ana.identifiers[0].code, NUMBER)
                self.assertEqual(Party.search([
                            ('birth_date', '<', dt.date(1990, 1, 1)),
                            ('id', '=', ana.id)]), [ana])
            # Attribute reads of records are not masked either.
            self.assertEqual(Party(s['ana'].id).income, Decimal('250.00'))

    @with_transaction()
    def test_custom_field_sensitive(self):
        "A sensitive custom field is hidden, unsearchable, kept on write"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        s = setup_sensitive()
        CustomField.create([
                {'name': 'hiv_status', 'string': "HIV Status",
                    'type_': 'char', 'sensitive': True},
                {'name': 'meals', 'string': "Meals", 'type_': 'integer'},
                ])
        Party.write([s['ana']], {'custom_values': {
                    'hiv_status': 'positive', 'meals': 2}})
        with as_user(s['caseworker']):
            row, = Party.read([s['ana'].id], ['custom_values'])
            self.assertEqual(row['custom_values'], {'meals': 2})
            rows = Party.export_data([Party(s['ana'].id)],
                ['custom_values'])
            self.assertNotIn('positive', repr(rows))
            for clause in [('custom_values.hiv_status', '=', 'positive'),
                    ('custom_filter', 'ilike', '%hiv_status = positive%')]:
                with self.assertRaises(AccessError):
                    Party.search([clause])
            self.assertEqual(Party.search([
                        ('custom_values.meals', '<', 3)]), [s['ana']])
            Party.write([Party(s['ana'].id)], {'custom_values': {
                        'meals': 3}})
            keys = [k['name'] for k in CustomField.search_get_keys([])]
            self.assertEqual(keys, ['meals'])
        self.assertEqual(Party(s['ana'].id).custom_values,
            {'hiv_status': 'positive', 'meals': 3})
        with as_user(s['supervisor']):
            row, = Party.read([s['ana'].id], ['custom_values'])
        self.assertEqual(row['custom_values']['hiv_status'], 'positive')

    @with_transaction()
    def test_configuration(self):
        "Sensitive fields are configured: defaults, a new one, cache"
        pool = Pool()
        Party = pool.get('party.party')
        SensitiveField = pool.get('spp.sensitive.field')
        Field = pool.get('ir.model.field')
        s = setup_sensitive()
        self.assertEqual(SensitiveField.by_model()['party.party'][
                'birth_date'], 'year')
        occupation, = Field.search([('model', '=', 'party.party'),
                ('name', '=', 'occupation')])
        Party.write([s['ana']], {'occupation': "Teacher"})
        record, = SensitiveField.create([{'field': occupation.id,
                    'mask': 'hidden'}])
        with as_user(s['caseworker']):
            row, = Party.read([s['ana'].id], ['occupation'])
        self.assertEqual(row['occupation'], '•••')
        SensitiveField.delete([record])
        with as_user(s['caseworker']):
            row, = Party.read([s['ana'].id], ['occupation'])
        self.assertEqual(row['occupation'], "Teacher")

    @with_transaction()
    def test_rest_and_dci_masked(self):
        "The REST and DCI answers mask for the client's acting user"
        pool = Pool()
        Client = pool.get('spp.api.client')
        from trytond.modules.spp_api.dci_record import reg_records
        from trytond.modules.spp_api.handlers import Scope
        s = setup_sensitive()
        answers = {}
        for who in ['caseworker', 'supervisor']:
            client = {'id': None, 'user': s[who].id, 'areas': [],
                'scopes': set()}
            client.update(Client.sharing_values(None))
            scope = Scope(client)
            with Transaction().set_user(s[who].id), \
                    Transaction().set_context(spp_api_client=1):
                individual, = scope.individuals([s['ana'].id])
                group, = scope.groups([s['santos'].id])
                dci = reg_records(scope, [('individual', s['ana'].id)])
            answers[who] = individual, group, dci
        individual, group, dci = answers['caseworker']
        self.assertEqual(individual['birth_date'], '1980')
        self.assertIsNone(individual['disability'])
        self.assertEqual(individual['identifiers'][0]['value'], '••••5000')
        person = dci[0]['demographic_info']
        self.assertEqual(person['phone_number'][-4:], '3456')
        self.assertTrue(person['phone_number'].startswith('••••'))
        self.assertNotIn(NUMBER, repr(answers['caseworker']))
        individual, group, dci = answers['supervisor']
        self.assertEqual(individual['birth_date'], BIRTH.isoformat())
        self.assertEqual(individual['identifiers'][0]['value'], NUMBER)
        self.assertTrue(individual['disability'])

    @with_transaction()
    def test_api_search_comparison_refused(self):
        "The API's searches (DCI queries) compare no sensitive value"
        Party = Pool().get('party.party')
        s = setup_sensitive()
        with Transaction().set_user(s['caseworker'].id), \
                Transaction().set_context(spp_api_client=1):
            with self.assertRaises(AccessError):
                Party.search([('birth_date', '>', dt.date(1970, 1, 1))])
            self.assertEqual(Party.search([('identifiers', 'where', [
                                ('code_compact', '=', NUMBER)])]),
                [s['ana']])
