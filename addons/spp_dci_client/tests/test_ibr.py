"""The Integrated Beneficiary Registry: enrolment updates after enrolment
and exit, only changes, in batches, a failed batch sent again; the check
of candidates enrolled in excluding programmes and enrolment leaving them
out; every message validated against the IBR spec (tests/data)."""
import unittest


from trytond.exceptions import UserError
from trytond.model.modelview import AccessButtonError
from trytond.modules.spp_dci_client import transport
from trytond.model.exceptions import AccessError
from trytond.modules.spp_programs.tests.test_area_rules import (
    area_user, as_user, assert_hidden_as_missing)
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from . import spec
from .tools import MODULES, create_registry, fake_registry

UPDATES = '/registry/sync/enrollment/updates'
ENROLLED = '/registry/sync/enrolled'
BODY = '/requestBody/content/application~1json/schema'


def validate(instance, pointer):
    spec.validate('dci_ibr_api_v1.0.0.yaml', instance, pointer)


def operation(path):
    return '#/paths/' + path.replace('/', '~1') + '/post'


def national_id(number):
    from stdnum import luhn
    base = str(100000000 + number)
    return base + luhn.calc_check_digit(base)


class FakeIbr:
    """The IBR side of a FakeRegistry: validates what it receives, answers
    per the spec, knows who is enrolled where."""

    def __init__(self, fake):
        self.fake = fake
        self.enrolled = {}      # identifier value: programme identifier
        self.refuse = set()     # reference_ids refused
        self.fail_at = None     # the nth updates message answers 503
        self.updates = 0
        fake.handlers[UPDATES] = self.on_updates
        fake.handlers[ENROLLED] = self.on_enrolled

    def on_updates(self, body):
        validate(body, operation(UPDATES) + BODY)
        validate(body['message'],
            '#/components/schemas/EnrollmentUpdatesRequest')
        self.updates += 1
        if self.fail_at == self.updates:
            return 503, {'errors': [{'code': 'err.service.unavailable',
                        'message': "Down"}]}, 'raw'
        items = [{'reference_id': b['reference_id'],
                'timestamp': transport.now_iso(),
                'status': 'rjct' if b['reference_id'] in self.refuse
                else 'succ',
                **({'status_reason_message': "Unknown person"}
                    if b['reference_id'] in self.refuse else {})}
            for b in body['message']['enrolled_updates']['beneficiaries']]
        message = {'transaction_id': body['message']['transaction_id'],
            'correlation_id': 'c1', 'enrolled_response': items}
        validate(message, '#/components/schemas/EnrollmentUpdatesResponse')
        return 200, message

    def on_enrolled(self, body):
        validate(body, operation(ENROLLED) + BODY)
        validate(body['message'], '#/components/schemas/EnrolledRequest')
        query = body['message']['enrolled_criteria']['query']
        excluding = set(query[
                'programme_identifier.program.programme_identifier']['in'])
        items = []
        for value in query['person_identifier']['in']:
            programme = self.enrolled.get(value)
            yes = programme in excluding
            item = {'reference_id': value, 'timestamp': transport.now_iso(),
                'status': 'succ', 'enrolled_status': 'yes' if yes else 'no'}
            if yes:
                item['status_reason_message'] = f"Enrolled in {programme}"
            items.append(item)
        message = {'transaction_id': body['message']['transaction_id'],
            'correlation_id': 'c2', 'enrolled_response': items}
        validate(message, '#/components/schemas/EnrolledResponse')
        return 200, message


def people(count, start=1):
    "Individuals with a national ID each: [(party, number)]."
    Party = Pool().get('party.party')
    numbers = [national_id(start + i) for i in range(count)]
    parties = Party.create([{'registrant_type': 'individual',
                'family_name': f"Person{start + i}", 'given_name': "Test",
                'identifiers': [('create', [{'type': 'national_id',
                                'code': number}])]}
            for i, number in enumerate(numbers)])
    return list(zip(parties, numbers))


def program_with_ibr(registry, code='IBRP', target='individual', **values):
    pool = Pool()
    Program = pool.get('spp.program')
    Currency = pool.get('currency.currency')
    currency, = Currency.search([], limit=1) or Currency.create([{
                'name': "Test", 'code': 'TST', 'symbol': 'T'}])
    program, = Program.create([{'name': f"Program {code}", 'code': code,
                'target_type': target, 'currency': currency.id,
                'recurrence': 'monthly', 'ibr_registry': registry.id,
                **values}])
    Program.activate([program])
    return program


def states(program):
    Membership = Pool().get('spp.program.membership')
    return {m.registrant.family_name or m.registrant.name: m.state
        for m in Membership.search([('program', '=', program.id)])}


def beneficiaries(fake):
    return [b for body in fake.calls_to(UPDATES)
        for b in body['message']['enrolled_updates']['beneficiaries']]


def queued_sends():
    Queue = Pool().get('ir.queue')
    return [q for q in Queue.search([])
        if q.data.get('method') == 'ibr_send_updates']


class IbrTestCase(unittest.TestCase):
    "Integrated Beneficiary Registry"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)
        cls.fake = fake_registry()
        cls.ibr = FakeIbr(cls.fake)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.fake.calls.clear()
        self.fake.fail = 0
        self.ibr.enrolled.clear()
        self.ibr.refuse.clear()
        self.ibr.fail_at = None
        self.ibr.updates = 0
        transport.tokens.tokens.clear()

    def registry(self, **values):
        registry = create_registry(self.fake, kind='ibr', code='ibr',
            **values)
        Mapping = Pool().get('spp.dci.registry.mapping')
        Mapping.create([{'registry': registry.id,
                    'category': 'identifier_type', 'external_code': 'UIN',
                    'internal_code': 'national_id'}])
        return registry

    @with_transaction()
    def test_updates_after_enrolment_and_exit(self):
        "Enrolment and exit queue a send; only changes are sent, batched"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        registry = self.registry(batch_size=2)
        persons = people(5)
        program = program_with_ibr(registry)
        Program.import_eligible([program])
        self.assertEqual(queued_sends(), [])
        Program.enrol([program])
        self.assertEqual(len(queued_sends()), 1)

        Program.ibr_send_updates([program])
        self.assertEqual(len(self.fake.calls_to(UPDATES)), 3)
        sent = beneficiaries(self.fake)
        self.assertEqual(len(sent), 5)
        first = sent[0]
        self.assertEqual(first['member']['member_identifier'], [{
                    '@type': 'Identifier', 'identifier_type': 'UIN',
                    'identifier_value': persons[0][1]}])
        self.assertEqual(first['member']['demographic_info']['name'][
                'surname'], 'Person1')
        self.assertEqual((first['programme_identifier']['programme'][
                    'programme_identifier'],
                first['programme_identifier']['enrolment_status']),
            ('IBRP', 'active'))
        headers = [b['header'] for b in self.fake.calls_to(UPDATES)]
        self.assertEqual({h['action'] for h in headers}, {'notify'})
        program = Program(program.id)
        self.assertEqual(program.ibr_pending, 0)
        self.assertIn("5 membership changes sent in 3 messages",
            program.ibr_send_status)

        # A second pass sends nothing.
        self.fake.calls.clear()
        Program.ibr_send_updates([program])
        self.assertEqual(self.fake.calls_to(UPDATES), [])

        # An exit: queued, then only that member is sent.
        member, = Membership.search([('program', '=', program.id),
                ('registrant', '=', persons[2][0].id)])
        queued = len(queued_sends())
        Membership.exit([member])
        self.assertEqual(len(queued_sends()), queued + 1)
        Program.ibr_send_updates([program])
        sent = beneficiaries(self.fake)
        self.assertEqual([(b['reference_id'],
                    b['programme_identifier']['enrolment_status'])
                for b in sent], [(str(member.id), 'exited')])
        self.assertEqual(Membership(member.id).ibr_sent_state, 'exited')

    @with_transaction()
    def test_failed_batch_sent_by_next_pass(self):
        "Batches acknowledged before a failure stay sent; the rest follow"
        Program = Pool().get('spp.program')
        registry = self.registry(batch_size=2, attempts=1)
        people(5)
        program = program_with_ibr(registry)
        Program.import_and_enrol([program])
        self.ibr.fail_at = 2
        Program.ibr_send_updates([program])
        program = Program(program.id)
        self.assertEqual(program.ibr_pending, 3)
        self.assertIn("Stopped at message 2", program.ibr_send_status)
        self.assertIn("2 membership changes were acknowledged",
            program.ibr_send_status)

        self.fake.calls.clear()
        Program.ibr_send_updates([program])
        self.assertEqual(len(beneficiaries(self.fake)), 3)
        self.assertEqual(Program(program.id).ibr_pending, 0)
        Exchange = Pool().get('spp.dci.exchange')
        self.assertEqual(len(Exchange.search([('state', '=', 'failed'),
                        ('endpoint', '=', UPDATES)])), 1)

    @with_transaction()
    def test_refused_beneficiary(self):
        "A beneficiary the IBR refuses keeps its reason, is not resent"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        registry = self.registry()
        persons = people(2)
        program = program_with_ibr(registry)
        Program.import_and_enrol([program])
        refused, = Membership.search([('registrant', '=', persons[1][0].id)])
        self.ibr.refuse.add(str(refused.id))
        Program.ibr_send_updates([program])
        self.assertEqual(Membership(refused.id).ibr_refusal,
            "Unknown person")
        self.assertIn("1 refused", Program(program.id).ibr_send_status)
        self.fake.calls.clear()
        Program.ibr_send_updates([program])
        self.assertEqual(self.fake.calls_to(UPDATES), [])

    @with_transaction()
    def test_registrant_change_sent(self):
        "A registrant changed after the send is sent again"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        registry = self.registry()
        people(2)
        program = program_with_ibr(registry)
        Program.import_and_enrol([program])
        Program.ibr_send_updates([program])
        table = Membership.__table__()
        cursor = Transaction().connection.cursor()
        # As if sent a while ago, before the registrant's last change.
        cursor.execute(*table.update([table.ibr_sent_at],
                ['2000-01-01 00:00:00']))
        self.fake.calls.clear()
        Program.ibr_send_updates([program])
        self.assertEqual(len(beneficiaries(self.fake)), 2)

    @with_transaction()
    def test_check_and_enrolment(self):
        "The check marks only the excluded; enrolment leaves them out"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        registry = self.registry(batch_size=3)
        persons = people(4)
        program = program_with_ibr(registry,
            ibr_exclusions="OAP-2026\nDSG")
        self.ibr.enrolled.update({persons[1][1]: 'OAP-2026',
                persons[2][1]: 'UNRELATED'})
        Program.import_eligible([program])
        Program.ibr_check_enrolled([program])
        calls = self.fake.calls_to(ENROLLED)
        self.assertEqual(len(calls), 2)  # 4 candidates, batches of 3
        self.assertEqual({c['header']['action'] for c in calls}, {'search'})
        criteria = calls[0]['message']['enrolled_criteria']
        self.assertEqual(criteria['query']['person_identifier_type'],
            {'eq': 'UIN'})
        self.assertEqual(criteria['query'][
                'programme_identifier.program.programme_identifier'],
            {'in': ['DSG', 'OAP-2026']})
        flagged = Membership.search([('program', '=', program.id),
                ('ibr_enrolled_elsewhere', '=', True)])
        self.assertEqual([m.registrant.id for m in flagged],
            [persons[1][0].id])
        self.assertEqual(flagged[0].ibr_check_note, "Enrolled in OAP-2026")
        self.assertEqual(len(Membership.search([
                        ('program', '=', program.id),
                        ('ibr_checked', '!=', None)])), 4)
        self.assertIn("4 candidates checked in 2 messages: 1",
            Program(program.id).ibr_check_status)

        Program.enrol([program])
        self.assertEqual(states(program), {'Person1': 'enrolled',
                'Person2': 'not_eligible', 'Person3': 'enrolled',
                'Person4': 'enrolled'})
        excluded = Membership(flagged[0].id)
        self.assertIn("OAP-2026", excluded.state_reason)
        self.assertIn("according to the IBR", excluded.state_reason)
        Program.verify_eligibility([program])
        self.assertEqual(states(program)['Person2'], 'not_eligible')

        # The person left the other programme: a new check clears them,
        # verification enrols them.
        self.ibr.enrolled.clear()
        Program.ibr_check_enrolled([program])
        self.assertFalse(Membership(excluded.id).ibr_enrolled_elsewhere)
        Program.verify_eligibility([program])
        self.assertEqual(states(program)['Person2'], 'enrolled')

    @with_transaction()
    def test_check_before_enrolment(self):
        "With the option, enrolment asks the IBR first; down, it fails"
        Program = Pool().get('spp.program')
        registry = self.registry(attempts=1)
        persons = people(3)
        program = program_with_ibr(registry, ibr_exclusions="OAP-2026",
            ibr_check_before_enrol=True)
        self.ibr.enrolled[persons[0][1]] = 'OAP-2026'
        Program.import_and_enrol([program])
        self.assertEqual(len(self.fake.calls_to(ENROLLED)), 1)
        self.assertEqual(states(program), {'Person1': 'not_eligible',
                'Person2': 'enrolled', 'Person3': 'enrolled'})

        people(1, start=10)
        Program.import_eligible([program])
        self.fake.fail = 1
        with self.assertRaises(UserError) as raised:
            Program.enrol([program])
        self.assertIn("IBR check stopped", raised.exception.message)

    @with_transaction()
    def test_households(self):
        "A household is checked and sent with its members' identifiers"
        pool = Pool()
        Program = pool.get('spp.program')
        Identifier = pool.get('party.identifier')
        registry = self.registry()
        areas = create_areas()
        group, members = create_household("House A", [
                {'family_name': "Head", 'roles': ['head']},
                {'family_name': "Kid", 'roles': ['child']},
                ], area=areas['TL-N-A'])
        other, _ = create_household("House B", [
                {'family_name': "Alone", 'roles': ['head']},
                ], area=areas['TL-N-A'])
        Identifier.create([{'party': members[1].id, 'type': 'national_id',
                    'code': national_id(77)}])
        program = program_with_ibr(registry, code='HH', target='group',
            ibr_exclusions="OAP-2026")
        self.ibr.enrolled[national_id(77)] = 'OAP-2026'
        Program.import_eligible([program])
        Program.ibr_check_enrolled([program])
        Program.enrol([program])
        self.assertEqual(states(program), {'House A': 'not_eligible',
                'House B': 'enrolled'})
        Program.ibr_send_updates([program])
        sent, = beneficiaries(self.fake)
        self.assertEqual(sent['assistance_unit'], 'group')
        self.assertEqual(sent['group']['group_name'], "House B")

    @with_transaction()
    def test_buttons_access(self):
        "Program managers press the IBR buttons; others cannot"
        pool = Pool()
        Program = pool.get('spp.program')
        User = pool.get('res.user')
        registry = self.registry()
        program = program_with_ibr(registry, ibr_exclusions="OAP-2026")
        manager, clerk = User.create([
                {'name': 'manager', 'login': 'ibr_manager', 'groups': [
                        ('add', [get_ref('spp_programs',
                                    'group_program_manager')])]},
                {'name': 'clerk', 'login': 'ibr_clerk', 'groups': [
                        ('add', [get_ref('spp_registry',
                                    'group_registry_viewer')])]},
                ])
        User._get_groups_cache.clear()
        context = {'_check_access': True}
        with Transaction().set_user(manager.id), \
                Transaction().set_context(context):
            Program.ibr_send([Program(program.id)])
            Program.ibr_check([Program(program.id)])
            # Choosing the IBR: the registries are readable, not secrets.
            self.assertEqual(Program(program.id).ibr_registry.name,
                registry.name)
        with Transaction().set_user(clerk.id), \
                Transaction().set_context(context):
            for button in (Program.ibr_send, Program.ibr_check):
                with self.assertRaises(AccessButtonError):
                    button([Program(program.id)])

    @with_transaction()
    def test_check_needs_exclusions(self):
        "Check IBR without excluding programmes is refused clearly"
        Program = Pool().get('spp.program')
        program = program_with_ibr(self.registry())
        with self.assertRaises(UserError) as raised:
            Program.ibr_check([program])
        self.assertIn("lists no excluding programmes",
            raised.exception.message)

    @with_transaction()
    def test_ibr_marks_follow_membership_rules(self):
        "A user of another area finds, counts, reads, exports no IBR mark "
        "of B; a user without a programs or registry group reads none"
        pool = Pool()
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        registry = self.registry()
        areas = create_areas()
        house_a, people_a = create_household("House A", [
                {'family_name': "Ann", 'roles': ['head']}],
            area=areas['TL-N-A'])
        house_b, people_b = create_household("House B", [
                {'family_name': "Ben", 'roles': ['head']}],
            area=areas['TL-N-B'])
        Pool().get('party.identifier').create([
                {'party': people_a[0].id, 'type': 'national_id',
                    'code': national_id(41)},
                {'party': people_b[0].id, 'type': 'national_id',
                    'code': national_id(42)}])
        program = program_with_ibr(registry, code='HH2', target='group',
            ibr_exclusions="OAP-2026")
        self.ibr.enrolled.update({national_id(41): 'OAP-2026',
                national_id(42): 'OAP-2026'})
        Program.import_eligible([program])
        Program.ibr_check_enrolled([program])
        own, = Membership.search([('registrant', '=', house_a.id)])
        other, = Membership.search([('registrant', '=', house_b.id)])
        names = ['ibr_enrolled_elsewhere', 'ibr_check_note', 'ibr_checked',
            'ibr_sent_state']
        flagged = [('ibr_enrolled_elsewhere', '=', True)]
        viewer = area_user('ibr_view_a',
            ['spp_registry.group_registry_viewer'], [areas['TL-N-A']])
        with as_user(viewer):
            self.assertEqual(Membership.search(flagged), [own])
            self.assertEqual(Membership.search_count(flagged), 1)
            self.assertEqual(Membership.search(flagged + [
                        ('ibr_check_note', 'ilike', '%OAP%'),
                        ('registrant', '=', house_b.id)]), [])
            assert_hidden_as_missing(self, Membership, other.id, names)
            self.assertEqual(Membership.export_data([Membership(own.id)],
                    ['ibr_enrolled_elsewhere', 'ibr_check_note']),
                [[True, "Enrolled in OAP-2026"]])
        nobody = area_user('ibr_nobody', [], [areas['TL-N-A']])
        with as_user(nobody):
            with self.assertRaises(AccessError):
                Membership.search(flagged)
            with self.assertRaises(AccessError):
                Membership.search_count(flagged)
            with self.assertRaises(AccessError):
                Membership.read([own.id], names)
            with self.assertRaises(AccessError):
                Membership.export_data([Membership(own.id)], names)
            with self.assertRaises(AccessError):
                Program.read([program.id], ['ibr_check_status'])
