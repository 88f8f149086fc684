"""Registry pulls against a fake social registry over real HTTP: households
created through the registry import's checks, matched and updated,
refused with their reasons; re-runs that change nothing; refresh; a
registry that is down, slow, answers 5xx, garbage or a wrong signature;
who may read pulls and their reports."""
import datetime as dt
import json
import unittest

from stdnum import luhn

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_dci_client import transport
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .fake_registry import search_response
from .tools import MODULES, create_registry, fake_registry

PATH = '/registry/sync/search'


def national_id(seed):
    body = f'{seed:09d}'[-9:]
    return body + luhn.calc_check_digit(body)


def member(code, given, family, birth, sex, roles, seed, id_type='UIN',
        area='TL-N-A'):
    "A Member record as our DCI server sends it (dci_record.py)."
    ids = [{'@type': 'Identifier', 'identifier_type': id_type,
            'identifier_value': national_id(seed)}]
    return {'@type': 'Member', '@id': code, 'member_identifier': ids,
        'demographic_info': {'@type': 'SRPerson', 'identifier': ids,
            'name': {'@type': 'Name', 'surname': family,
                'given_name': given},
            'sex': sex, 'birth_date': birth},
        'is_disabled': False,
        'additional_attributes': [{'name': 'area', 'value': area},
            {'name': 'roles', 'value': ' '.join(roles)}]}


def household(number, size=3, area='TL-N-A', **kwargs):
    "A Group record of `size` members, the first one its head."
    family = f"Family{number}"
    members = [member(f'I{number}-{i}', f"Given{i}", family,
            f'{1960 + 10 * i}-03-0{i + 1}', 'female' if i % 2 else 'male',
            ['head'] if i == 0 else ['child'], number * 10 + i,
            area=area, **kwargs) for i in range(size)]
    return {'@type': 'Group', '@id': f'G{number}',
        'group_identifier': [], 'group_type': 'household',
        'group_size': size, 'group_head_info': members[0],
        'member_list': members,
        'additional_attributes': [{'name': 'name',
                'value': f"{family} household"}, {'name': 'area',
                'value': area}]}


class Population:
    "The fake registry's households, served page by page."

    def __init__(self, groups):
        self.groups = groups
        self.requests = []

    def __call__(self, body):
        items = body['message']['search_request']
        self.requests.append(items)
        responses = []
        for item in items:
            criteria = item['search_criteria']
            if criteria['query_type'] == 'idtype-value':
                value = criteria['query']['value']
                found = [g for g in self.groups if any(
                        i['identifier_value'] == value
                        for m in g['member_list']
                        for i in m['member_identifier'])]
                responses.append(response(item, found[:1], 1, 1,
                        len(found)))
                continue
            page = criteria['pagination']
            size, number = page['page_size'], page['page_number']
            start = (number - 1) * size
            responses.append(response(item,
                    self.groups[start:start + size], size, number,
                    len(self.groups)))
        message = search_response([])
        message['search_response'] = responses
        return 200, message


def response(item, records, size, number, total):
    answer = search_response(records, reference_id=item['reference_id'],
        total=total, page_size=size, page_number=number)
    return answer['search_response'][0]


class PullTestCase(unittest.TestCase):
    "Registry pulls"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)
        cls.fake = fake_registry()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.fake.calls.clear()
        self.fake.fail = self.fake.garbage = self.fake.delay = 0
        self.fake.bad_signature = False
        transport.tokens.tokens.clear()

    def setup_pull(self, groups, page_size=2, **values):
        pool = Pool()
        Pull = pool.get('spp.dci.pull')
        self.areas = create_areas()
        self.population = Population(groups)
        self.fake.handlers[PATH] = self.population
        registry = create_registry(self.fake, kind='social_registry',
            code='sr', page_size=page_size, mappings=[('create', [
                        {'category': 'identifier_type',
                            'external_code': 'UIN',
                            'internal_code': 'national_id'}])])
        pull, = Pull.create([{'registry': registry.id,
                    'area': self.areas['TL-N'].id, **values}])
        return pull

    def run_pull(self, pull, action='pull'):
        Pull = Pool().get('spp.dci.pull')
        getattr(Pull, action)([pull])
        self.assertEqual(pull.state, 'queued')
        Pull.run_job([pull], action, commit=False)
        return Pull(pull.id)

    def individuals(self):
        Party = Pool().get('party.party')
        return Party.search([('registrant_type', '=', 'individual')],
            order=[('id', 'ASC')])

    def households(self):
        Party = Pool().get('party.party')
        return Party.search([('registrant_type', '=', 'group')],
            order=[('id', 'ASC')])

    @with_transaction()
    def test_pull_creates_households(self):
        "Every page read; households and members created with provenance"
        pull = self.setup_pull([household(n) for n in range(1, 6)])
        pull = self.run_pull(pull)
        self.assertEqual(pull.state, 'done', pull.error)
        self.assertEqual((pull.total, pull.pages, pull.households_read,
                pull.created, pull.individuals, pull.updated,
                pull.unchanged, pull.refused),
            (5, 3, 5, 5, 15, 0, 0, 0))
        groups = self.households()
        self.assertEqual([g.name for g in groups],
            [f"Family{n} household" for n in range(1, 6)])
        self.assertEqual({(g.dci_registry.id, g.area.code) for g in groups},
            {(pull.registry.id, 'TL-N-A')})
        self.assertEqual([g.dci_ref for g in groups],
            [f'G{n}' for n in range(1, 6)])
        people = self.individuals()
        self.assertEqual(len(people), 15)
        first = people[0]
        self.assertEqual((first.given_name, first.family_name,
                first.dci_ref, first.identifiers[0].type,
                first.identifiers[0].code, first.birth_date),
            ("Given0", "Family1", 'I1-0', 'national_id', national_id(10),
                dt.date(1960, 3, 1)))
        head, = [m for m in groups[0].memberships
            if m.individual == first]
        self.assertEqual([r.code for r in head.roles], ['head'])
        self.assertEqual(groups[0].member_count, 3)
        # What was asked: the groups of the areas, in pages.
        items = self.population.requests[0]
        criteria = items[0]['search_criteria']
        self.assertEqual(criteria['response_entity'], 'Group')
        self.assertEqual(criteria['pagination'],
            {'page_size': 2, 'page_number': 1})
        self.assertEqual(criteria['query']['value']['expression'], {
                'collection': 'Group', 'query': {'location': {
                        '$in': ['TL-N', 'TL-N-A', 'TL-N-B']}}})
        exchanges = Pool().get('spp.dci.exchange').search([])
        self.assertEqual(len(exchanges), 3)
        self.assertEqual({e.state for e in exchanges}, {'done'})

    @with_transaction()
    def test_rerun_changes_nothing(self):
        "The same pull again: every household unchanged, nothing written"
        pull = self.setup_pull([household(n) for n in range(1, 4)])
        self.run_pull(pull)
        stamps = [(p.id, p.write_date) for p in self.individuals()]
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.updated, pull.unchanged,
                pull.refused), (0, 0, 3, 0))
        self.assertEqual([(p.id, p.write_date) for p in self.individuals()],
            stamps)
        self.assertEqual(len(self.households()), 3)

    @with_transaction()
    def test_changes_applied(self):
        "What the registry changed is written; the rest stays unchanged"
        groups = [household(n) for n in range(1, 4)]
        pull = self.setup_pull(groups)
        self.run_pull(pull)
        changed = groups[1]['member_list'][2]['demographic_info']
        changed['name']['given_name'] = "Renamed"
        changed['birth_date'] = '1980-04-04'
        extra = member('I2-9', "Newborn", "Family2", '2024-01-02', 'female',
            ['child'], 29)
        groups[2]['member_list'].append(extra)
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.updated, pull.unchanged,
                pull.refused), (0, 2, 1, 0))
        Party = Pool().get('party.party')
        renamed, = Party.search([('dci_ref', '=', 'I2-2')])
        self.assertEqual((renamed.given_name, renamed.birth_date),
            ("Renamed", dt.date(1980, 4, 4)))
        newborn, = Party.search([('dci_ref', '=', 'I2-9')])
        self.assertEqual(newborn.identifiers[0].code, national_id(29))
        group, = Party.search([('dci_ref', '=', 'G3')])
        self.assertEqual(group.member_count, 4)

    @with_transaction()
    def test_matched_by_identifier(self):
        "A household we registered ourselves is matched, not created again"
        groups = [household(1)]
        pull = self.setup_pull(groups)
        male = get_ref('spp_registry', 'gender_male')
        record = groups[0]['member_list'][0]
        ours, (head,) = create_household("Ours", [{
                    'family_name': "Family1", 'given_name': "Given0",
                    'birth_date': dt.date(1960, 3, 1), 'gender': male,
                    'identifiers': [('create', [{'type': 'national_id',
                                    'code': national_id(10)}])],
                    'roles': ['head']}], area=self.areas['TL-N-A'])
        self.assertEqual(record['@id'], 'I1-0')
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.updated, pull.refused),
            (0, 1, 0))
        self.assertEqual(len(self.households()), 1)
        Party = Pool().get('party.party')
        ours = Party(ours.id)
        self.assertEqual((ours.name, ours.dci_ref, ours.member_count),
            ("Family1 household", 'G1', 3))

    @with_transaction()
    def test_unmapped_identifier_type(self):
        "Identifiers of a type we do not map: the household refused, per row"
        groups = [household(1), household(2, id_type='TAX_NUMBER'),
            household(3)]
        pull = self.setup_pull(groups)
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.refused), (2, 1))
        lines = pull.lines
        self.assertEqual([(l.kind, l.record) for l in lines],
            [('refused', 'I2-0'), ('refused', 'I2-1'), ('refused', 'I2-2')])
        self.assertIn('"TAX_NUMBER"', lines[0].reason)
        self.assertEqual([g.dci_ref for g in self.households()],
            ['G1', 'G3'])

    @with_transaction()
    def test_invalid_rows_refused(self):
        "The import's own checks: a household with a bad row is skipped"
        groups = [household(1), household(2), household(3)]
        del groups[1]['member_list'][1]['demographic_info']['birth_date']
        groups[2]['member_list'][1]['member_identifier'][0][
            'identifier_value'] = '1234567890'
        pull = self.setup_pull(groups, page_size=5)
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.refused), (1, 2))
        reasons = {l.record: l.reason for l in pull.lines}
        self.assertEqual(set(reasons), {'I2-1', 'I3-1'})
        self.assertIn('not valid', reasons['I3-1'])
        self.assertEqual(len(self.individuals()), 3)

    @with_transaction()
    def test_possible_duplicates_flagged(self):
        "A new individual like one of ours (other ID) is flagged"
        groups = [household(1)]
        pull = self.setup_pull(groups)
        male = get_ref('spp_registry', 'gender_male')
        create_household("Other", [{'family_name': "Family1",
                    'given_name': "Given0",
                    'birth_date': dt.date(1960, 3, 1), 'gender': male,
                    'roles': ['head']}], area=self.areas['TL-N-B'])
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.flagged), (1, 1))
        line, = [l for l in pull.lines if l.kind == 'flagged']
        self.assertEqual(line.record, 'I1-0')
        self.assertEqual(line.party.dci_ref, 'I1-0')

    @with_transaction()
    def test_refresh(self):
        "A refresh re-reads the pulled households by identifier, 20 a call"
        groups = [household(n, size=1) for n in range(1, 26)]
        pull = self.setup_pull(groups, page_size=100)
        self.run_pull(pull)
        groups[4]['member_list'][0]['demographic_info']['name'][
            'surname'] = "Changed"
        gone = groups.pop(7)
        self.population.requests.clear()
        pull = self.run_pull(pull, 'refresh')
        self.assertEqual(pull.state, 'done', pull.error)
        self.assertEqual((pull.total, pull.updated, pull.unchanged,
                pull.created), (25, 1, 23, 0))
        line, = pull.lines
        self.assertEqual((line.kind, line.record), ('missing', gone['@id']))
        self.assertEqual([len(r) for r in self.population.requests],
            [20, 5])
        self.assertEqual({i['search_criteria']['query']['type']
                for r in self.population.requests for i in r}, {'UIN'})

    @with_transaction()
    def test_registry_failures(self):
        "Down, 5xx, garbage, forged: failed, recorded, nothing written"
        Exchange = Pool().get('spp.dci.exchange')
        pull = self.setup_pull([household(1)])
        for fault, code in [('fail', 'unavailable'), ('garbage', 'garbage'),
                ('bad_signature', 'err.signature.invalid')]:
            setattr(self.fake, fault, 5 if fault != 'bad_signature'
                else True)
            before = len(Exchange.search([]))
            pull = self.run_pull(pull)
            setattr(self.fake, fault, 0 if fault != 'bad_signature'
                else False)
            self.assertEqual(pull.state, 'failed', fault)
            self.assertIn(code, pull.error)
            self.assertEqual(self.households(), [])
            exchange, = Exchange.search([], limit=1)
            self.assertEqual(len(Exchange.search([])), before + 1)
            self.assertEqual((exchange.state, exchange.error_code),
                ('failed', code))
            # Retried (the same message), then refused (transport.py).
            self.assertEqual(exchange.attempts, 3)

    @with_transaction()
    def test_registry_slow_or_unreachable(self):
        "A registry too slow, or not there: failed, nothing written"
        pull = self.setup_pull([household(1)])
        registry = pull.registry
        registry.timeout = 1
        registry.attempts = 1
        registry.save()
        self.fake.delay = 1.5
        pull = self.run_pull(pull)
        self.fake.delay = 0
        self.assertEqual(pull.state, 'failed')
        self.assertIn('timeout', pull.error)
        registry.base_url = 'http://127.0.0.1:9'
        registry.save()
        pull = self.run_pull(pull)
        self.assertEqual(pull.state, 'failed')
        self.assertIn('unreachable', pull.error)
        self.assertEqual(self.households(), [])

    @with_transaction()
    def test_failure_mid_pull_keeps_applied_pages(self):
        "Page 2 fails: page 1 stays, the pull failed; pulling again resumes"
        groups = [household(n) for n in range(1, 5)]
        pull = self.setup_pull(groups)
        population = self.population

        def second_page_fails(body):
            page = body['message']['search_request'][0]['search_criteria'][
                'pagination']['page_number']
            if page == 2:
                return 503, {'errors': [{'code': 'err.service.unavailable',
                            'message': "Down"}]}, 'raw'
            return population(body)
        self.fake.handlers[PATH] = second_page_fails
        pull = self.run_pull(pull)
        self.assertEqual((pull.state, pull.pages, pull.created),
            ('failed', 1, 2))
        self.assertEqual(len(self.households()), 2)
        self.fake.handlers[PATH] = population
        pull = self.run_pull(pull)
        self.assertEqual((pull.state, pull.created, pull.unchanged),
            ('done', 2, 2))

    @with_transaction()
    def test_member_of_another_household(self):
        "A member we hold in another household: refused, not moved"
        groups = [household(1)]
        pull = self.setup_pull(groups)
        male = get_ref('spp_registry', 'gender_male')
        create_household("Elsewhere", [{'family_name': "Family1",
                    'given_name': "Given0",
                    'birth_date': dt.date(1960, 3, 1), 'gender': male,
                    'identifiers': [('create', [{'type': 'national_id',
                                    'code': national_id(10)}])],
                    'roles': ['head']}], area=self.areas['TL-N-A'])
        create_household("Other", [{'family_name': "Family1",
                    'given_name': "Given1",
                    'birth_date': dt.date(1970, 3, 2), 'gender': male,
                    'identifiers': [('create', [{'type': 'national_id',
                                    'code': national_id(11)}])],
                    'roles': ['head']}], area=self.areas['TL-N-A'])
        pull = self.run_pull(pull)
        self.assertEqual((pull.created, pull.updated, pull.refused),
            (0, 0, 1))
        line, = pull.lines
        self.assertEqual(line.record, 'G1')
        self.assertIn('several of our households', line.reason)

    @with_transaction()
    def test_search_refused_by_registry(self):
        "The registry refuses the query itself: the pull fails with why"
        pull = self.setup_pull([household(1)])

        def refuse(body):
            item = body['message']['search_request'][0]
            message = search_response([])
            message['search_response'] = [{
                    'reference_id': item['reference_id'],
                    'timestamp': '2026-01-01T00:00:00Z', 'status': 'rjct',
                    'status_reason_code': 'rjct.filter.invalid',
                    'status_reason_message': "Unknown attribute"}]
            return 200, message
        self.fake.handlers[PATH] = refuse
        pull = self.run_pull(pull)
        self.assertEqual(pull.state, 'failed')
        self.assertIn('rjct.filter.invalid', pull.error)
        self.assertIn('Unknown attribute', pull.error)

    @with_transaction()
    def test_wizard(self):
        "The wizard creates the pull and queues it"
        pool = Pool()
        Pull = pool.get('spp.dci.pull')
        Wizard = pool.get('spp.dci.pull.wizard', type='wizard')
        pull = self.setup_pull([household(1)])
        session_id, _, _ = Wizard.create()
        wizard = Wizard(session_id)
        wizard.start.registry = pull.registry
        wizard.start.area = self.areas['TL-N-A']
        wizard.start.conditions = '{"group_size": {"$gte": 1}}'
        wizard.start.detect_duplicates = False
        action, _ = wizard.do_open_({'views': [(1, 'tree'), (2, 'form')]})
        created, = Pull.browse(action['res_id'])
        self.assertEqual((created.state, created.last_action,
                created.area.code), ('queued', 'pull', 'TL-N-A'))

    @with_transaction()
    def test_conditions_checked(self):
        "Conditions are valid JSON over known attributes, and something asked"
        Pull = Pool().get('spp.dci.pull')
        pull = self.setup_pull([])
        for conditions in ['{"group_size": ', '{"income_score": {"$lt": 3}}',
                '{"group_size": {"$regex": "x"}}']:
            pull.conditions = conditions
            with self.assertRaises(ValidationError):
                pull.save()
        pull.conditions = json.dumps({'group_size': {'$gte': 3}})
        pull.save()
        query = pull.query()
        self.assertEqual(query['$and'][1], {'group_size': {'$gte': 3}})
        with self.assertRaises(ValidationError):
            Pull.create([{'registry': pull.registry.id}])
        with self.assertRaises(AccessError):
            Pull.refresh([pull])

    @with_transaction()
    def test_access(self):
        """Registrars and viewers read pulls of their areas; others nothing;
        only registry administrators pull"""
        pool = Pool()
        Pull = pool.get('spp.dci.pull')
        Line = pool.get('spp.dci.pull.line')
        User = pool.get('res.user')
        groups = [household(1), household(2, id_type='TAX_NUMBER')]
        pull = self.setup_pull(groups)
        pull = self.run_pull(pull)
        other, = Pull.copy([pull])
        other.area = self.areas['TL-N-B']
        other.save()
        self.assertTrue(pull.lines)

        def user(login, group, area):
            found, = User.create([{'name': login, 'login': login,
                        'groups': [('add', [get_ref('spp_registry', group)])]
                        if group else [],
                        'spp_areas': [('add', [self.areas[area].id])]}])
            User._get_groups_cache.clear()
            return found
        registrar_a = user('registrar_a', 'group_registrar', 'TL-N-A')
        viewer_b = user('viewer_b', 'group_registry_viewer', 'TL-N-B')
        nobody = user('nobody', None, 'TL-N')
        admin = user('sradmin', 'group_registry_admin', 'TL-N-B')

        def as_user(user):
            return Transaction().set_user(user.id), \
                Transaction().set_context(_check_access=True)

        # pull.area is TL-N: a registrar of TL-N-A does not see it (the
        # area is above theirs); a viewer of TL-N-B sees the TL-N-B one.
        pull.area = self.areas['TL-N-A']
        pull.save()
        for login, expected in [(registrar_a, {pull.id}),
                (viewer_b, {other.id}), (admin, {pull.id, other.id})]:
            first, second = as_user(login)
            with first, second:
                self.assertEqual({p.id for p in Pull.search([])}, expected)
                self.assertEqual(Pull.search_count([]), len(expected))
                lines = {l.pull.id for l in Line.search([])}
                self.assertLessEqual(lines, expected)
                hidden = ({pull.id, other.id} - expected)
                for pull_id in hidden:
                    with self.assertRaises(AccessError):
                        Pull.read([pull_id], ['created'])
                    with self.assertRaises(AccessError):
                        Pull.export_data([Pull(pull_id)],
                            ['lines/reason'])
                if pull.id in expected:
                    exported = Pull.export_data([Pull(pull.id)],
                        ['lines/reason'])
                    self.assertTrue(exported)
                if login != admin:
                    with self.assertRaises(AccessError):
                        Pull.write([Pull(pull.id)], {'conditions': None})
                    with self.assertRaises(AccessError):
                        Pull.create([{'registry': pull.registry.id,
                                    'area': self.areas['TL-N-A'].id}])
                    with self.assertRaises(UserError):
                        Pull.pull([Pull(pull.id)])
        first, second = as_user(nobody)
        with first, second:
            for call in [lambda: Pull.search([]),
                    lambda: Pull.search_count([]),
                    lambda: Pull.read([pull.id], ['created']),
                    lambda: Line.search([]),
                    lambda: Pull.export_data([Pull(pull.id)],
                        ['lines/reason'])]:
                with self.assertRaises(AccessError):
                    call()
