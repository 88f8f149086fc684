import datetime as dt

from sql import Column

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import (
    as_user, attach, create_user, get_ref, new_request, setup_people)


class ChangeRequestTestCase(ModuleTestCase):
    "Change requests"
    module = 'spp_change_request'
    extras = ['spp_custom_field', 'spp_programs', 'spp_audit']

    @with_transaction()
    def test_edit_individual_end_to_end(self):
        "An edit is submitted, approved by the area's validator and applied"
        pool = Pool()
        Party = pool.get('party.party')
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'given_name': "Anna", 'phone': '+27 82 555 0101',
                'birth_date': dt.date(1990, 5, 17)})
        self.assertTrue(request.reference.startswith('CR-'))
        self.assertEqual(request.area, people['areas']['TL-N-A'])
        preview = {line.key: (line.current, line.proposed)
            for line in request.lines}
        self.assertEqual(preview['given_name'], ("Ana", "Anna"))
        self.assertEqual(preview['phone'], ('', '+27 82 555 0101'))

        with as_user(users['requester']):
            ChangeRequest.submit([request])
        request = ChangeRequest(request.id)
        self.assertEqual(request.state, 'submitted')
        self.assertEqual(request.stage.name, "Local validation")

        with as_user(users['validator_a']):
            self.assertEqual(ChangeRequest.search(
                    [('waiting_for_me', '=', True)]), [request])
            outcome = ChangeRequest.decide([request], 'approve', "Seen ID")
        self.assertEqual(outcome['applied'], [request.id])
        request = ChangeRequest(request.id)
        self.assertEqual(request.state, 'applied')
        ana = Party(ana.id)
        self.assertEqual(ana.given_name, "Anna")
        self.assertEqual(ana.name, "Santos, Anna")
        self.assertEqual(ana.birth_date, dt.date(1990, 5, 17))
        self.assertEqual([m.value for m in ana.contact_mechanisms],
            ['+27 82 555 0101'])
        self.assertEqual(ana.change_request, request)
        self.assertEqual([d.action for d in request.decisions],
            ['submitted', 'approved', 'applied'])
        self.assertEqual(request.decisions[1].user, users['validator_a'])
        self.assertEqual(request.decisions[1].comment, "Seen ID")

    @with_transaction()
    def test_history_names_the_request(self):
        "The registrant's revision made by applying names the request"
        pool = Pool()
        Party = pool.get('party.party')
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Teacher"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        with as_user(users['validator_a']):
            ChangeRequest.decide([request], 'approve')
        history = Party.__table_history__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*history.select(history.occupation,
                history.change_request, where=history.id == ana.id,
                order_by=[Column(history, '__id').desc], limit=1))
        self.assertEqual(cursor.fetchone(), ("Teacher", request.id))

    @with_transaction()
    def test_refused_at_submit(self):
        "What the registry would refuse is refused at submit, nothing changed"
        ChangeRequest = Pool().get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        today = Pool().get('ir.date').today()
        for proposed in [
                {'birth_date': today + dt.timedelta(days=3)},
                {'gender': 'nobody'},
                {'phone': 'not a phone'},
                {'income': -5},
                {'birth_date': 'yesterday'},
                {'registration_date': '2020-01-01'},
                {},
                ]:
            request = new_request('edit_individual', ana,
                users['requester'], proposed=proposed)
            with as_user(users['requester']), \
                    self.assertRaises(UserError, msg=proposed):
                ChangeRequest.submit([request])
            self.assertEqual(ChangeRequest(request.id).state, 'draft')

    @with_transaction()
    def test_requester_never_validates(self):
        "The requester cannot decide its own request, even as a validator"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        User = pool.get('res.user')
        people = setup_people()
        ana, users = people['ana'], people['users']
        User.write([users['requester']], {'groups': [('add', [get_ref(
                            'spp_change_request', 'group_local_validator')])]})
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Farmer"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
            self.assertEqual(ChangeRequest.search(
                    [('waiting_for_me', '=', True)]), [])
            with self.assertRaises(UserError) as refused:
                ChangeRequest.decide([request], 'approve')
        self.assertIn("another person", str(refused.exception))
        self.assertEqual(ChangeRequest(request.id).state, 'submitted')

    @with_transaction()
    def test_stage_group_and_area(self):
        "Another area's validator and a non-validator cannot decide"
        ChangeRequest = Pool().get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Farmer"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        # validator_b cannot even see it; the HQ validator is not of the
        # stage's group.
        with as_user(users['validator_b']):
            self.assertEqual(ChangeRequest.search([]), [])
            self.assertEqual(ChangeRequest.decide([request], 'approve'),
                {'approved': [], 'applied': [], 'sent_back': {}})
        with as_user(users['hq']), self.assertRaises(UserError) as refused:
            ChangeRequest.decide([request], 'approve')
        self.assertIn("Local Validator", str(refused.exception))
        self.assertEqual(ChangeRequest(request.id).state, 'submitted')

    @with_transaction()
    def test_two_stages_and_revision(self):
        "A move waits for the local then the HQ stage; a revision goes back"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        Membership = pool.get('spp.group.membership')
        people = setup_people()
        users = people['users']
        request = new_request('move_member', people['household'],
            users['requester'], individual=people['juan'].id,
            target_group=people['other'].id)
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        with as_user(users['validator_a']):
            with self.assertRaises(UserError):
                ChangeRequest.decide([request], 'revision', '')
            ChangeRequest.decide([request], 'revision', "Which date?")
        request = ChangeRequest(request.id)
        self.assertEqual(request.state, 'revision')
        with as_user(users['requester']):
            ChangeRequest.write([request],
                {'effective_date': Pool().get('ir.date').today()})
            ChangeRequest.submit([request])
        with as_user(users['validator_a']):
            ChangeRequest.decide([request], 'approve')
        request = ChangeRequest(request.id)
        self.assertEqual(request.status, "HQ validation (2 of 2)")
        with as_user(users['hq']):
            outcome = ChangeRequest.decide([request], 'approve')
        self.assertEqual(outcome['applied'], [request.id])
        current = Membership.search([('individual', '=', people['juan'].id),
                ('current', '=', True)])
        self.assertEqual([m.group for m in current], [people['other']])
        self.assertEqual([d.action for d in request.decisions], [
                'submitted', 'revision', 'resubmitted', 'approved',
                'approved', 'applied'])

    @with_transaction()
    def test_stale_request_goes_back(self):
        "A registrant changed after submission stops the apply"
        pool = Pool()
        Party = pool.get('party.party')
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'given_name': "Anna"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        Party.write([ana], {'given_name': "Ane"})
        with as_user(users['validator_a']):
            outcome = ChangeRequest.decide([request], 'approve')
        self.assertEqual(outcome['applied'], [])
        self.assertEqual(outcome['sent_back'], {request.id: [
                    ("Given Name", "Ana", "Ane")]})
        request = ChangeRequest(request.id)
        self.assertEqual(request.state, 'submitted')
        self.assertEqual(request.stage.name, "Local validation")
        self.assertEqual(Party(ana.id).given_name, "Ane")
        self.assertIn("Ana → Ane", request.decisions[-1].comment)
        # Reviewed again, on what the registrant is now, it applies.
        self.assertEqual(request.lines[0].current, "Ane")
        with as_user(users['validator_a']):
            ChangeRequest.decide([request], 'approve')
        self.assertEqual(Party(ana.id).given_name, "Anna")

    @with_transaction()
    def test_conflicts_warn_and_block(self):
        "Two open requests on the same field show each other, or block"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        Kind = pool.get('spp.change_request.kind')
        people = setup_people()
        ana, users = people['ana'], people['users']
        first = new_request('edit_individual', ana, users['requester'],
            proposed={'given_name': "Anna"})
        second = new_request('edit_individual', ana, users['requester'],
            proposed={'given_name': "Annie", 'occupation': "Nurse"})
        third = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Cook"})
        self.assertEqual(first.conflicts, (second,))
        self.assertEqual(set(second.conflicts), {first, third})
        with as_user(users['requester']):
            ChangeRequest.submit([first])
            with self.assertRaises(UserError) as blocked:
                ChangeRequest.submit([second])
        self.assertIn(first.reference, str(blocked.exception))
        Kind.write([first.kind], {'conflict_policy': 'warn'})
        with as_user(users['requester']):
            ChangeRequest.submit([second])

    @with_transaction()
    def test_documents_required(self):
        "A kind's required documents must be attached before submit"
        ChangeRequest = Pool().get('spp.change_request')
        people = setup_people()
        users = people['users']
        request = new_request('exit_registrant', people['eva'],
            users['admin'], exit_reason='death')
        with as_user(users['admin']):
            with self.assertRaises(UserError) as refused:
                ChangeRequest.submit([request])
            self.assertIn("Supporting evidence", str(refused.exception))
            attach(request, 'evidence')
            ChangeRequest.submit([request])
        self.assertEqual(ChangeRequest(request.id).state, 'submitted')

    @with_transaction()
    def test_disabled_registrant(self):
        "No change is requested for a disabled registrant"
        pool = Pool()
        Party = pool.get('party.party')
        ChangeRequest = pool.get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Farmer"})
        Party.disable([ana], "Deceased")
        with as_user(users['requester']), self.assertRaises(UserError):
            ChangeRequest.submit([request])

    @with_transaction()
    def test_locked_after_submit(self):
        "A submitted proposal is not edited, over RPC as in the client"
        ChangeRequest = Pool().get('spp.change_request')
        people = setup_people()
        ana, users = people['ana'], people['users']
        request = new_request('edit_individual', ana, users['requester'],
            proposed={'occupation': "Farmer"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
            with self.assertRaises(AccessError):
                ChangeRequest.write([request],
                    {'proposed': {'occupation': "Thief"}})
            ChangeRequest.write([request], {'notes': "Called back"})

    @with_transaction()
    def test_read_paths_follow_areas(self):
        "Another area's user and a user without the groups read nothing"
        pool = Pool()
        ChangeRequest = pool.get('spp.change_request')
        Line = pool.get('spp.change_request.line')
        Decision = pool.get('spp.change_request.decision')
        User = pool.get('res.user')
        people = setup_people()
        users = people['users']
        request = new_request('edit_individual', people['ana'],
            users['requester'], proposed={'occupation': "Farmer"})
        with as_user(users['requester']):
            ChangeRequest.submit([request])
        nobody, = User.create([{'name': "Nobody", 'login': 'nobody'}])
        other = create_user('other_requester', ['user'],
            [people['areas']['TL-N-B']])
        for user in [users['validator_b'], other]:
            with as_user(user):
                self.assertEqual(ChangeRequest.search([]), [])
                self.assertEqual(ChangeRequest.search_count([]), 0)
                self.assertEqual(Line.search([]), [])
                self.assertEqual(Decision.search([]), [])
                with self.assertRaises(AccessError):
                    ChangeRequest.read([request.id], ['reference'])
                with self.assertRaises(AccessError):
                    ChangeRequest.export_data([request], ['reference'])
                self.assertEqual(ChangeRequest.export_data_domain(
                        [], ['reference']), [])
        with as_user(nobody):
            for call in [lambda: ChangeRequest.search([]),
                    lambda: ChangeRequest.read([request.id], ['reference']),
                    lambda: Line.search([])]:
                with self.assertRaises(AccessError):
                    call()
        with as_user(users['hq']):
            self.assertEqual(ChangeRequest.search([]), [request])
        # The registrant's count is the reader's.
        with as_user(users['requester']):
            party, = pool.get('party.party').read(
                [people['ana'].id], ['open_change_requests'])
        self.assertEqual(party['open_change_requests'], 1)

    @with_transaction()
    def test_proposed_keys_offer_current_options(self):
        "The gender key offers a gender added after install"
        pool = Pool()
        Gender = pool.get('spp.gender')
        KindField = pool.get('spp.change_request.kind.field')
        Gender.create([{'name': "Unknown", 'code': 'unknown'}])
        keys = {k['name']: k for k in KindField.get_keys(KindField.search(
                    [('kind.code', '=', 'edit_individual')]))}
        self.assertIn(('unknown', "Unknown"), keys['gender']['selection'])
        self.assertEqual(keys['birth_date']['type'], 'date')


del ModuleTestCase
