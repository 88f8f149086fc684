import datetime as dt
from unittest.mock import patch

from trytond import backend
from trytond.exceptions import UserError
from trytond.model import ModelSQL, fields
from trytond.model.exceptions import AccessButtonError
from trytond.modules.party.tests import PartyCheckReplaceMixin
from trytond.modules.spp_registry.similarity import (
    has_trigram_extension, trigram_similarity)
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, create_household, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

BORN = dt.date(1985, 3, 14)


def person(name=None, birth_date=BORN, **values):
    "An individual named `name` (as typed) or from name parts."
    Party = Pool().get('party.party')
    if name:
        values['name'] = name
    individual, = Party.create([{
                'registrant_type': 'individual', 'birth_date': birth_date,
                **values}])
    return individual


def pairs(reason=None, state=None):
    "{(name a, name b): duplicate} of the listed rows."
    Duplicate = Pool().get('spp.registry.duplicate')
    domain = []
    if reason:
        domain.append(('reason', '=', reason))
    if state:
        domain.append(('state', '=', state))
    return {(d.individual_a.name, d.individual_b.name): d
        for d in Duplicate.search(domain)}


def set_threshold(threshold):
    Configuration = Pool().get('spp.registry.configuration')
    Configuration.write([Configuration(1)], {
            'duplicate_threshold': threshold})


class DuplicateTestCase(PartyCheckReplaceMixin, ActivatedModuleTestCase):
    "Test registry duplicates"

    module = 'spp_registry'

    def test_trigram_similarity(self):
        "The Python score is pg_trgm's similarity"
        self.assertEqual(trigram_similarity(
                "perez, maria jose", "maria jose perez"), 1.0)
        self.assertAlmostEqual(trigram_similarity(
                "perez, maria jose", "peres, maria jose"), 15 / 19)
        self.assertAlmostEqual(trigram_similarity("ab", "abc"), 0.4)
        self.assertEqual(trigram_similarity("x", ""), 0.0)

    @with_transaction()
    def test_trigram_similarity_sql(self):
        "On PostgreSQL, pg_trgm is installed and scores as Python does"
        if backend.name != 'postgresql':
            self.skipTest("PostgreSQL only")
        self.assertTrue(has_trigram_extension())
        cursor = Transaction().connection.cursor()
        for a, b in [
                ("perez, maria jose", "peres, maria jose"),
                ("dias, rosa", "diaz, rosa maria"),
                ("o'neil, x_y 12", "oneil, xy 12"),
                ("jean-luc", "jean luc")]:
            cursor.execute('SELECT similarity(%s, %s)', (a, b))
            score, = cursor.fetchone()
            self.assertAlmostEqual(score, trigram_similarity(a, b), places=6)

    @with_transaction()
    def test_probable_duplicates(self):
        "Same birth date and similar names are listed; others are not"
        Duplicate = Pool().get('spp.registry.duplicate')
        maria = person(family_name="Pérez", given_name="María José")
        twin = person("Maria Jose  Perez")
        person(family_name="Santos", given_name="Ana")
        person(family_name="Pérez", given_name="María José",
            birth_date=BORN + dt.timedelta(days=1))

        counts = Duplicate.detect()
        self.assertEqual(counts['probable'], 1)
        found = pairs('probable')
        self.assertEqual(list(found), [(maria.name, twin.name)])
        duplicate, = found.values()
        self.assertEqual(duplicate.score, 1.0)
        self.assertEqual(duplicate.state, 'to_review')
        self.assertEqual(duplicate.kept, maria)
        self.assertLess(duplicate.individual_a.id, duplicate.individual_b.id)

    @with_transaction()
    def test_threshold(self):
        "The configured threshold decides how similar names must be"
        Duplicate = Pool().get('spp.registry.duplicate')
        person(family_name="Pérez", given_name="María José")
        person(family_name="Peres", given_name="Maria Jose")

        Duplicate.detect()
        self.assertFalse(pairs('probable'))
        set_threshold(0.7)
        Duplicate.detect()
        duplicate, = pairs('probable').values()
        self.assertAlmostEqual(duplicate.score, 15 / 19, places=5)

    @with_transaction()
    def test_approximate_birth_year(self):
        "An approximate birth date is compared within its year"
        Duplicate = Pool().get('spp.registry.duplicate')
        guess = person(family_name="Pereira", given_name="José",
            birth_date=dt.date(1980, 1, 1), birth_date_approximate=True)
        exact = person(family_name="Pereira", given_name="Jose",
            birth_date=dt.date(1980, 7, 15))
        person(family_name="Pereira", given_name="Jose",
            birth_date=dt.date(1981, 7, 15))

        Duplicate.detect(approximate_years=False)
        self.assertFalse(pairs('probable'))
        Duplicate.detect()
        self.assertEqual(
            list(pairs('probable')), [(guess.name, exact.name)])

    @with_transaction()
    def test_python_and_sql_scores_agree(self):
        "Detection lists the same pairs with or without pg_trgm"
        Duplicate = Pool().get('spp.registry.duplicate')
        set_threshold(0.5)
        for family, given in [
                ("Pérez", "María José"), ("Perez", "Maria"),
                ("Peres", "Maria Jose"), ("Santos", "Ana"),
                ("Santos", "Ana Maria"), ("Dias", "Rosa")]:
            person(family_name=family, given_name=given)
        with patch('trytond.modules.spp_registry.detection'
                '.has_trigram_extension', return_value=False):
            Duplicate.detect(['probable'])
        in_python = {k: d.score for k, d in pairs('probable').items()}
        Duplicate.delete(Duplicate.search([]))
        Duplicate.detect(['probable'])
        in_backend = {k: d.score for k, d in pairs('probable').items()}
        self.assertEqual(in_python.keys(), in_backend.keys())
        self.assertGreaterEqual(len(in_python), 4)
        for key, score in in_python.items():
            self.assertAlmostEqual(score, in_backend[key], places=5)

    @with_transaction()
    def test_incremental_runs(self):
        "Later runs compare what changed; a lower threshold compares all"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Run = pool.get('spp.registry.duplicate.run')
        Party = pool.get('party.party')
        maria = person(family_name="Pérez", given_name="María José")
        twin = person("Maria Jose  Perez")
        person(family_name="Peres", given_name="Maria Jose")
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.update(
                [party.create_date, party.write_date],
                [dt.datetime(2020, 1, 1), None]))
        person("Rui Dias")

        self.assertEqual(Duplicate.detect(['probable']), {'probable': 1})
        first_run, = Run.search([])
        self.assertIsNone(first_run.since)
        self.assertGreater(first_run.watermark, dt.datetime(2020, 1, 1))
        self.assertEqual(first_run.probable_count, 1)

        # Unchanged pairs are not compared again (a deleted row stays
        # away) until a full run.
        Duplicate.delete(Duplicate.search([]))
        late = person("Pérez María José")
        Duplicate.detect(['probable'])
        second_run = Run.search([])[0]
        self.assertEqual(second_run.since,
            first_run.watermark - dt.timedelta(days=1))
        self.assertEqual(set(pairs('probable')), {
                (maria.name, late.name), (twin.name, late.name)})
        Duplicate.detect(['probable'], full=True)
        self.assertIsNone(Run.search([])[0].since)
        self.assertIn((maria.name, twin.name), pairs('probable'))

        # A lower threshold needs everyone compared: done anyway.
        set_threshold(0.7)
        Duplicate.detect(['probable'])
        self.assertIsNone(Run.search([])[0].since)
        self.assertEqual(len(pairs('probable')), 6)

    @with_transaction()
    def test_rerun_and_not_duplicate_remembered(self):
        "Detection is idempotent and never lists a rejected pair again"
        Duplicate = Pool().get('spp.registry.duplicate')
        person(family_name="Pérez", given_name="María José")
        person("Maria Jose  Perez")

        self.assertEqual(Duplicate.detect()['probable'], 1)
        self.assertEqual(Duplicate.detect()['probable'], 0)
        duplicate, = Duplicate.search([])
        Duplicate.mark_not_duplicate([duplicate])
        self.assertEqual(duplicate.state, 'not_duplicate')
        self.assertEqual(duplicate.reviewed_by.id, Transaction().user)
        self.assertTrue(duplicate.reviewed_at)

        self.assertEqual(Duplicate.detect()['probable'], 0)
        self.assertEqual(Duplicate.search([]), [duplicate])
        self.assertEqual(duplicate.state, 'not_duplicate')

        Duplicate.reopen([duplicate])
        self.assertEqual(duplicate.state, 'to_review')
        self.assertIsNone(duplicate.reviewed_by)

    def _create_pairs(self, *pairs):
        Duplicate = Pool().get('spp.registry.duplicate')
        one, two = person("One"), person("Two")
        ids = {'one': one.id, 'two': two.id}
        Duplicate.create([{'individual_a': ids[a], 'individual_b': ids[b],
                    'reason': reason} for a, b, reason in pairs])

    @with_transaction()
    def test_pair_unique(self):
        "A pair is listed once per reason (database constraint)"
        self._create_pairs(
            ('one', 'two', 'probable'), ('one', 'two', 'same_id'))
        with self.assertRaises(UserError):
            self._create_pairs(
                ('one', 'two', 'probable'), ('one', 'two', 'probable'))

    @with_transaction()
    def test_pair_order(self):
        "A pair lists the older individual first (database constraint)"
        with self.assertRaises(UserError):
            self._create_pairs(('two', 'one', 'probable'))

    @with_transaction()
    def test_pair_same_individual(self):
        "Only the several-groups finding names one individual twice"
        self._create_pairs(('one', 'one', 'multiple_groups'))
        with self.assertRaises(UserError):
            self._create_pairs(('two', 'two', 'probable'))

    @with_transaction()
    def test_merge_keeps_ids_and_memberships(self):
        "Confirming a pair merges the newer registrant into the older"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Relationship = pool.get('spp.relationship')
        Kind = pool.get('spp.relationship.kind')
        female = get_ref('spp_registry', 'gender_female')

        north, (maria,) = create_household("North household", [{
                    'family_name': "Pérez", 'given_name': "María José",
                    'birth_date': BORN, 'roles': ['head']}])
        south, (twin, child) = create_household("South household", [
                {'name': "Maria Jose  Perez", 'birth_date': BORN,
                    'gender': female, 'roles': ['head']},
                {'name': "Tiago Perez", 'birth_date': dt.date(2015, 1, 1),
                    'roles': ['child']}])
        Identifier.create([
                {'party': maria.id, 'type': 'national_id',
                    'code': '1000000008'},
                {'party': twin.id, 'type': 'passport', 'code': 'P123456'},
                ])
        parent_of, = Kind.search([('code', '=', 'parent_of')])
        relationship, = Relationship.create([{
                    'source': twin.id, 'kind': parent_of.id,
                    'destination': child.id}])
        third = person("Perez Maria Jose")

        Duplicate.detect()
        duplicate = pairs('probable')[(maria.name, twin.name)]
        self.assertIn((twin.name, third.name), pairs('probable'))
        Duplicate.mark_duplicate([duplicate])

        self.assertEqual(duplicate.state, 'duplicate')
        self.assertEqual(duplicate.reviewed_by.id, Transaction().user)
        twin = Party(twin.id)
        self.assertFalse(twin.active)
        self.assertEqual(twin.replaced_by, maria)
        self.assertTrue(twin.disabled)
        self.assertIn(maria.name, twin.disabled_reason)

        maria = Party(maria.id)
        self.assertEqual(
            sorted((i.type, i.code) for i in maria.identifiers),
            [('national_id', '1000000008'), ('passport', 'P123456')])
        self.assertEqual(
            {m.group for m in maria.group_memberships}, {north, south})
        self.assertEqual(maria.gender.id, female)
        self.assertEqual(Relationship(relationship.id).source, maria)
        self.assertEqual(Party(south.id).member_count, 2)
        self.assertTrue(Party(south.id).female_head)
        self.assertTrue(maria.multiple_groups)
        # The kept registrant is now in two households: listed at once.
        self.assertIn((maria.name, maria.name), pairs('multiple_groups'))
        # Pending rows of the merged registrant are gone, those of the kept
        # one stay.
        self.assertNotIn((twin.name, third.name), pairs())
        self.assertIn((maria.name, third.name), pairs('probable'))
        Duplicate.detect()
        self.assertNotIn((twin.name, third.name), pairs())

    @with_transaction()
    def test_merge_batch(self):
        "Confirming rows that overlap merges each record once"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Party = pool.get('party.party')
        first = person("Maria Jose Perez")
        others = [person("Maria Jose  Pérez"), person("Perez, Maria Jose")]
        Duplicate.detect()
        self.assertEqual(len(pairs('probable')), 3)
        Duplicate.mark_duplicate(Duplicate.search([]))

        self.assertTrue(Party(first.id).active)
        self.assertFalse(any(Party(p.id).active for p in others))
        self.assertFalse(pairs(state='to_review'))
        self.assertEqual(Party.search([
                    ('registrant_type', '=', 'individual')]), [first])

    @with_transaction()
    def test_merge_in_same_household(self):
        "Merging two members of a household leaves one membership"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Party = pool.get('party.party')
        household, (maria, twin, _) = create_household("Household", [
                {'name': "Maria Perez", 'birth_date': BORN,
                    'roles': ['head']},
                {'name': "Maria  Pérez", 'birth_date': BORN,
                    'roles': ['spouse']},
                {'name': "Rui Perez", 'birth_date': BORN}])
        self.assertEqual(household.member_count, 3)
        Duplicate.detect()
        duplicate, = pairs('probable').values()
        duplicate.kept = twin
        duplicate.save()
        Duplicate.mark_duplicate([duplicate])

        self.assertEqual(Party(household.id).member_count, 2)
        self.assertFalse(Party(maria.id).active)
        current = [m for m in Party(twin.id).group_memberships if m.current]
        self.assertEqual([m.role_names for m in current], ["Spouse"])
        self.assertFalse(Party(twin.id).multiple_groups)

    @with_transaction()
    def test_multiple_groups(self):
        "An individual in two households is listed; confirming ends one"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        Membership = pool.get('spp.group.membership')
        Party = pool.get('party.party')
        first, (ana,) = create_household("First", [
                {'name': "Ana Santos", 'birth_date': BORN}])
        second, _ = create_household("Second", [
                {'name': "Rui Santos", 'birth_date': BORN}])
        Membership.create([{'group': second.id, 'individual': ana.id}])
        self.assertTrue(Party(ana.id).multiple_groups)

        self.assertEqual(Duplicate.detect()['multiple_groups'], 1)
        self.assertEqual(Duplicate.detect()['multiple_groups'], 0)
        duplicate, = pairs('multiple_groups').values()
        self.assertEqual(duplicate.individual_a, duplicate.individual_b)
        self.assertEqual(duplicate.kept_group, first)
        self.assertEqual(set(duplicate.groups_a), {first, second})

        Duplicate.mark_duplicate([duplicate])
        self.assertEqual(duplicate.state, 'duplicate')
        self.assertFalse(Party(ana.id).multiple_groups)
        self.assertEqual(Party(second.id).member_count, 1)
        self.assertEqual(Party(first.id).member_count, 1)

        # In two groups again: the confirmed row is reopened.
        third, _ = create_household("Third", [])
        Membership.create([{'group': third.id, 'individual': ana.id}])
        Duplicate.detect()
        self.assertEqual(Duplicate(duplicate.id).state, 'to_review')

    @with_transaction()
    def test_same_id(self):
        "A number held twice of a type made unique without a check is listed"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        IdType = pool.get('spp.id.type')
        Identifier = pool.get('party.identifier')
        card, = IdType.create([{
                    'name': "Ration Card", 'code': 'ration_card',
                    'unique': False}])
        one, two = person("Ana Santos"), person("Rui Dias")
        Identifier.create([
                {'party': one.id, 'type': 'ration_card', 'code': 'R1'},
                {'party': two.id, 'type': 'ration_card', 'code': 'R1'}])

        Duplicate.detect()
        self.assertFalse(pairs('same_id'))
        # The registry now refuses to make this type unique; a database
        # where it was made unique before that check can hold such numbers.
        id_type = IdType.__table__()
        Transaction().connection.cursor().execute(*id_type.update(
                [id_type.unique], [True], where=id_type.id == card.id))
        Duplicate.detect()
        duplicate, = pairs('same_id').values()
        self.assertEqual(duplicate.individual_a, one)
        self.assertEqual(duplicate.score, 1.0)

    @with_transaction()
    def test_merge_refuses_other_type(self):
        "An individual cannot be merged into a group"
        Replace = Pool().get('party.replace', type='wizard')
        household, (ana,) = create_household("Household", [
                {'name': "Ana Santos", 'birth_date': BORN}])
        with self.assertRaises(UserError):
            Replace.merge_registrants(ana, household)

    @with_transaction()
    def test_registry_references_replaced(self):
        "Every registry reference to a party moves when parties merge"
        pool = Pool()
        Replace = pool.get('party.replace', type='wizard')
        replaced = set(Replace.fields_to_replace())
        ignored = {
            ('spp.registry.duplicate', 'individual_a'),
            ('spp.registry.duplicate', 'individual_b'),
            ('spp.registry.duplicate', 'kept'),
            ('spp.registry.duplicate', 'kept_group'),
            }
        for model_name, Model in pool.iterobject():
            if (not model_name.startswith('spp.')
                    or not issubclass(Model, ModelSQL)):
                continue
            for name, field in Model._fields.items():
                if (isinstance(field, fields.Many2One)
                        and not isinstance(field, fields.Function)
                        and field.model_name == 'party.party'
                        and (model_name, name) not in ignored):
                    self.assertIn((model_name, name), replaced)

    @with_transaction()
    def test_review_buttons_access(self):
        "Only validators and administrators decide"
        pool = Pool()
        Duplicate = pool.get('spp.registry.duplicate')
        User = pool.get('res.user')
        area = create_areas()['TL-N-A']
        person(family_name="Pérez", given_name="María José", area=area.id)
        person("Maria Jose  Perez", area=area.id)
        Duplicate.detect()
        duplicate, = Duplicate.search([])
        registrar, validator = User.create([{
                    'name': "Registrar", 'login': 'registrar',
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [area.id])],
                    }, {
                    'name': "Validator", 'login': 'validator',
                    'groups': [('add', [get_ref(
                                    'spp_registry',
                                    'group_registry_validator')])],
                    }])
        with Transaction().set_user(registrar.id), check_access():
            self.assertEqual(Duplicate.search([]), [duplicate])
            with self.assertRaises(AccessButtonError):
                Duplicate.mark_not_duplicate([Duplicate(duplicate.id)])
        with Transaction().set_user(validator.id), check_access():
            Duplicate.mark_not_duplicate([Duplicate(duplicate.id)])
        self.assertEqual(Duplicate(duplicate.id).state, 'not_duplicate')
        self.assertEqual(Duplicate(duplicate.id).reviewed_by, validator)

    @with_transaction()
    def test_detect_wizard(self):
        "The wizard detects the kinds asked and shows the counts"
        pool = Pool()
        Detect = pool.get('spp.registry.duplicate.detect', type='wizard')
        person(family_name="Pérez", given_name="María José")
        person("Maria Jose  Perez")
        session_id, _, _ = Detect.create()
        detect = Detect(session_id)
        self.assertEqual(detect.start.threshold, 0.8)
        detect.start.same_id = detect.start.multiple_groups = False
        self.assertEqual(detect.transition_detect(), 'result')
        self.assertEqual(
            detect.default_result(['probable', 'same_id']),
            {'probable': 1, 'same_id': 0})
