"""CRVS life events: the six process flows of the DCI CRVS use cases end
to end against a fake civil registry that speaks the standard's messages
(the sample records of tests/data/crvs), and the bad input.

Every message sent or received is validated against the registry core
spec (tests/data/dci_registry_core_api_v1.0.0.yaml). Notifications go
through the inbound route's own checks (origin, signature, replay) and
dispatch, without the HTTP layer (tests/test_dci_client_crvs.py sends
them over HTTP to a live server)."""
import copy
import datetime as dt
import functools
import json
import unittest
from unittest import mock
from decimal import Decimal
from pathlib import Path


from trytond.exceptions import UserError
from trytond.modules.spp_api.dci_signature import sign
from trytond.modules.spp_dci_client import inbound, search, transport
from trytond.modules.spp_programs.tests.test_module import (
    create_program, create_user)
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, drop_db
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .fake_registry import search_response
from . import spec
from .tools import MODULES, create_registry, fake_registry

DATA = Path(__file__).resolve().parent / 'data'
NOTIFY = ('#/paths/~1registry~1notify/post/requestBody/content/'
    'application~1json/schema')
SYNC_SEARCH = ('#/paths/~1registry~1sync~1search/post/requestBody/content/'
    'application~1json/schema')
SYNC_SEARCH_ANSWER = ('#/paths/~1registry~1sync~1search/post/responses/'
    'default/content/application~1json/schema')


def validate(instance, pointer):
    spec.validate('dci_registry_core_api_v1.0.0.yaml', instance, pointer)


@functools.lru_cache
def sample_record(flow):
    "The CRVS_Person of a process flow's sample answer."
    body = json.loads((DATA / 'crvs' / f'{flow}res.json').read_text())
    return body['message']['search_response'][0]['data']['reg_records'][0]


def luhn(digits):
    "digits + their Luhn check digit (a valid national ID number)."
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def crvs_person(uin, flow='processflow3', birth_date=None, death_date=None,
        given_name=None, family_name=None, sex='female', marital='M',
        parent=None, brn=None, area=None):
    "A sample CRVS_Person of the standard with our person's values."
    record = copy.deepcopy(sample_record(flow))
    record['identifier'] = [{'@id': 'Identifier', '@type': 'Identifier',
            'identifier_type': 'UIN', 'identifier_value': uin}] if uin else []
    if brn:
        record['identifier'].append({'@id': 'Identifier',
                '@type': 'Identifier', 'identifier_type': 'BRN',
                'identifier_value': brn})
    record['birth_date'] = birth_date.isoformat() if birth_date else ''
    record['death_date'] = death_date.isoformat() if death_date else ''
    record['sex'] = sex
    record['marital_status'] = marital
    if given_name or family_name:
        record['name'].update(given_name=given_name or '',
            surname=family_name or '')
    for key in ('parent1_identifier', 'parent2_identifier'):
        record.pop(key, None)
    if parent:
        record['parent1_identifier'] = {'@id': 'Identifier',
            '@type': 'Identifier', 'identifier_type': 'UIN',
            'identifier_value': parent}
    for address in record['address']:
        address.pop('sub_region_code', None)
        address['region_code'] = area or 'XX-UNKNOWN'
    return record


def notify_message(code, records):
    """A NotifyEventRequest of records: one notify_event each, as the
    spec's reg_records is one RegistryRecord object."""
    return {'transaction_id': code, 'notify_event': [{
                'reference_id': code, 'timestamp': transport.now_iso(),
                'data': {'version': '1.0.0', 'reg_record_type': 'person',
                    'reg_records': record}} for record in records]}


class CrvsMixin:
    "A database of `modules`, a fake civil registry and the world."
    modules = []

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(cls.modules)
        cls.fake = fake_registry()
        # {UIN: birth date} the fake civil registry holds.
        cls.fake.people = {}
        cls.fake.handlers[search.SYNC_SEARCH] = cls.answer_search

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        drop_db()

    def setUp(self):
        transport.tokens.tokens.clear()
        self.fake.calls.clear()
        self.fake.people.clear()
        self.fake.bad_signature = False

    @classmethod
    def answer_search(cls, body):
        "Flow 1/2 answers: the CRVS_Person of each idtype-value query."
        validate(body, SYNC_SEARCH)
        responses = []
        for item in body['message']['search_request']:
            query = item['search_criteria']['query']
            birth_date = cls.fake.people.get(query['value'])
            records = [crvs_person(query['value'], 'processflow2',
                    birth_date=birth_date)] if birth_date else []
            responses.extend(search_response(records, item['reference_id'])[
                    'search_response'])
        return 200, {'transaction_id': body['message']['transaction_id'],
            'correlation_id': 'c', 'search_response': responses}

    # -- the world ---------------------------------------------------------
    def world(self, registry_areas=()):
        """Areas; a CRVS registry with its code mappings; subscriptions to
        deaths and births; the Silva household of district A (a married
        couple in their seventies and a child), the Costa household of
        district B, Pedro (72) of district A living alone."""
        pool = Pool()
        Subscription = pool.get('spp.dci.client.subscription')
        areas = create_areas()
        registry = create_registry(self.fake, code='crvs', mappings=[
                ('create', [
                        {'category': 'identifier_type',
                            'external_code': 'UIN',
                            'internal_code': 'national_id'},
                        {'category': 'identifier_type',
                            'external_code': 'BRN',
                            'internal_code': 'birth_certificate'},
                        {'category': 'marital_status', 'external_code': 'M',
                            'internal_code': 'married'},
                        {'category': 'event_type', 'external_code': 'DEATH',
                            'internal_code': 'death'},
                        ])],
            areas=[('add', [a.id for a in registry_areas])])
        deaths, births = Subscription.create([
                {'registry': registry.id, 'event_type': 'death',
                    'state': 'active', 'code': 'SUB-DEATH'},
                {'registry': registry.id, 'event_type': 'live_birth',
                    'state': 'active', 'code': 'SUB-BIRTH',
                    'areas': [('add', [areas['TL-N-A'].id])]},
                ])
        female = get_ref('spp_registry', 'gender_female')
        male = get_ref('spp_registry', 'gender_male')
        ids = {name: luhn(f'{number:09d}') for number, name in enumerate(
                ['joao', 'maria', 'ana', 'rita', 'pedro', 'nobody'],
                start=700000001)}

        def nid(name):
            return [('create', [{'type': 'national_id',
                            'code': ids[name]}])]
        silva, (joao, maria, ana) = create_household("Silva", [
                {'family_name': "Silva", 'given_name': "Joao",
                    'birth_date': years_ago(74), 'gender': male,
                    'civil_status': 'married', 'identifiers': nid('joao'),
                    'roles': ['head']},
                {'family_name': "Silva", 'given_name': "Maria",
                    'birth_date': years_ago(71), 'gender': female,
                    'civil_status': 'married', 'identifiers': nid('maria'),
                    'roles': ['spouse']},
                {'family_name': "Silva", 'given_name': "Ana",
                    'birth_date': years_ago(5), 'gender': female,
                    'identifiers': nid('ana'), 'roles': ['child']},
                ], area=areas['TL-N-A'])
        costa, (rita,) = create_household("Costa", [
                {'family_name': "Costa", 'given_name': "Rita",
                    'birth_date': years_ago(30), 'gender': female,
                    'identifiers': nid('rita'), 'roles': ['head']},
                ], area=areas['TL-N-B'])
        pedro, = pool.get('party.party').create([{
                    'registrant_type': 'individual', 'family_name': "Reis",
                    'given_name': "Pedro", 'birth_date': years_ago(72),
                    'gender': male, 'area': areas['TL-N-A'].id,
                    'identifiers': nid('pedro')}])
        return {'areas': areas, 'registry': registry, 'deaths': deaths,
            'births': births, 'ids': ids, 'silva': silva, 'joao': joao,
            'maria': maria, 'ana': ana, 'costa': costa, 'rita': rita,
            'pedro': pedro}

    def notify(self, world, subscription, records, message_id=None,
            registry=None):
        """Deliver a signed notification as the inbound route does (origin,
        signature, replay, dispatch); the message is validated against
        the spec first. Return the exchange or raise inbound.Refused."""
        pool = Pool()
        Exchange = pool.get('spp.dci.exchange')
        registry = registry or world['registry']
        code = subscription if isinstance(subscription, str) else (
            subscription.code)
        message = notify_message(code, records)
        body = self.fake.envelope({'sender_id': registry.sender_id},
            message, action='notify')
        if message_id:
            body['header']['message_id'] = message_id
            body['signature'] = sign(body, self.fake.other_key
                if self.fake.bad_signature else self.fake.key, 'ed25519',
                f'{self.fake.sender_id}|1|ed25519')
        validate(body, NOTIFY)
        inbound.check_origin(registry, body, 'notify')
        if inbound.replayed(pool, registry, body['header']['message_id']):
            raise inbound.Refused(409, 'rjct.message_id.duplicate', "")
        exchange, = Exchange.create([{'registry': registry.id,
                    'direction': 'in', 'action': 'notify',
                    'endpoint': '/registry/notify',
                    'message_id': body['header']['message_id'],
                    'state': 'done'}])
        with Transaction().set_user(0):
            exchange.records = inbound.dispatch(pool, registry, 'notify',
                message, exchange)
        exchange.save()
        return exchange

    def exchanges_in_transaction(self):
        """Outbound exchanges written in the test's transaction: the
        transport writes them in a transaction of its own (committed
        whatever becomes of the caller's), which on PostgreSQL cannot see
        the registry this test's transaction created."""
        Exchange = Pool().get('spp.dci.exchange')

        def record(cls, values):
            return cls.create([{**values, 'user': Transaction().user,
                        'timestamp': dt.datetime.now()}])
        return mock.patch.object(Exchange, 'record', classmethod(record))

    def events(self, **domain):
        LifeEvent = Pool().get('spp.dci.life.event')
        return LifeEvent.search([(k, '=', v) for k, v in domain.items()],
            order=[('id', 'ASC')])



class CrvsTestCase(CrvsMixin, unittest.TestCase):
    "CRVS life events and birth date verification"
    modules = ['spp_dci_client', 'spp_programs', 'spp_entitlement']

    # -- flow 1 and 2: searches by identifier, verified birth dates --------
    @with_transaction()
    def test_flow1_verify_with_crvs(self):
        "Flow 1: a person searched by UIN; the birth date is verified"
        pool = Pool()
        Party = pool.get('party.party')
        world = self.world()
        pedro = world['pedro']
        self.fake.people[world['ids']['pedro']] = pedro.birth_date
        with self.exchanges_in_transaction():
            Party.verify_with_crvs([pedro])
        pedro = Party(pedro.id)
        self.assertEqual((pedro.birth_date_check, pedro.birth_date_source),
            ('verified', world['registry']))
        self.assertEqual(pedro.birth_date_verified,
            pool.get('ir.date').today())
        body, = self.fake.calls_to(search.SYNC_SEARCH)
        criteria = body['message']['search_request'][0]['search_criteria']
        self.assertEqual(criteria['query'], {'type': 'UIN',
                'value': world['ids']['pedro']})
        exchange, = pool.get('spp.dci.exchange').search([
                ('direction', '=', 'out')])
        self.assertNotIn(world['ids']['pedro'], exchange.asked)
        # A birth date changed by hand is no longer verified.
        Party.write([pedro], {'birth_date': years_ago(73)})
        self.assertIsNone(Party(pedro.id).birth_date_check)

    @with_transaction()
    def test_flow2_old_age_requires_verified_birth_date(self):
        "Flow 2: old-age enrolment needs a birth date the CRVS confirmed"
        pool = Pool()
        Party = pool.get('party.party')
        Program = pool.get('spp.program')
        Membership = pool.get('spp.program.membership')
        world = self.world()
        pedro, maria = world['pedro'], world['maria']
        program = create_program('age >= 70', target='individual',
            code='OLD', crvs_birth_date_required=True)
        self.assertEqual(program.on_change_with_eligible_count(), 0)
        # Joao is unknown to the CRVS; Maria's date differs there.
        self.fake.people[world['ids']['pedro']] = pedro.birth_date
        self.fake.people[world['ids']['maria']] = dt.date(1950, 1, 2)
        with self.exchanges_in_transaction():
            Program.verify_birth_dates([program])
        checks = {p.given_name: (p.birth_date_check, p.birth_date_crvs)
            for p in Party.browse([pedro, maria, world['joao']])}
        self.assertEqual(checks, {'Pedro': ('verified', None),
                'Maria': ('mismatch', dt.date(1950, 1, 2)),
                'Joao': ('not_found', None)})
        # 3 candidates, one message (at most 20 requests each).
        self.assertEqual(len(self.fake.calls_to(search.SYNC_SEARCH)), 1)
        Membership.import_and_enrol(program)
        enrolled = Membership.search([('program', '=', program.id),
                ('state', '=', 'enrolled')])
        self.assertEqual([m.registrant for m in enrolled], [pedro])
        with self.assertRaisesRegex(UserError, 'verified with the civil'):
            Membership.add_manually(program, Party(maria.id), force=True,
                reason="Known to us")
        # A household program cannot require it.
        with self.assertRaises(UserError):
            create_program('child_count >= 1', code='HH',
                crvs_birth_date_required=True)

    # -- flow 3: death -----------------------------------------------------
    def old_age_with_entitlements(self):
        "An individual program of everyone 70+, with pending entitlements."
        from trytond.modules.spp_entitlement.tests.tools import (
            submitted_cycle)
        Membership = Pool().get('spp.program.membership')
        program = create_program('age >= 70', target='individual',
            code='OLD', entitlement_items=[('create', [{'name': "Pension",
                            'amount': Decimal('50.00'), 'sequence': 1}])])
        Membership.import_and_enrol(program)
        submitted_cycle(program, Decimal('1000.00'))
        return program

    @with_transaction()
    def test_flow3_death_ends_allowance(self):
        "Flow 3: deceased, memberships exited, entitlements held, kept"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        Entitlement = pool.get('spp.entitlement')
        world = self.world()
        program = self.old_age_with_entitlements()
        joao, silva = world['joao'], world['silva']
        self.assertEqual(Party(silva.id).member_count, 3)
        died = years_ago(0) - dt.timedelta(days=3)
        exchange = self.notify(world, world['deaths'], [crvs_person(
                    world['ids']['joao'], death_date=died, sex='male')])
        self.assertEqual(exchange.records, 1)
        joao = Party(joao.id)
        self.assertEqual((joao.death_date, joao.death_source),
            (died, world['registry']))
        self.assertTrue(joao.disabled)
        self.assertIn("civil registry", joao.disabled_reason)
        membership, = Membership.search([('program', '=', program.id),
                ('registrant', '=', joao.id)])
        self.assertEqual((membership.state, membership.exit_date),
            ('exited', pool.get('ir.date').today()))
        entitlement, = Entitlement.search([('registrant', '=', joao.id)])
        self.assertEqual((entitlement.state, entitlement.held_from),
            ('held', 'pending_validation'))
        # The others' are untouched.
        self.assertEqual({e.state for e in Entitlement.search(
                        [('registrant', '!=', joao.id)])},
            {'pending_validation'})
        event, = self.events()
        self.assertEqual((event.state, event.event_type, event.registrant,
                event.memberships_exited, event.entitlements_held,
                event.area, event.exchange),
            ('applied', 'death', joao, 1, 1, world['areas']['TL-N-A'],
                exchange))
        self.assertTrue(event.changes)
        # The household no longer counts him; his history has the change.
        self.assertEqual(Party(silva.id).member_count, 2)
        cursor = Transaction().connection.cursor()
        history = Party.__table_history__()
        cursor.execute(*history.select(history.death_date,
                where=history.id == joao.id))
        self.assertIn(died, [dt.date.fromisoformat(str(d)) if d else None
                for d, in cursor])
        # Released: back to where it was held from.
        Entitlement.release_hold([entitlement])
        self.assertEqual(Entitlement(entitlement.id).state,
            'pending_validation')

    @with_transaction()
    def test_flow3_replayed_death_changes_nothing(self):
        "A death notified again (new message) is ignored"
        pool = Pool()
        Party = pool.get('party.party')
        world = self.world()
        record = crvs_person(world['ids']['pedro'], sex='male',
            death_date=years_ago(0))
        self.notify(world, world['deaths'], [record])
        written = Party(world['pedro'].id).write_date
        self.notify(world, world['deaths'], [record, record])
        first, second, third = self.events()
        self.assertEqual([e.state for e in (first, second, third)],
            ['applied', 'ignored', 'ignored'])
        self.assertEqual(Party(world['pedro'].id).write_date, written)

    # -- flow 4: widow -----------------------------------------------------
    @with_transaction()
    def test_flow4_widow_allowance(self):
        "Flow 4: a spouse's death makes the survivor eligible as widow"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        world = self.world()
        program = create_program('civil_status = "widowed"',
            target='individual', code='WID')
        Membership.import_eligible(program)
        self.assertFalse(Membership.search([('program', '=', program.id)]))
        self.notify(world, world['deaths'], [crvs_person(
                    world['ids']['joao'], sex='male',
                    death_date=years_ago(0))])
        self.assertEqual(Party(world['maria'].id).civil_status, 'widowed')
        event, = self.events()
        self.assertEqual(event.widowed, world['maria'])
        Membership.import_eligible(program)
        member, = Membership.search([('program', '=', program.id)])
        self.assertEqual(member.registrant, world['maria'])

    # -- flows 5 and 6: births ---------------------------------------------
    @with_transaction()
    def test_flow5_birth_joins_mothers_household(self):
        "Flow 5: a child born to Maria joins the Silva household"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        world = self.world()
        program = create_program('child_count >= 2', code='CHILD')
        Membership.import_eligible(program)
        self.assertFalse(Membership.search([('program', '=', program.id)]))
        born = years_ago(0) - dt.timedelta(days=10)
        self.notify(world, world['births'], [crvs_person(None,
                    flow='processflow5', birth_date=born, given_name="Lia",
                    family_name="Silva", brn='BRN-2026-01',
                    parent=world['ids']['maria'])])
        event, = self.events()
        self.assertEqual((event.state, event.household),
            ('applied', world['silva']))
        child = event.registrant
        self.assertEqual((child.given_name, child.birth_date,
                child.area, [(i.type, i.code) for i in child.identifiers]),
            ("Lia", born, world['areas']['TL-N-A'],
                [('birth_certificate', 'BRN-2026-01')]))
        self.assertEqual(Party(world['silva'].id).child_count, 2)
        # Flow 6: the child allowance sees the new child through its rule.
        Membership.import_eligible(program)
        member, = Membership.search([('program', '=', program.id)])
        self.assertEqual(member.registrant, world['silva'])
        # The same birth again: the child is known, nothing changes.
        self.notify(world, world['births'], [crvs_person(None,
                    flow='processflow6', birth_date=born, given_name="Lia",
                    brn='BRN-2026-01', parent=world['ids']['maria'])])
        _, again = self.events()
        self.assertEqual((again.state, again.registrant), ('ignored', child))

    # -- bad input ---------------------------------------------------------
    @with_transaction()
    def test_unknown_subscription_refused(self):
        "A notification of no active subscription of ours is refused"
        world = self.world()
        with self.assertRaises(inbound.Refused) as refused:
            self.notify(world, 'SUB-UNKNOWN', [crvs_person(
                        world['ids']['pedro'], death_date=years_ago(0))])
        self.assertEqual(refused.exception.status, 404)
        self.assertFalse(self.events())
        self.assertIsNone(Pool().get('party.party')(
                world['pedro'].id).death_date)

    @with_transaction()
    def test_invalid_signature_refused(self):
        "A notification signed with another key is refused"
        world = self.world()
        self.fake.bad_signature = True
        with self.assertRaises(inbound.Refused) as refused:
            self.notify(world, world['deaths'], [crvs_person(
                        world['ids']['pedro'], death_date=years_ago(0))],
                message_id='forged-1')
        self.assertEqual(refused.exception.status, 401)
        self.assertFalse(self.events())

    @with_transaction()
    def test_replayed_message_refused(self):
        "A message id used twice is refused the second time"
        world = self.world()
        record = crvs_person(world['rita'].identifiers[0].code,
            death_date=years_ago(0))
        self.notify(world, world['deaths'], [record], message_id='msg-1')
        with self.assertRaises(inbound.Refused) as refused:
            self.notify(world, world['deaths'], [record], message_id='msg-1')
        self.assertEqual(refused.exception.status, 409)
        self.assertEqual(len(self.events()), 1)

    @with_transaction()
    def test_unknown_person_queued(self):
        "A death of a person we do not have waits for review, kept"
        pool = Pool()
        LifeEvent = pool.get('spp.dci.life.event')
        world = self.world()
        self.notify(world, world['deaths'], [
                crvs_person(world['ids']['nobody'], death_date=years_ago(0),
                    given_name="Zeca", area='TL-N-B'),
                dict(crvs_person(world['ids']['pedro']),
                    death_date='yesterday'),
                ])
        unknown, unreadable = self.events()
        self.assertEqual((unknown.state, unknown.review_reason,
                unknown.given_name, unknown.area),
            ('review', 'unknown_person', "Zeca", world['areas']['TL-N-B']))
        self.assertEqual((unreadable.state, unreadable.review_reason),
            ('review', 'unreadable'))
        self.assertIsNone(pool.get('party.party')(
                world['pedro'].id).death_date)
        # A caseworker finds the person and applies, or dismisses.
        with self.assertRaises(UserError):
            LifeEvent.dismiss([unknown])
        LifeEvent.write([unknown], {'registrant': world['rita'].id,
                'note': "Same person, other ID"})
        LifeEvent.apply_reviewed([unknown])
        unknown = LifeEvent(unknown.id)
        self.assertEqual((unknown.state, unknown.area),
            ('applied', world['areas']['TL-N-B']))
        self.assertTrue(pool.get('party.party')(world['rita'].id).death_date)
        # Closed: not changed by hand any more.
        with Transaction().set_context(_check_access=True), \
                self.assertRaises(UserError):
            LifeEvent.write([unknown], {'note': "Changed later"})

    @with_transaction()
    def test_birth_outside_areas_reviewed(self):
        "A birth in a household outside the subscription's areas: review"
        pool = Pool()
        Party = pool.get('party.party')
        world = self.world()
        count = Party.search_count([('registrant_type', '=', 'individual')])
        self.notify(world, world['births'], [
                crvs_person(None, birth_date=years_ago(0), given_name="Leo",
                    brn='BRN-2026-02', parent=world['ids']['rita']),
                crvs_person(None, birth_date=years_ago(0), given_name="Bia",
                    brn='BRN-2026-03', parent=world['ids']['nobody']),
                ])
        outside, orphan = self.events()
        self.assertEqual((outside.state, outside.review_reason,
                outside.household, outside.area),
            ('review', 'outside_areas', world['costa'],
                world['areas']['TL-N-B']))
        self.assertEqual((orphan.state, orphan.review_reason),
            ('review', 'unknown_household'))
        self.assertEqual(Party.search_count(
                [('registrant_type', '=', 'individual')]), count)
        self.assertEqual(Party(world['costa'].id).member_count, 1)

    # -- access ------------------------------------------------------------
    @with_transaction()
    def test_area_rules(self):
        "Events are read in the person's areas; unmatched by admins only"
        pool = Pool()
        LifeEvent = pool.get('spp.dci.life.event')
        User = pool.get('res.user')
        world = self.world()
        self.notify(world, world['deaths'], [
                crvs_person(world['ids']['pedro'], death_date=years_ago(0)),
                crvs_person(world['ids']['nobody'], death_date=years_ago(0)),
                ])
        pedro_event, unknown = self.events()
        registrar_a = create_user('reg_a', 'spp_registry.group_registrar')
        registrar_b = create_user('reg_b', 'spp_registry.group_registrar')
        User.write([registrar_a], {'spp_areas': [
                    ('add', [world['areas']['TL-N-A'].id])]})
        User.write([registrar_b], {'spp_areas': [
                    ('add', [world['areas']['TL-N-B'].id])]})
        admin = create_user('reg_admin', 'spp_registry.group_registry_admin')
        nobody = create_user('plain', 'res.group_admin')
        User._get_groups_cache.clear()

        def as_user(user):
            return Transaction().set_user(user.id), Transaction().set_context(
                _check_access=True)
        for user, expected in [(registrar_a, [pedro_event]),
                (registrar_b, []), (admin, [pedro_event, unknown])]:
            u, c = as_user(user)
            with u, c:
                found = LifeEvent.search([], order=[('id', 'ASC')])
                self.assertEqual(found, expected, user.login)
                self.assertEqual(LifeEvent.search_count([]), len(expected))
                if expected:
                    LifeEvent.read([e.id for e in expected], ['id_number'])
                    data = LifeEvent.export_data(expected, ['id_number'])
                    self.assertEqual(len(data['data'] if isinstance(
                                data, dict) else data), len(expected))
                hidden = [e for e in (pedro_event, unknown)
                    if e not in expected]
                for event in hidden:
                    with self.assertRaises(UserError):
                        LifeEvent.read([event.id], ['id_number'])
                    with self.assertRaises(UserError):
                        LifeEvent.export_data([LifeEvent(event.id)],
                            ['id_number'])
        u, c = as_user(nobody)
        with u, c:
            with self.assertRaises(UserError):
                LifeEvent.search([])
            with self.assertRaises(UserError):
                LifeEvent.read([pedro_event.id], ['id_number'])
        # Events come from notifications only.
        u, c = as_user(registrar_b)
        with u, c:
            with self.assertRaises(UserError):
                LifeEvent.create([{'registry': world['registry'].id,
                            'event_type': 'death'}])


class CrvsChangeRequestTestCase(CrvsMixin, unittest.TestCase):
    """With spp_change_request (and spp_audit): births are proposed as
    change requests; the steps are audited."""
    modules = MODULES

    @with_transaction()
    def test_flow5_birth_joins_mothers_household(self):
        "Flow 5/6 with change requests: the child is proposed, then added"
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.program.membership')
        ChangeRequest = pool.get('spp.change_request')
        from trytond.modules.spp_change_request.tests.tools import (
            as_user, create_user as cr_user)
        world = self.world()
        program = create_program('child_count >= 2', code='CHILD')
        born = years_ago(0) - dt.timedelta(days=10)
        self.notify(world, world['births'], [crvs_person(None,
                    flow='processflow6', birth_date=born, given_name="Lia",
                    family_name="Silva", brn='BRN-2026-01',
                    parent=world['ids']['maria'])])
        event, = self.events()
        self.assertEqual((event.state, event.household),
            ('proposed', world['silva']))
        request = event.change_request
        self.assertEqual((request.state, request.registrant,
                request.new_given_name, request.new_birth_date),
            ('submitted', world['silva'], "Lia", born))
        self.assertEqual(Party(world['silva'].id).child_count, 1)
        validator = cr_user('validator_a', ['local'],
            [world['areas']['TL-N-A']])
        pool.get('res.user')._get_groups_cache.clear()
        with as_user(validator):
            ChangeRequest.decide([request], 'approve')
        request = ChangeRequest(request.id)
        if request.state == 'submitted':
            hq = cr_user('hq', ['hq'],
                registry_groups=['group_registry_validator'])
            with as_user(hq):
                ChangeRequest.decide([request], 'approve')
        self.assertEqual(ChangeRequest(request.id).state, 'applied')
        self.assertEqual(Party(world['silva'].id).child_count, 2)
        Membership.import_eligible(program)
        member, = Membership.search([('program', '=', program.id)])
        self.assertEqual(member.registrant, world['silva'])

    @with_transaction()
    def test_death_audited(self):
        "Each set-based step of a death is one audit entry with its counts"
        from trytond.modules.spp_audit.tests.test_module import entries
        world = self.world()
        self.notify(world, world['deaths'], [crvs_person(
                    world['ids']['joao'], sex='male',
                    death_date=years_ago(0))])
        found = {e.action: json.loads(e.details or 'null')
            for e in entries(model='spp.dci.life.event')}
        self.assertEqual(found['deceased_marked'],
            {'registry': 'crvs', 'deaths': 1})
        self.assertEqual(found['spouse_widowed'], {'widowed': 1})
