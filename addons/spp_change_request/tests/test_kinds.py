"Every kind of change request, applied end to end."
import json

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase

from trytond.modules.spp_programs.tests.test_module import create_program

from .tools import (
    as_user, attach, get_ref, new_request, setup_people, years_ago)


def role(code):
    Role = Pool().get('spp.group.membership.role')
    return Role.search([('code', '=', code)])[0]


def current_members(group):
    Membership = Pool().get('spp.group.membership')
    return {(m.individual.rec_name, m.role_names) for m in Membership.search(
            [('group', '=', group.id), ('current', '=', True)])}


class KindsTestCase(ActivatedModuleTestCase):
    "Change request kinds"
    # The modules of test_module.py's test case, in its order: one cached
    # database for both.
    module = ['spp_change_request', 'spp_custom_field', 'spp_programs',
        'spp_audit']

    def decide_all(self, request, people):
        "Submit as the requester, then approve at every stage."
        ChangeRequest = Pool().get('spp.change_request')
        users = people['users']
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        for stage in request.kind.stages:
            decider = users['validator_a' if stage.area_limited else 'hq']
            with as_user(decider):
                outcome = ChangeRequest.decide([request], 'approve')
        request = ChangeRequest(request.id)
        self.assertEqual(request.state, 'applied', outcome)
        self.assertEqual(request.decisions[-1].action, 'applied')
        return request

    @with_transaction()
    def test_edit_group(self):
        "A household is renamed"
        Party = Pool().get('party.party')
        people = setup_people()
        request = new_request('edit_group', people['household'],
            people['users']['requester'], proposed={'name': "Santos-Reyes"})
        self.decide_all(request, people)
        household = Party(people['household'].id)
        self.assertEqual(household.name, "Santos-Reyes")
        self.assertEqual(household.change_request, request)

    @with_transaction()
    def test_add_member_new_and_existing(self):
        "A newborn is registered into the household; a second head is refused"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        users = people['users']
        today = pool.get('ir.date').today()
        request = new_request('add_member', people['household'],
            users['requester'], new_given_name="Rosa",
            new_family_name="Santos", new_birth_date=today,
            new_gender=get_ref('spp_registry', 'gender_female'),
            role=role('child').id if role_exists('child') else None)
        request = self.decide_all(request, people)
        self.assertEqual(request.individual.name, "Santos, Rosa")
        self.assertEqual(request.individual.area, people['areas']['TL-N-A'])
        self.assertIn("Santos, Rosa", {n for n, _ in current_members(
                    people['household'])})

        second_head = new_request('add_member', people['household'],
            users['requester'], individual=people['eva'].id,
            role=role('head').id)
        with as_user(users['requester']), \
                self.assertRaises(UserError) as refused:
            ChangeRequest.submit([second_head])
        self.assertIn("second", str(refused.exception))

    @with_transaction()
    def test_remove_member(self):
        "A member leaves; the membership is kept as history"
        Membership = Pool().get('spp.group.membership')
        people = setup_people()
        request = new_request('remove_member', people['household'],
            people['users']['requester'], individual=people['juan'].id)
        self.decide_all(request, people)
        self.assertNotIn("Santos, Juan", {n for n, _ in current_members(
                    people['household'])})
        self.assertTrue(Membership.search([
                    ('individual', '=', people['juan'].id),
                    ('end_date', '!=', None)]))

    @with_transaction()
    def test_change_head(self):
        "The head role passes to another member"
        people = setup_people()
        request = new_request('change_head', people['household'],
            people['users']['requester'], individual=people['juan'].id)
        self.decide_all(request, people)
        members = dict(current_members(people['household']))
        self.assertEqual(members["Santos, Juan"], "Head")
        self.assertEqual(members["Santos, Ana"], "")

    @with_transaction()
    def test_split_household(self):
        "A member forms a household of their own"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        Member = pool.get('spp.change_request.member')
        people = setup_people()
        request = new_request('split_household', people['household'],
            people['users']['requester'], new_group_name="Juan's")
        Member.create([{'request': request.id,
                    'individual': people['juan'].id,
                    'role': role('head').id}])
        request = self.decide_all(ChangeRequest(request.id), people)
        new = request.target_group
        self.assertEqual(new.name, "Juan's")
        self.assertEqual(current_members(new), {("Santos, Juan", "Head")})
        self.assertEqual(current_members(people['household']),
            {("Santos, Ana", "Head")})

    @with_transaction()
    def test_create_household(self):
        "A household is created with its members and their ID numbers"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        request = new_request('create_household', None,
            people['users']['requester'], area=people['areas']['TL-N-A'].id,
            new_group_name="Cruz", members=[('create', [
                        {'given_name': "Lea", 'family_name': "Cruz",
                            'role': role('head').id},
                        {'given_name': "Tom", 'family_name': "Cruz"},
                        ])])
        request = self.decide_all(ChangeRequest(request.id), people)
        self.assertEqual(request.registrant.name, "Cruz")
        self.assertEqual(request.registrant.area, people['areas']['TL-N-A'])
        self.assertEqual(current_members(request.registrant),
            {("Cruz, Lea", "Head"), ("Cruz, Tom", "")})

    @with_transaction()
    def test_ids_add_correct_withdraw(self):
        "An ID is added, corrected and withdrawn; a held number is refused"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        IdType = pool.get('spp.id.type')
        Identifier = pool.get('party.identifier')
        people = setup_people()
        users = people['users']
        IdType.create([{'name': "Card", 'code': 'card', 'unique': True,
                    'validator': 'luhn'}])
        ana = people['ana']
        request = new_request('add_id', ana, users['requester'],
            id_type='card', id_number='79927398713')
        attach(request, 'id_copy')
        self.decide_all(request, people)
        identifier, = Identifier.search([('party', '=', ana.id)])
        self.assertEqual(identifier.code, '79927398713')

        wrong = new_request('add_id', people['juan'], users['requester'],
            id_type='card', id_number='79927398710')
        held = new_request('add_id', people['juan'], users['requester'],
            id_type='card', id_number='79927398713')
        for request in [wrong, held]:
            attach(request, 'id_copy')
            with as_user(users['requester']), self.assertRaises(UserError):
                ChangeRequest.submit([request])

        correct = new_request('correct_id', ana, users['requester'],
            identifier=identifier.id, id_number='4111111111111111')
        attach(correct, 'id_copy')
        self.decide_all(correct, people)
        self.assertEqual(Identifier(identifier.id).code, '4111111111111111')

        withdraw = new_request('withdraw_id', ana, users['requester'],
            identifier=identifier.id)
        self.decide_all(withdraw, people)
        self.assertFalse(Identifier(identifier.id).active)

    @with_transaction()
    def test_exit_registrant_leaves_programs(self):
        "A death disables the registrant and exits its program memberships"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        people = setup_people()
        ana = people['ana']
        program = create_program(target='individual', code='GRANT')
        membership, = Membership.create([{'program': program.id,
                    'registrant': ana.id, 'state': 'enrolled'}])
        request = new_request('exit_registrant', ana,
            people['users']['requester'], exit_reason='death',
            reason="Died on 2 December")
        attach(request, 'evidence')
        self.decide_all(request, people)
        ana = Party(ana.id)
        self.assertTrue(ana.disabled)
        self.assertIn(request.reference, ana.disabled_reason)
        membership = Membership(membership.id)
        self.assertEqual(membership.state, 'exited')
        self.assertIn("Death", membership.exit_reason)

    @with_transaction()
    def test_custom_field_edit(self):
        "An edit kind may change a custom field, checked by its type"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        CustomField = pool.get('spp.custom_field')
        KindField = pool.get('spp.change_request.kind.field')
        Party = pool.get('party.party')
        people = setup_people()
        users = people['users']
        CustomField.create([{'name': 'rooms', 'string': "Rooms",
                    'type_': 'integer', 'applies_to': 'individual'}])
        # The specs are cached per transaction.
        Transaction().get_cache().pop('_spp_change_request_fields', None)
        edit = new_request('edit_individual', people['ana'],
            users['requester'], proposed={'occupation': "x"})
        KindField.create([{'kind': edit.kind.id, 'field': 'cf_rooms'}])
        bad = new_request('edit_individual', people['ana'],
            users['requester'], proposed={'cf_rooms': "three"})
        with as_user(users['requester']), self.assertRaises(UserError):
            ChangeRequest.submit([bad])
        ChangeRequest.cancel([edit, bad])
        good = new_request('edit_individual', people['ana'],
            users['requester'], proposed={'cf_rooms': 3})
        self.decide_all(good, people)
        self.assertEqual(Party(people['ana'].id).custom_values['rooms'], 3)

    @with_transaction()
    def test_audit_entries(self):
        "Submitting, deciding and applying are audit entries"
        Log = Pool().get('spp.audit.log')
        people = setup_people()
        request = new_request('edit_individual', people['ana'],
            people['users']['requester'], proposed={'occupation': "Baker"})
        self.decide_all(request, people)
        Log.flush()
        actions = [e.action for e in Log.search([
                    ('model', '=', 'spp.change_request')],
                order=[('position', 'ASC')])]
        for action in ['create', 'submit', 'approved', 'applied']:
            self.assertIn(action, actions)
        # The registrant's change, written in SQL, is recorded as the
        # registry's writes are (merged, in this one transaction, into the
        # entry of the registrant's creation).
        entry, = Log.search([('model', '=', 'party.party'),
                ('action', 'in', ['create', 'write']),
                ('record_id', '=', people['ana'].id)])
        self.assertEqual(json.loads(entry.changes)['occupation'],
            [None, "Baker"])

    @with_transaction()
    def test_edit_recomputes_indicators(self):
        "A corrected birth date changes the household's indicators"
        Party = Pool().get('party.party')
        people = setup_people()
        self.assertEqual(Party(people['household'].id).child_count, 1)
        request = new_request('edit_individual', people['juan'],
            people['users']['requester'],
            proposed={'birth_date': years_ago(30), 'given_name': "Juanito"})
        self.decide_all(request, people)
        juan = Party(people['juan'].id)
        self.assertEqual((juan.name, juan.name_key),
            ("Santos, Juanito", "santos, juanito"))
        self.assertEqual(Party(people['household'].id).child_count, 0)


def role_exists(code):
    Role = Pool().get('spp.group.membership.role')
    return bool(Role.search([('code', '=', code)]))
