"""Who sees which grievance, and who may know who complained: area and
sensitivity rules, and confidential complainants, through every way of
reading (search, count, read, export, the registrant's form, JSON-RPC)."""
from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import as_user, create_user, file_grievance, setup_grievances

IDENTITY = ['complainant', 'complainant_name', 'complainant_contact']


def rpc(Model, method, *args):
    "Call `method` of `Model` as JSON-RPC does, through its decorator."
    function = getattr(Model, method)
    decorator = Model.__rpc__[method].decorator
    return (decorator(function) if decorator else function)(*args)


class AccessTestCase(ActivatedModuleTestCase):
    "Grievance access"
    module = 'spp_grievance'

    def setup_tickets(self):
        s = setup_grievances()
        c, areas = s['categories'], s['areas']
        s['mine'] = file_grievance(c['payment'], areas['TL-N-A'],
            complainant=s['ana'].id, complainant_kind='registrant',
            registrant=s['ana'].id)
        s['theirs'] = file_grievance(c['payment'], areas['TL-N-B'],
            complainant=s['eva'].id, complainant_kind='registrant')
        s['sensitive_ticket'] = file_grievance(c['misconduct'],
            areas['TL-N-A'], description="The officer asked for money.")
        s['confidential'] = file_grievance(c['exclusion'], areas['TL-N-A'],
            complainant_kind='other', complainant_name="Rosa Diaz",
            complainant_contact="+63 917 555 0101", confidential=True)
        s['confidential_registrant'] = file_grievance(c['exclusion'],
            areas['TL-N-A'], complainant=s['ana'].id,
            complainant_kind='registrant', confidential=True)
        return s

    @with_transaction()
    def test_area_and_sensitivity(self):
        """An officer sees their areas' non-sensitive tickets; a manager
        every area's; only the sensitive group the sensitive ones"""
        Grievance = Pool().get('spp.grievance')
        s = self.setup_tickets()
        users = s['users']
        visible = {
            'officer_a': {s['mine'], s['confidential'],
                s['confidential_registrant']},
            'officer_b': {s['theirs']},
            'manager': {s['mine'], s['theirs'], s['confidential'],
                s['confidential_registrant']},
            'sensitive': {s['sensitive_ticket']},
            }
        for login, expected in visible.items():
            with as_user(users[login]):
                self.assertEqual(set(Grievance.search([])), expected, login)
                self.assertEqual(Grievance.search_count([]), len(expected))
        for login in ['officer_a', 'officer_b', 'manager']:
            with as_user(users[login]), self.assertRaises(AccessError):
                Grievance.read([s['sensitive_ticket'].id], ['description'])
        with as_user(users['officer_b']), self.assertRaises(AccessError):
            Grievance.read([s['mine'].id], ['description'])
        with as_user(users['sensitive']):
            description, = Grievance.read([s['sensitive_ticket'].id],
                ['description'])
            self.assertEqual(description['description'],
                "The officer asked for money.")

    @with_transaction()
    def test_without_group(self):
        "A user without a grievance group reads nothing, nor a report"
        Grievance = Pool().get('spp.grievance')
        Report = Pool().get('spp.grievance.report.category')
        User = Pool().get('res.user')
        s = self.setup_tickets()
        nobody, = User.create([{'name': "Nobody", 'login': 'nobody',
                    'spp_areas': [('add', [s['areas']['TL-N-A'].id])]}])
        with as_user(nobody):
            for call in [lambda: Grievance.search([]),
                    lambda: Grievance.read([s['mine'].id], ['description']),
                    lambda: Grievance.search_count([]),
                    lambda: Report.search([]),
                    lambda: Grievance.export_data(
                        [Grievance(s['mine'].id)], ['description'])]:
                with self.assertRaises(AccessError):
                    call()

    @with_transaction()
    def test_confidential_complainant(self):
        """Who filed a confidential ticket is blank to all but the sensitive
        group: read, JSON-RPC, export, search by complainant and the
        complainant's form"""
        pool = Pool()
        Grievance = pool.get('spp.grievance')
        Party = pool.get('party.party')
        s = self.setup_tickets()
        officer = s['users']['officer_a']
        confidential = s['confidential']
        with as_user(officer):
            row, = Grievance.read([confidential.id],
                IDENTITY + ['complainant.rec_name', 'description'])
            self.assertEqual({k: row[k] for k in IDENTITY
                    + ['complainant.']}, dict.fromkeys(IDENTITY
                    + ['complainant.']))
            self.assertTrue(row['description'])
            row, = rpc(Grievance, 'read', [s['confidential_registrant'].id],
                IDENTITY)
            self.assertIsNone(row['complainant'])
            exported = Grievance.export_data(
                [Grievance(confidential.id)],
                ['reference', 'complainant_name', 'complainant_contact'])
            self.assertEqual(exported, [[confidential.reference, None,
                        None]])
            # Not found by who complained, not listed on their form.
            self.assertEqual(Grievance.search(
                    [('complainant_name', 'ilike', '%Rosa%')]), [])
            self.assertEqual(Grievance.search(
                    [('complainant', '=', s['ana'].id)]), [s['mine']])
            form, = rpc(Party, 'read', [s['ana'].id], ['grievances_filed'])
            self.assertEqual(list(form['grievances_filed']), [s['mine'].id])
            # A ticket that is not confidential shows its complainant.
            row, = Grievance.read([s['mine'].id], ['complainant'])
            self.assertEqual(row['complainant'], s['ana'].id)

        # The sensitive cases group knows who complained (here a manager
        # who is in it too).
        sensitive_manager = create_user('sensitive_manager',
            ['manager', 'sensitive'])
        with as_user(sensitive_manager):
            row, = Grievance.read([confidential.id], IDENTITY)
            self.assertEqual(row['complainant_name'], "Rosa Diaz")
            self.assertEqual(Grievance.search(
                    [('complainant_name', 'ilike', '%Rosa%')]),
                [confidential])
            form, = rpc(Party, 'read', [s['ana'].id], ['grievances_filed'])
            self.assertEqual(set(form['grievances_filed']),
                {s['mine'].id, s['confidential_registrant'].id})

    @with_transaction()
    def test_filing(self):
        """An officer files in their areas only, a sensitive complaint
        too; they read what they filed while it is new, to hand over the
        receipt, then no more"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        c, areas, users = s['categories'], s['areas'], s['users']
        with self.assertRaises(AccessError):
            file_grievance(c['payment'], areas['TL-N-A'],
                user=users['officer_b'])
        filed = file_grievance(c['misconduct'], areas['TL-N-A'],
            user=users['officer_a'], description="Asked for a bribe.")
        self.assertTrue(filed.sensitive)
        self.assertEqual(filed.team, s['teams']['integrity'])
        with as_user(users['officer_a']):
            row, = Grievance.read([filed.id], ['reference', 'description'])
            self.assertEqual(row['description'], "Asked for a bribe.")
            with self.assertRaises(AccessError):
                Grievance.write([filed], {'priority': 'urgent'})
        with as_user(users['officer_b']), self.assertRaises(AccessError):
            Grievance.read([filed.id], ['reference'])
        with as_user(users['sensitive']):
            Grievance.acknowledge([filed])
        with as_user(users['officer_a']):
            self.assertEqual(Grievance.search([('id', '=', filed.id)]), [])
            with self.assertRaises(AccessError):
                Grievance.read([filed.id], ['reference'])

    @with_transaction()
    def test_clients_do_not_set_system_fields(self):
        """Over JSON-RPC nobody writes the state, the reference or the
        deadlines, nor changes a closed ticket but its attachments"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        officer = s['users']['officer_a']
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'], user=officer)
        with as_user(officer):
            for values in [{'state': 'closed'}, {'reference': 'GRV-X'},
                    {'sla_status': 'on_time'}, {'sensitive': True}]:
                with self.assertRaisesRegex(AccessError, 'set by the '
                        'grievance workflow'):
                    rpc(Grievance, 'write', [grievance], values)
            with self.assertRaisesRegex(AccessError, 'acknowledged before'):
                rpc(Grievance, 'write', [grievance],
                    {'decision': 'upheld'})
            with self.assertRaisesRegex(AccessError, 'set by the '
                    'grievance workflow'):
                rpc(Grievance, 'create', [{'reference': 'GRV-1',
                            'category': s['categories']['payment'].id,
                            'area': s['areas']['TL-N-A'].id,
                            'channel': grievance.channel.id,
                            'complainant_kind': 'anonymous',
                            'description': "x"}])
            # Given to someone by hand: in the timeline.
            rpc(Grievance, 'write', [grievance],
                {'assigned_to': s['users']['manager'].id})
            event = Grievance(grievance.id).events[-1]
            self.assertEqual((event.action, event.to_user, event.user),
                ('assigned', s['users']['manager'], officer))
            Grievance.acknowledge([grievance])
            rpc(Grievance, 'write', [grievance], {'decision': 'upheld'})
            Grievance.resolve([grievance])
            Grievance.close([grievance])
            with self.assertRaisesRegex(AccessError, 'reopen it'):
                rpc(Grievance, 'write', [grievance],
                    {'description': "Changed afterwards"})
            Grievance.reopen([grievance], "The complainant came back")
        self.assertEqual(Grievance(grievance.id).state, 'reopened')
        self.assertEqual(Grievance(grievance.id).reference[:4], 'GRV-')
