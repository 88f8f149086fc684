"""Subject access: the Personal Data Report of a registrant holds
everything the registry holds about them, for those who may see them."""
import json

from trytond.model.exceptions import AccessError
from trytond.modules.spp_payment.tests.test_module import (
    approved_entitlements, head)
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import (
    DPO, MODULES, REGISTRAR, consent_values, create_areas, create_user,
    get_ref)

SENSITIVE = ('spp_consent', 'group_sensitive')
SECTIONS = {'registrant', 'households', 'identifiers', 'contact_mechanisms',
    'addresses', 'relationships', 'programs', 'entitlements', 'payments',
    'grievances', 'change_requests', 'consents', 'access_log'}


def paid_household():
    """A household of district A whose entitlement is approved and paid
    out to its head; the head has two ID documents, a phone, an address
    and two consents; users: a registrar of A, one of B, a data
    protection officer."""
    pool = Pool()
    Party = pool.get('party.party')
    Batch = pool.get('spp.payment.batch')
    Consent = pool.get('spp.consent')
    areas = create_areas()
    cycle = approved_entitlements(households=2)
    Batch.create_for_cycle(cycle)
    group = Party.search([('registrant_type', '=', 'group')],
        order=[('id', 'DESC')], limit=1)[0]
    person = head(group)
    Party.write([group, person], {'area': areas['TL-N-A'].id})
    pool.get('party.identifier').create([{'party': person.id,
                'type': 'passport', 'code': 'P1234567'}])
    pool.get('party.address').create([{'party': group.id,
                'street': "1 Rizal Street", 'city': "Dili"}])
    consents = Consent.create([consent_values(person),
            consent_values(person, purpose='purpose_research')])
    Consent.give(consents[:1])
    return {
        'group': group, 'person': person, 'cycle': cycle,
        'consents': consents,
        'registrar_a': create_user('registrar_a', [REGISTRAR],
            [areas['TL-N-A']]),
        'registrar_b': create_user('registrar_b', [REGISTRAR],
            [areas['TL-N-B']]),
        # Reads unmasked what sensitive fields hide from others.
        'dpo': create_user('dpo', [DPO, SENSITIVE]),
        }


class SubjectAccessTestCase(ActivatedModuleTestCase):
    "Subject access"
    module = MODULES

    @with_transaction()
    def test_report_is_complete(self):
        """The report of the head holds every section of the installed
        addons, each of their ID documents, contacts, consents, their
        payment and who read their record"""
        pool = Pool()
        Party = pool.get('party.party')
        Log = pool.get('spp.audit.log')
        s = paid_household()
        person, group = s['person'], s['group']
        # A registrar of A opens her record: an access entry.
        with Transaction().set_user(s['registrar_a'].id), check_access():
            Log.record_access('party.party', [person.id],
                fields=['name', 'birth_date'])
        Log.flush()
        with Transaction().set_user(s['dpo'].id), check_access():
            data = Party.personal_data(person.id)

        self.assertEqual(set(data) - {'generated_on', 'generated_by',
                'withheld'}, SECTIONS - {'members'})
        self.assertEqual(data['withheld'], [])
        self.assertEqual(data['generated_by'], "Dpo")
        registrant = data['registrant']
        self.assertEqual((registrant['name'], registrant['birth_date'],
                registrant['area']),
            (person.name, person.birth_date.isoformat(), "District A"))
        self.assertEqual({(i['type'], i['code']) for i in data['identifiers']},
            {(i.type, i.code) for i in person.identifiers})
        self.assertEqual(len(data['identifiers']), 2)
        self.assertEqual([c['value'] for c in data['contact_mechanisms']],
            [c.value for c in person.contact_mechanisms])
        household, = data['households']
        self.assertEqual(household['group'], group.rec_name)
        self.assertEqual({(c['id'], c['purpose'], c['state'])
                for c in data['consents']},
            {(c.id, c.purpose.rec_name, c.state) for c in
                pool.get('spp.consent').browse(s['consents'])})
        category = pool.get('spp.consent.data_category')(get_ref(
                'spp_consent', 'data_category_identifying'))
        for consent in data['consents']:
            self.assertEqual(consent['data_categories'], [category.rec_name])
        payment, = data['payments']
        self.assertEqual(payment['payee'], person.rec_name)
        # She is the payee, the household the beneficiary.
        self.assertEqual(payment['registrant'], group.rec_name)
        access, = [e for e in data['access_log'] if e['action'] == 'access']
        self.assertEqual((access['user'], access['record']),
            ("Registrar_A", person.id))

        # The household's own report: members, programs, entitlements,
        # payments and its address.
        with Transaction().set_user(s['dpo'].id), check_access():
            data = Party.personal_data(group.id)
        self.assertNotIn('households', data)
        Membership = pool.get('spp.group.membership')
        self.assertEqual({m['individual'] for m in data['members']},
            {m.individual.rec_name for m in Membership.search(
                    [('group', '=', group.id)])})
        self.assertEqual(len(data['members']), 2)
        program, = data['programs']
        self.assertEqual(program['program'], s['cycle'].program.rec_name)
        self.assertEqual(program['state'], 'enrolled')
        entitlement, = data['entitlements']
        self.assertEqual(entitlement['state'], 'approved')
        self.assertEqual(len(data['payments']), 1)
        address, = data['addresses']
        self.assertIn("1 Rizal Street", address.values())
        self.assertIn("Dili", address.values())

    @with_transaction()
    def test_printed_and_json(self):
        """The printed report and the JSON file hold the same data; each
        is recorded in the audit trail"""
        pool = Pool()
        Report = pool.get('spp.consent.subject_access', type='report')
        JSON = pool.get('spp.consent.subject_access.json', type='report')
        Log = pool.get('spp.audit.log')
        s = paid_household()
        person = s['person']
        with Transaction().set_user(s['dpo'].id), check_access():
            oext, content, _, name = Report.execute([person.id], {})
            self.assertEqual(oext, 'html')
            for text in ['Personal Data Report', 'P1234567', 'ID Documents',
                    'Consents', 'Payments', person.name]:
                self.assertIn(text, content)
            oext, content, _, _ = JSON.execute([person.id], {})
            self.assertEqual(oext, 'json')
            data = json.loads(content)
            self.assertEqual({i['code'] for i in data['identifiers']},
                {i.code for i in person.identifiers})
            self.assertEqual(len(data['consents']), 2)
        Log.flush()
        entries = Log.search([('action', '=', 'subject_access_report')])
        self.assertEqual(sorted(e.details for e in entries),
            ['{"format":"html"}', '{"format":"json"}'])
        self.assertEqual({(e.user, e.record_id) for e in entries},
            {(s['dpo'], person.id)})

    @with_transaction()
    def test_other_area_refused(self):
        """A registrar of another area cannot get the report, as data or
        printed; a registrar of the area can, without the payment records
        their groups do not read"""
        pool = Pool()
        Party = pool.get('party.party')
        Report = pool.get('spp.consent.subject_access', type='report')
        JSON = pool.get('spp.consent.subject_access.json', type='report')
        s = paid_household()
        person = s['person']
        with Transaction().set_user(s['registrar_b'].id), check_access():
            with self.assertRaises(AccessError):
                Party.personal_data(person.id)
            for report in [Report, JSON]:
                with self.assertRaises(AccessError):
                    report.execute([person.id], {})
        with Transaction().set_user(s['registrar_a'].id), check_access():
            data = Party.personal_data(person.id)
        self.assertEqual(len(data['identifiers']), 2)
        self.assertIn('payments', data['withheld'])
        self.assertNotIn('payments', data)

    @with_transaction()
    def test_wizard_offers_correction(self):
        """The wizard sums up the report and opens the New Change Request
        wizard for the registrant"""
        pool = Pool()
        Wizard = pool.get('spp.consent.personal_data', type='wizard')
        s = paid_household()
        person = s['person']
        with Transaction().set_context(active_model='party.party',
                active_id=person.id, active_ids=[person.id]):
            session_id, _, _ = Wizard.create()
            result = Wizard.execute(session_id, {}, 'start')
            values = result['view']['defaults']
            self.assertTrue(values['can_request_change'])
            self.assertIn("ID Documents: 2", values['summary'])
            self.assertIn("Consents: 2", values['summary'])
            result = Wizard.execute(session_id, {'start': {
                        k: v for k, v in values.items() if '.' not in k}},
                'correct')
        (action, data), = result['actions']
        self.assertEqual(action['wiz_name'], 'spp.change_request.new')
        self.assertEqual((data['model'], data['id']),
            ('party.party', person.id))
        for state, report in [('print_', 'spp.consent.subject_access'),
                ('json_', 'spp.consent.subject_access.json')]:
            with Transaction().set_context(active_model='party.party',
                    active_id=person.id, active_ids=[person.id]):
                session_id, _, _ = Wizard.create()
                Wizard.execute(session_id, {}, 'start')
                result = Wizard.execute(session_id, {}, state)
            (action, data), = result['actions']
            self.assertEqual(action['report_name'], report)
            self.assertEqual(data['ids'], [person.id])
