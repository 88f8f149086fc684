"""Area rules on program and cycle memberships: who is in which program is
personal data, limited to the user's areas exactly as registrants are
(area_rules.xml), on every path that reads them."""
from contextlib import contextmanager

from trytond.model.exceptions import AccessError
from trytond.modules.spp_programs.tests.test_module import (
    create_program, population, prepared_cycle)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access


def area_user(login, groups, areas=()):
    """A user of `groups` ('module.xml_id') and registry `areas`."""
    User = Pool().get('res.user')
    user, = User.create([{
                'name': login, 'login': login,
                'groups': [('add', [get_ref(*g.split('.')) for g in groups])],
                'spp_areas': [('add', [a.id for a in areas])],
                }])
    # Tests roll back, so a user id (and its cached groups) comes again.
    User._get_groups_cache.clear()
    return user


@contextmanager
def as_user(user):
    "Act as `user` with access checks on."
    with Transaction().set_user(user.id), check_access():
        yield


def missing_id(Model):
    "An id no record of Model has."
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.id, order_by=[table.id.desc],
            limit=1))
    row = cursor.fetchone()
    return (row[0] if row else 0) + 1000


def assert_hidden_as_missing(test, Model, record_id, names):
    """Reading the hidden record `record_id` is refused with the answer a
    missing record gets; exporting it is refused."""
    missing = missing_id(Model)
    answers = []
    for id_ in [record_id, missing]:
        with test.assertRaises(AccessError) as raised:
            Model.read([id_], names)
        answers.append(raised.exception.message.replace(str(id_), 'N'))
    test.assertEqual(answers[0], answers[1])
    test.assertNotIn("areas", answers[0])
    with test.assertRaises(AccessError):
        Model.export_data([Model(record_id)], names)


class AreaRulesTestCase(ActivatedModuleTestCase):
    "Program and cycle memberships follow their registrant's area rules"

    module = 'spp_programs'

    def setup_program(self):
        """Households with a child in districts A and B enrolled in a
        program whose first cycle is prepared; return (areas, household
        of A, household of B, program, cycle)."""
        areas = create_areas()
        child_a, child_b, _ = population(areas)
        program = create_program('child_count >= 1')
        cycle = prepared_cycle(program)
        return areas, child_a, child_b, program, cycle

    @with_transaction()
    def test_other_areas_memberships_hidden(self):
        "A viewer of district A finds, counts, reads no membership of B"
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        CycleMembership = pool.get('spp.cycle.membership')
        areas, child_a, child_b, program, cycle = self.setup_program()
        own, = Membership.search([('registrant', '=', child_a.id)])
        other, = Membership.search([('registrant', '=', child_b.id)])
        own_cycle, = CycleMembership.search(
            [('registrant', '=', child_a.id)])
        other_cycle, = CycleMembership.search(
            [('registrant', '=', child_b.id)])
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        with as_user(viewer):
            for Model, own_record, other_record in [
                    (Membership, own, other),
                    (CycleMembership, own_cycle, other_cycle)]:
                with self.subTest(model=Model.__name__):
                    self.assertEqual(Model.search([]), [own_record])
                    self.assertEqual(Model.search_count([]), 1)
                    self.assertEqual(Model.search_count(
                            [('registrant', '=', child_b.id)]), 0)
                    self.assertEqual(Model.search(
                            [('registrant.name', 'ilike', '%Child B%')]), [])
                    assert_hidden_as_missing(self, Model, other_record.id,
                        ['registrant', 'state' if Model is Membership
                            else 'cycle'])
                    self.assertEqual(Model.export_data(
                            [Model(own_record.id)], ['registrant/name']),
                        [["Child A"]])
            # The Program Beneficiaries search box finds no one of B.
            self.assertEqual(Membership.search(
                    [('rec_name', 'ilike', '%Child B%')]), [])

    @with_transaction()
    def test_lists_behind_forms_follow_the_rules(self):
        "The registrant's Programs tab and the program's and cycle's "
        "beneficiaries list only the user's area; counts stay whole"
        pool = Pool()
        Party = pool.get('party.party')
        Program = pool.get('spp.program')
        Cycle = pool.get('spp.cycle')
        Membership = pool.get('spp.program.membership')
        areas, child_a, child_b, program, cycle = self.setup_program()
        own, = Membership.search([('registrant', '=', child_a.id)])
        own_cycle, = pool.get('spp.cycle.membership').search(
            [('registrant', '=', child_a.id)])
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        with as_user(viewer):
            record, = Party.read([child_a.id], ['program_memberships'])
            self.assertEqual(list(record['program_memberships']), [own.id])
            self.assertEqual(Party.export_data([Party(child_a.id)],
                    ['program_memberships/program/name']),
                [["Program CG"]])
            record, = Program.read([program.id],
                ['memberships', 'draft_count', 'enrolled_count'])
            self.assertEqual(list(record['memberships']), [own.id])
            # A program's counts are figures, not people: whole program.
            self.assertEqual(record['enrolled_count'], 2)
            record, = Cycle.read([cycle.id],
                ['memberships', 'beneficiary_count'])
            self.assertEqual(list(record['memberships']), [own_cycle.id])
            self.assertEqual(record['beneficiary_count'], 2)
            # An export that would follow the list to B's member is
            # refused, as a household's members of another area are.
            with self.assertRaises(AccessError):
                Program.export_data([Program(program.id)],
                    ['memberships/registrant/name'])

    @with_transaction()
    def test_registrant_moving_out_takes_memberships(self):
        "The rule reads the registrant's area now, not the snapshot"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        CycleMembership = pool.get('spp.cycle.membership')
        areas, child_a, child_b, program, cycle = self.setup_program()
        viewer = area_user('view_a', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']])
        Party.write([child_a], {'area': areas['TL-N-B'].id})
        own, = Membership.search([('registrant', '=', child_a.id)])
        self.assertEqual(own.area, areas['TL-N-A'])
        with as_user(viewer):
            self.assertEqual(Membership.search([]), [])
            self.assertEqual(CycleMembership.search([]), [])

    @with_transaction()
    def test_who_sees_everything(self):
        "Sub-areas, program managers and validators see every membership; "
        "a manager limited to an area is limited as for registrants"
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        CycleMembership = pool.get('spp.cycle.membership')
        areas, child_a, child_b, program, cycle = self.setup_program()
        both = Membership.search([], order=[('id', 'ASC')])
        self.assertEqual(len(both), 2)
        region = area_user('view_n', ['spp_registry.group_registry_viewer'],
            [areas['TL-N']])
        manager = area_user('manager', ['spp_programs.group_program_manager'])
        approver = area_user('approver',
            ['spp_programs.group_cycle_approver'])
        validator = area_user('validator_a', [
                'spp_registry.group_registry_viewer',
                'spp_registry.group_registry_validator'], [areas['TL-N-A']])
        for user in [region, manager, approver, validator]:
            with self.subTest(user=user.login), as_user(user):
                self.assertEqual(
                    Membership.search([], order=[('id', 'ASC')]), both)
                self.assertEqual(CycleMembership.search_count([]), 2)
                Membership.read(list(map(int, both)), ['registrant'])
        manager_a = area_user('manager_a', [
                'spp_programs.group_program_manager',
                'spp_registry.group_registry_viewer'], [areas['TL-N-A']])
        with as_user(manager_a):
            self.assertEqual(
                [m.registrant for m in Membership.search([])], [child_a])
            # And changes only those.
            other, = [m for m in both if m.registrant == child_b]
            with self.assertRaises(AccessError):
                Membership.write([Membership(other.id)],
                    {'exit_reason': "Moved"})

    @with_transaction()
    def test_without_the_group_refused(self):
        "A registrar (no program group) may not read memberships at all"
        pool = Pool()
        Membership = pool.get('spp.program.membership')
        CycleMembership = pool.get('spp.cycle.membership')
        areas, child_a, child_b, program, cycle = self.setup_program()
        own, = Membership.search([('registrant', '=', child_a.id)])
        own_cycle, = CycleMembership.search(
            [('registrant', '=', child_a.id)])
        registrar = area_user('reg_a', ['spp_registry.group_registrar'],
            [areas['TL-N-A']])
        nobody = area_user('nobody', [])
        for user in [registrar, nobody]:
            with self.subTest(user=user.login), as_user(user):
                for Model, record in [(Membership, own),
                        (CycleMembership, own_cycle)]:
                    with self.assertRaises(AccessError):
                        Model.search([])
                    with self.assertRaises(AccessError):
                        Model.read([record.id], ['registrant'])
