import datetime as dt

from trytond import backend
from trytond.model.exceptions import ForeignKeyError
from trytond.model.modelview import AccessButtonError
from trytond.modules.spp_programs.copied import CopiedReferenceError
from trytond.modules.spp_programs.exceptions import (
    CycleError, MembershipError, ProgramError)
from trytond.modules.spp_programs.rule import RuleError, compile_rule
from trytond.modules.spp_programs.tests.tools import (
    foreign_keys, hot_updatable)
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def create_currency():
    Currency = Pool().get('currency.currency')
    currency, = Currency.create([{
                'name': "Test Dollar", 'code': 'TSD', 'symbol': '$'}])
    return currency


def create_program(rule=None, target='group', exclusion=None, code='CG',
        recurrence='monthly', **values):
    Program = Pool().get('spp.program')
    program, = Program.create([{
                'name': f"Program {code}", 'code': code,
                'target_type': target,
                'currency': create_currency().id,
                'eligibility_rule': rule,
                'exclusion_rule': exclusion,
                'recurrence': recurrence,
                **values,
                }])
    Program.activate([program])
    return program


def population(areas):
    """Three households: two with a young child (one in A, one in B) and
    one without children in A."""
    with_child_a, _ = create_household("Child A", [
            {'family_name': "Ana", 'birth_date': years_ago(30),
                'roles': ['head']},
            {'family_name': "Bebe", 'birth_date': years_ago(2),
                'roles': ['child']},
            ], area=areas['TL-N-A'])
    with_child_b, _ = create_household("Child B", [
            {'family_name': "Bia", 'birth_date': years_ago(25),
                'roles': ['head']},
            {'family_name': "Caca", 'birth_date': years_ago(3),
                'roles': ['child']},
            ], area=areas['TL-N-B'])
    adults_a, _ = create_household("Adults A", [
            {'family_name': "Dede", 'birth_date': years_ago(65),
                'roles': ['head']},
            ], area=areas['TL-N-A'])
    return with_child_a, with_child_b, adults_a


def states(program):
    Membership = Pool().get('spp.program.membership')
    return {m.registrant.name: m.state for m in Membership.search([
                ('program', '=', program.id)])}


def prepared_cycle(program):
    "Import, enrol and the program's first cycle, prepared."
    pool = Pool()
    Program = pool.get('spp.program')
    Cycle = pool.get('spp.cycle')
    Program.import_eligible([program])
    Program.enrol([program])
    Program.new_cycle([program])
    cycle, = Cycle.search([('program', '=', program.id)])
    Cycle.prepare([cycle])
    return cycle


def create_user(login, *groups):
    pool = Pool()
    User = pool.get('res.user')
    user, = User.create([{
                'name': login, 'login': login,
                'groups': [('add', [get_ref(*g.split('.')) for g in groups])],
                }])
    # Tests roll back, so a user id (and its cached groups) comes again.
    User._get_groups_cache.clear()
    return user


class ProgramsTestCase(ModuleTestCase):
    "Test Programs module"
    module = 'spp_programs'

    @with_transaction()
    def test_rule_compile(self):
        "Rules compile to domains; areas include their descendants"
        areas = create_areas()
        female = get_ref('spp_registry', 'gender_female')
        a = areas['TL-N-A'].id
        self.assertEqual(
            compile_rule('age >= 60 and area in "District A"'),
            [('age', '>=', 60), ('area', 'child_of', [a], 'parent')])
        self.assertEqual(
            compile_rule('child_count >= 1 or not (female_head)'),
            ['OR', ('child_count', '>=', 1), ('female_head', '=', False)])
        self.assertEqual(
            compile_rule('not (age < 18 or area in "TL-N-A")'),
            [('age', '>=', 18), ('area', 'not child_of', [a], 'parent')])
        self.assertEqual(
            compile_rule('gender = "Female" and birth_date is set'),
            [('gender', 'in', [female]), ('birth_date', '!=', None)])
        self.assertEqual(
            compile_rule("registrant_type in ['group'] and name contains 'x'"),
            [('registrant_type', 'in', ['group']), ('name', 'ilike', '%x%')])
        self.assertEqual(
            compile_rule('memberships.individual.age < 5'),
            [('memberships.individual.age', '<', 5)])
        self.assertEqual(
            compile_rule('birth_date < "2000-01-31"'),
            [('birth_date', '<', dt.date(2000, 1, 31))])
        self.assertEqual(compile_rule('  '), [])

    @with_transaction()
    def test_rule_errors(self):
        "Invalid rules are refused with a message naming the problem"
        create_areas()
        for rule, message in [
                ('salary > 10', r'"salary".*not a registrant field'),
                ('memberships.pet = "cat"',
                    r'"memberships.pet".*not a registrant field'),
                ('female_head > 1', r'operator ">" .*"female_head"'),
                ('name < "M"', r'operator "<" .*"name"'),
                ('age', r'After "age" .*comparison such as >= 60'),
                ('age >= "old"', r"'old'.*\"age\".*whole number"),
                ('area in "Atlantis"', r"'Atlantis'.*\"area\".*no Area"),
                ('birth_date = "yesterday"', r'"birth_date".*YYYY-MM-DD'),
                ('registrant_type = "family"', r'"registrant_type".*one of'),
                ('age >= ', r'character 8.*expected a value'),
                ('age >= 60 and', r'expected a field name'),
                ('(age >= 60', r'expected "\)"'),
                ('age >= 60 $', r'unexpected character "\$"'),
                ]:
            with self.subTest(rule=rule):
                with self.assertRaisesRegex(RuleError, message):
                    compile_rule(rule)

    @with_transaction()
    def test_rule_checked_on_save(self):
        "A program with an invalid rule cannot be saved"
        Program = Pool().get('spp.program')
        with self.assertRaisesRegex(RuleError, 'salary'):
            create_program('salary > 10')
        program = create_program('age >= 60', target='individual')
        with self.assertRaisesRegex(RuleError, 'agee'):
            Program.write([program], {'exclusion_rule': 'agee < 70'})
        self.assertEqual(program.rule_status, "The rule is valid.")

    @with_transaction()
    def test_import_enrol_verify(self):
        "Import, enrol and verify follow the rule; disabled never match"
        pool = Pool()
        Party = pool.get('party.party')
        Program = pool.get('spp.program')
        Membership = pool.get('spp.group.membership')
        areas = create_areas()
        child_a, child_b, adults_a = population(areas)
        program = create_program(
            'child_count >= 1 and area in "North"',
            exclusion='area in "District B"')
        self.assertEqual(program.eligible_count, 1)
        program = create_program('child_count >= 1', code='CG2')
        self.assertEqual(program.eligible_count, 2)

        Party.disable([child_b], "Moved abroad")
        program = Program(program.id)
        self.assertEqual(program.eligible_count, 1)
        Party.enable_registrant([child_b])

        Program.import_eligible([program])
        Program.import_eligible([program])  # idempotent
        self.assertEqual(states(program),
            {'Child A': 'draft', 'Child B': 'draft'})

        # Child B's child leaves before enrolment.
        Membership.end([m for m in child_b.memberships
                if m.individual.name.startswith("Caca")])
        Program.enrol([program])
        self.assertEqual(states(program),
            {'Child A': 'enrolled', 'Child B': 'not_eligible'})
        program = Program(program.id)
        self.assertEqual(
            (program.enrolled_count, program.not_eligible_count), (1, 1))

        # The child comes back: verification re-enrols with a reason.
        Membership.create([{'group': child_b.id,
                    'individual': Party.search(
                        [('name', 'like', 'Caca%')])[0].id}])
        Program.verify_eligibility([program])
        self.assertEqual(states(program),
            {'Child A': 'enrolled', 'Child B': 'enrolled'})
        Party.disable([child_a], "Deceased")
        Program.verify_eligibility([program])
        self.assertEqual(states(program),
            {'Child A': 'not_eligible', 'Child B': 'enrolled'})

    @with_transaction()
    def test_import_and_enrol(self):
        "Import and enrol in one pass gives the result of the two steps"
        pool = Pool()
        Party = pool.get('party.party')
        Program = pool.get('spp.program')
        GroupMembership = pool.get('spp.group.membership')
        ProgramMembership = pool.get('spp.program.membership')
        Run = pool.get('spp.program.run')
        areas = create_areas()
        child_a, child_b, adults_a = population(areas)
        dede, = Party.search([('name', 'like', 'Dede%')])
        GroupMembership.create([{'group': child_a.id, 'individual': dede.id}])
        two_steps = create_program('member_count >= 1', code='TWO')
        Program.import_eligible([two_steps])
        Program.enrol([two_steps])
        one_pass = create_program('member_count >= 1', code='ONE')

        Program.import_and_enrol([one_pass])
        self.assertEqual(states(one_pass), states(two_steps))
        self.assertEqual(states(one_pass), {'Child A': 'duplicated',
                'Child B': 'enrolled', 'Adults A': 'duplicated'})
        members = ProgramMembership.search(
            [('program', '=', one_pass.id)])
        today = pool.get('ir.date').today()
        self.assertEqual({(m.enrolment_date, m.state_date) for m in members},
            {(today, today)})
        run, = Run.search([('program', '=', one_pass.id)])
        self.assertEqual((run.action, run.state, run.processed),
            ('import_and_enrol', 'done', 5))

        # A re-run changes nothing; drafts of an earlier import are
        # re-checked as Enrol does.
        Program.import_and_enrol([one_pass])
        self.assertEqual(ProgramMembership.search_count(
                [('program', '=', one_pass.id)]), 3)
        later = create_program('child_count >= 1', code='LATER')
        Program.import_eligible([later])
        self.assertEqual(states(later),
            {'Child A': 'draft', 'Child B': 'draft'})
        GroupMembership.end([m for m in child_b.memberships
                if m.individual.name.startswith("Caca")])
        Program.import_and_enrol([later])
        self.assertEqual(states(later),
            {'Child A': 'enrolled', 'Child B': 'not_eligible'})

    @with_transaction()
    def test_pause_resume_exit(self):
        "Selected members can be paused, resumed and exited"
        pool = Pool()
        Program = pool.get('spp.program')
        ProgramMembership = pool.get('spp.program.membership')
        areas = create_areas()
        population(areas)
        program = create_program('child_count >= 1')
        Program.import_eligible([program])
        Program.enrol([program])
        first, second = ProgramMembership.search(
            [('program', '=', program.id)])
        ProgramMembership.pause([first, second])
        ProgramMembership.resume([first])
        second.exit_reason = "Graduated"
        second.save()
        ProgramMembership.exit([second])
        self.assertEqual((first.state, second.state), ('enrolled', 'exited'))
        self.assertEqual(second.exit_date, pool.get('ir.date').today())

    @with_transaction()
    def test_ended_program_refuses_enrolment(self):
        "An ended program refuses enrolment and cancels its open cycles"
        pool = Pool()
        Program = pool.get('spp.program')
        ProgramMembership = pool.get('spp.program.membership')
        Cycle = pool.get('spp.cycle')
        areas = create_areas()
        child_a, _, _ = population(areas)
        program = create_program('child_count >= 1')
        Program.new_cycle([program])
        Program.new_cycle([program])
        cycle1, cycle2 = Cycle.search([], order=[('sequence', 'ASC')])
        Cycle.prepare([cycle1])
        Cycle.submit([cycle1])
        Program.end([program])
        self.assertEqual((cycle1.state, cycle2.state),
            ('cancelled', 'cancelled'))
        for action in [Program.import_eligible, Program.enrol,
                Program.new_cycle]:
            with self.assertRaisesRegex(ProgramError, 'not active'):
                action([program])
        with self.assertRaisesRegex(ProgramError, 'not active'):
            ProgramMembership.add_manually(program, child_a)

    @with_transaction()
    def test_add_manually(self):
        "Add manually checks the rule unless a manager forces it"
        pool = Pool()
        areas = create_areas()
        ProgramMembership = pool.get('spp.program.membership')
        child_a, _, adults_a = population(areas)
        program = create_program('child_count >= 1')
        member = ProgramMembership.add_manually(program, child_a)
        self.assertEqual((member.state, member.forced), ('enrolled', False))
        with self.assertRaisesRegex(MembershipError, 'does not match'):
            ProgramMembership.add_manually(program, adults_a)
        with self.assertRaisesRegex(MembershipError, 'reason'):
            ProgramMembership.add_manually(program, adults_a, force=True)
        clerk = create_user('clerk', 'spp_registry.group_registrar')
        with Transaction().set_user(clerk.id):
            with self.assertRaisesRegex(MembershipError, 'program manager'):
                ProgramMembership.add_manually(
                    program, adults_a, force=True, reason="Flood")
        member = ProgramMembership.add_manually(
            program, adults_a, force=True, reason="Flood victims")
        self.assertEqual((member.state, member.forced), ('enrolled', True))

    @with_transaction()
    def test_cycles_recurrence(self):
        "New cycles follow the recurrence; a one-off program has one"
        Program = Pool().get('spp.program')
        Cycle = Pool().get('spp.cycle')
        create_areas()
        program = create_program('', recurrence='quarterly',
            start_date=dt.date(2026, 1, 1))
        Program.new_cycle([program])
        Program.new_cycle([program])
        cycles = Cycle.search([('program', '=', program.id)],
            order=[('sequence', 'ASC')])
        self.assertEqual(
            [(c.sequence, c.start_date, c.end_date) for c in cycles], [
                (1, dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
                (2, dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
                ])
        one_off = create_program('', code='ONE', recurrence='one_off',
            start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 1, 31))
        Program.new_cycle([one_off])
        with self.assertRaisesRegex(CycleError, 'one-off'):
            Program.new_cycle([one_off])

    @with_transaction()
    def test_cycle_prepare_and_approval(self):
        "Cycle beneficiaries are a refreshable snapshot; four-eyes approval"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        ProgramMembership = pool.get('spp.program.membership')
        areas = create_areas()
        population(areas)
        program = create_program('child_count >= 1')
        cycle = prepared_cycle(program)
        self.assertEqual(cycle.beneficiary_count, 2)
        member = ProgramMembership.search([('program', '=', program.id)])[0]
        ProgramMembership.pause([member])
        Cycle.prepare([cycle])
        self.assertEqual(Cycle(cycle.id).beneficiary_count, 1)

        approver = create_user('approver', 'spp_programs.group_cycle_approver')
        manager = create_user('manager', 'spp_programs.group_program_manager',
            'spp_programs.group_cycle_approver')
        context = {'_check_access': True}
        with Transaction().set_user(manager.id), \
                Transaction().set_context(context):
            Cycle.submit([Cycle(cycle.id)])
            with self.assertRaisesRegex(CycleError, 'another Cycle Approver'):
                Cycle.approve([Cycle(cycle.id)])
        clerk = create_user('clerk', 'spp_registry.group_registry_viewer')
        with Transaction().set_user(clerk.id), \
                Transaction().set_context(context):
            with self.assertRaises(AccessButtonError):
                Cycle.approve([Cycle(cycle.id)])
        with Transaction().set_user(approver.id), \
                Transaction().set_context(context):
            Cycle.approve([Cycle(cycle.id)])
        cycle = Cycle(cycle.id)
        self.assertEqual((cycle.state, cycle.approved_by),
            ('approved', approver))
        self.assertTrue(cycle.approved_at)
        with self.assertRaisesRegex(CycleError, 'not draft'):
            Cycle.prepare([cycle])

    @with_transaction()
    def test_second_run_refused(self):
        "A queued action locks the program; a second start is refused"
        pool = Pool()
        Program = pool.get('spp.program')
        Queue = pool.get('ir.queue')
        areas = create_areas()
        population(areas)
        program = create_program('child_count >= 1')
        with Transaction().set_context(spp_programs_queue_threshold=0):
            Program.import_eligible([program])
            program = Program(program.id)
            self.assertEqual(program.running_action, 'import_eligible')
            self.assertEqual(states(program), {})
            for action in [Program.import_eligible, Program.enrol]:
                with self.assertRaisesRegex(ProgramError, 'already running'):
                    action([program])
        task, = Queue.search([], order=[('id', 'DESC')], limit=1)
        task.run()
        task.run()  # a re-run after a crash gives the same result
        program = Program(program.id)
        self.assertEqual(program.running_action, None)
        self.assertEqual(program.last_action, 'import_eligible')
        self.assertEqual(states(program),
            {'Child A': 'draft', 'Child B': 'draft'})

    @with_transaction()
    def test_run_progress(self):
        "Each start records a run whose progress follows the batches"
        pool = Pool()
        Program = pool.get('spp.program')
        Queue = pool.get('ir.queue')
        Run = pool.get('spp.program.run')
        areas = create_areas()
        population(areas)
        program = create_program('child_count >= 1')
        context = dict(spp_programs_queue_threshold=0,
            spp_programs_batch_size=3)
        with Transaction().set_context(context):
            Program.import_eligible([program])
            run, = Run.search([('program', '=', program.id)])
            self.assertEqual((run.action, run.state, run.queued, run.total),
                ('import_eligible', 'queued', True, 2))
            self.assertEqual(run.progress, 0)
            task, = Queue.search([], order=[('id', 'DESC')], limit=1)
            task.run()
        run = Run(run.id)
        self.assertEqual(run.state, 'done')
        self.assertEqual(run.progress, 1)
        self.assertEqual(run.processed, 2)
        self.assertGreater(run.batches, 1)
        self.assertEqual(run.batches_done, run.batches)
        self.assertTrue(run.started_at and run.ended_at)
        self.assertEqual(Program(program.id).runs, (run,))

        # Small populations run at once; the run is done with the request.
        Program.enrol([program])
        enrol, = Run.search([('action', '=', 'enrol')])
        self.assertEqual((enrol.state, enrol.queued, enrol.processed,
                enrol.progress), ('done', False, 2, 1))
        self.assertEqual(Program(program.id).runs, (enrol, run))

    @with_transaction()
    def test_deduplication(self):
        "A person in two enrolled households, or a shared ID, is flagged"
        pool = Pool()
        Program = pool.get('spp.program')
        Party = pool.get('party.party')
        GroupMembership = pool.get('spp.group.membership')
        ProgramMembership = pool.get('spp.program.membership')
        areas = create_areas()
        child_a, child_b, adults_a = population(areas)
        program = create_program('member_count >= 1')
        dede, = Party.search([('name', 'like', 'Dede%')])
        GroupMembership.create([{'group': child_a.id, 'individual': dede.id}])
        Program.import_eligible([program])
        Program.enrol([program])
        self.assertEqual(states(program), {'Child A': 'duplicated',
                'Child B': 'enrolled', 'Adults A': 'duplicated'})
        first, = ProgramMembership.search([
                ('program', '=', program.id),
                ('registrant', '=', child_a.id)])
        ProgramMembership.mark_not_duplicate([first])
        Program.deduplicate([program])
        self.assertEqual(states(program)['Child A'], 'enrolled')

        people = create_program(
            'age >= 18', target='individual', code='IND')
        IdType = pool.get('spp.id.type')
        IdType.create([{'name': "Ration Card", 'code': 'ration_card',
                    'unique': False}])
        ana, bia = Party.search([('name', 'in', ['Ana', 'Bia'])])
        Party.write([ana], {'identifiers': [('create', [
                            {'type': 'ration_card', 'code': 'R-1'}])]})
        Party.write([bia], {'identifiers': [('create', [
                            {'type': 'ration_card', 'code': 'R-1'}])]})
        Program.import_eligible([people])
        Program.enrol([people])
        self.assertEqual(states(people), {'Ana': 'duplicated',
                'Bia': 'duplicated', 'Dede': 'enrolled'})
        dupes = ProgramMembership.search([
                ('program', '=', people.id), ('state', '=', 'duplicated')])
        self.assertEqual({m.duplicate_reason for m in dupes}, {'shared_id'})

    @with_transaction()
    def test_deduplication_type_made_unique(self):
        "A number entered before its type became unique is still compared"
        pool = Pool()
        Program = pool.get('spp.program')
        Party = pool.get('party.party')
        IdType = pool.get('spp.id.type')
        population(create_areas())
        voter, = IdType.create([{'name': "Voter Card", 'code': 'voter',
                    'unique': False}])
        ana, bia = Party.search([('name', 'in', ['Ana', 'Bia'])])
        Party.write([ana], {'identifiers': [('create', [
                            {'type': 'voter', 'code': 'V-1'}])]})
        # Made unique before the registry checked the numbers already
        # entered (an old database): Ana's number has no unique code, so
        # the database does not stop Bia from getting the same one.
        id_type = IdType.__table__()
        Transaction().connection.cursor().execute(*id_type.update(
                [id_type.unique], [True], where=id_type.id == voter.id))
        Transaction().get_cache().pop('_spp_id_types', None)
        Party.write([bia], {'identifiers': [('create', [
                            {'type': 'voter', 'code': 'V-1'}])]})
        people = create_program(
            'age >= 18', target='individual', code='IND')
        Program.import_eligible([people])
        Program.enrol([people])
        self.assertEqual(states(people), {'Ana': 'duplicated',
                'Bia': 'duplicated', 'Dede': 'enrolled'})

    @with_transaction()
    def test_cycle_membership_copied_references(self):
        "A beneficiary's registrant and area are those of its membership"
        pool = Pool()
        CycleMembership = pool.get('spp.cycle.membership')
        ProgramMembership = pool.get('spp.program.membership')
        areas = create_areas()
        child_a, _, adults = population(areas)
        prepared_cycle(create_program('child_count >= 1'))
        beneficiary = CycleMembership.search([
                ('registrant', '=', child_a.id)])[0]
        member = beneficiary.program_membership
        self.assertEqual((beneficiary.area, member.area),
            (areas['TL-N-A'], areas['TL-N-A']))

        # (Each refused write leaves its change behind until the
        # transaction is rolled back, as a caller's error does.)
        with self.assertRaisesRegex(CopiedReferenceError,
                'The Area must be that of the Program Membership '
                '"Child A @ Program CG"'):
            CycleMembership.write([beneficiary],
                {'area': areas['TL-N-B'].id})
        with self.assertRaisesRegex(CopiedReferenceError, 'Registrant'):
            CycleMembership.write([beneficiary],
                {'registrant': adults.id})
        # A member who was a beneficiary stays on record.
        with self.assertRaises(ForeignKeyError):
            ProgramMembership.delete([member])

        if backend.name == 'postgresql':
            self.assertEqual(foreign_keys(
                    'spp_cycle_membership', 'spp_program_membership'), {
                    'spp_cycle_membership': {'cycle', 'program_membership'},
                    'spp_program_membership': {
                        'program', 'registrant', 'duplicate_decided_by'},
                    })
            # Enrolment changes the state of every imported member.
            self.assertTrue(
                hot_updatable('spp_program_membership', 'state'))
            self.assertFalse(hot_updatable('spp_program_membership',
                    'registrant'))


del ModuleTestCase
