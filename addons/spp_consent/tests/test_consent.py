"""Consent records: lifecycle and history, fixed terms, dates, the expiry
pass, the program-wide wizard, and who reads what."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import MODULES, consent_values, get_ref, setup_registry


def history(consent):
    return [(e.previous_state, e.state) for e in
        Pool().get('spp.consent')(consent.id).history]


class ConsentTestCase(ActivatedModuleTestCase):
    "Consent records"
    module = MODULES

    @with_transaction()
    def test_lifecycle_history(self):
        "Requested, given, withdrawn: each step is in the history, by whom"
        Consent = Pool().get('spp.consent')
        s = setup_registry()
        with Transaction().set_user(s['registrar_a'].id), check_access():
            consent, = Consent.create([consent_values(s['ana'])])
            self.assertEqual(consent.state, 'requested')
            Consent.give([consent])
            consent = Consent(consent.id)
            self.assertEqual(consent.state, 'given')
            self.assertEqual(consent.given_on,
                Pool().get('ir.date').today())
            Consent.withdraw([consent])
        consent = Consent(consent.id)
        self.assertEqual(consent.state, 'withdrawn')
        self.assertEqual(consent.withdrawn_on, Pool().get('ir.date').today())
        self.assertEqual(history(consent), [
                (None, 'requested'), ('requested', 'given'),
                ('given', 'withdrawn')])
        self.assertEqual({e.user for e in consent.history},
            {s['registrar_a']})

    @with_transaction()
    def test_refused(self):
        "A refused consent cannot be given afterwards"
        Consent = Pool().get('spp.consent')
        s = setup_registry()
        consent, = Consent.create([consent_values(s['ana'])])
        Consent.refuse([consent])
        Consent.give([consent])
        self.assertEqual(Consent(consent.id).state, 'refused')
        self.assertEqual(history(consent),
            [(None, 'requested'), ('requested', 'refused')])

    @with_transaction()
    def test_terms_fixed_once_given(self):
        "Given terms cannot be edited; Change Terms makes a new record"
        Consent = Pool().get('spp.consent')
        s = setup_registry()
        consent, = Consent.create([consent_values(s['ana'])])
        Consent.write([consent], {'notice': "v2"})  # still requested
        Consent.give([consent])
        for values in [{'expires_on': dt.date(2040, 1, 1)},
                {'purpose': get_ref('spp_consent', 'purpose_research')},
                {'data_categories': [('add', [get_ref(
                                    'spp_consent', 'data_category_health')])]},
                {'lawful_basis': 'public_task'}]:
            with self.subTest(values=values), \
                    self.assertRaises(AccessError):
                Consent.write([Consent(consent.id)], values)
        with self.assertRaises(AccessError):
            Consent.delete([consent])
        Consent.write([consent], {'note': "Read back to her"})
        action = Consent.change_terms([consent])
        new, = Consent.browse(action['res_id'])
        self.assertEqual((new.state, new.supersedes, new.notice),
            ('requested', consent, "v2"))
        self.assertEqual(new.data_categories, consent.data_categories)
        Consent.write([new], {'expires_on': dt.date(2040, 1, 1)})
        self.assertEqual(Consent(consent.id).state, 'given')

    @with_transaction()
    def test_bad_dates_and_missing_terms(self):
        "Expiring before given, no category, no collection method, no witness"
        Consent = Pool().get('spp.consent')
        s = setup_registry()
        with self.assertRaises(UserError):
            Consent.create([consent_values(s['ana'], state='given',
                        given_on=dt.date(2026, 5, 1),
                        expires_on=dt.date(2026, 4, 30))])
        consent, = Consent.create([consent_values(s['ana'],
                    expires_on=dt.date(2020, 1, 1))])
        with self.assertRaises(UserError):
            Consent.give([consent])  # given today, expired years ago
        consent, = Consent.create([consent_values(s['ana'],
                    data_categories=None)])
        with self.assertRaises(UserError):
            Consent.give([consent])
        consent, = Consent.create([consent_values(s['ana'],
                    collection_method=None)])
        with self.assertRaises(UserError):
            Consent.give([consent])
        with self.assertRaises(UserError):
            Consent.create([consent_values(s['ana'],
                        collection_method='verbal_witness')])
        with self.assertRaises(UserError):
            Consent.create([consent_values(s['ana'], given_by='guardian')])
        consent, = Consent.create([consent_values(s['ana'],
                    given_by='guardian', representative_name="Rui Santos",
                    collection_method='verbal_witness', witness="Officer")])
        Consent.give([consent])
        self.assertEqual(Consent(consent.id).state, 'given')

    @with_transaction()
    def test_expiry_pass(self):
        "The pass expires what is past its day, once, with history"
        Consent = Pool().get('spp.consent')
        s = setup_registry()
        today = Pool().get('ir.date').today()
        past, last_day, open_ended = Consent.create([
                consent_values(s['ana'], state='given',
                    given_on=today - dt.timedelta(days=400),
                    expires_on=today - dt.timedelta(days=1)),
                consent_values(s['eva'], state='given',
                    given_on=today - dt.timedelta(days=10),
                    expires_on=today),
                consent_values(s['santos'], state='given',
                    given_on=today - dt.timedelta(days=10)),
                ])
        requested, = Consent.create([consent_values(s['lima'],
                    expires_on=today - dt.timedelta(days=1))])
        self.assertEqual(Consent.expire(), 1)
        self.assertEqual([Consent(c.id).state for c in [
                    past, last_day, open_ended, requested]],
            ['expired', 'given', 'given', 'requested'])
        self.assertEqual(history(past), [(None, 'given'),
                ('given', 'expired')])
        self.assertEqual(Consent.expire(), 0)
        self.assertEqual(len(history(past)), 2)
        self.assertEqual(Consent.expire(today + dt.timedelta(days=1)), 1)
        self.assertEqual(Consent(last_day.id).state, 'expired')

    @with_transaction()
    def test_area_rules(self):
        """Registrars and viewers read their areas' consents (search, count,
        read, export); a user without a registry group reads none"""
        Consent = Pool().get('spp.consent')
        Event = Pool().get('spp.consent.event')
        s = setup_registry()
        ana, eva = Consent.create([consent_values(s['ana']),
                consent_values(s['eva'])])
        for user, expected in [('registrar_a', [ana]), ('viewer_a', [ana]),
                ('registrar_b', [eva]), ('dpo', [ana, eva])]:
            with self.subTest(user=user), \
                    Transaction().set_user(s[user].id), check_access():
                self.assertEqual(sorted(Consent.search([])),
                    sorted(expected))
                self.assertEqual(Consent.search_count([]), len(expected))
                self.assertEqual(
                    sorted(e.consent for e in Event.search([])),
                    sorted(expected))
        with Transaction().set_user(s['registrar_b'].id), check_access():
            with self.assertRaises(AccessError):
                Consent.read([ana.id], ['state'])
            with self.assertRaises(AccessError):
                Consent.export_data([Consent(ana.id)], ['registrant/name'])
            with self.assertRaises(AccessError):
                Consent.create([consent_values(s['ana'])])
        with Transaction().set_user(s['viewer_a'].id), check_access():
            with self.assertRaises(AccessError):
                Consent.create([consent_values(s['ana'])])
        with Transaction().set_user(s['nobody'].id), check_access():
            for call in [lambda: Consent.search([]),
                    lambda: Consent.read([ana.id], ['state']),
                    lambda: Event.search([])]:
                with self.assertRaises(AccessError):
                    call()

    @with_transaction()
    def test_bulk_for_program(self):
        """The wizard records a consent for each enrolled beneficiary the
        user sees, with its terms and history; a second run adds none"""
        pool = Pool()
        Consent = pool.get('spp.consent')
        Membership = pool.get('spp.program.membership')
        Wizard = pool.get('spp.consent.bulk', type='wizard')
        from trytond.modules.spp_programs.tests.test_module import (
            create_program)
        s = setup_registry()
        program = create_program()
        Membership.create([{'program': program.id, 'registrant': g.id,
                    'state': 'enrolled'} for g in [s['santos'], s['lima']]])
        Consent.create([consent_values(s['lima'],
                    purpose='purpose_service')])

        def run():
            session_id, _, _ = Wizard.create()
            wizard = Wizard(session_id)
            wizard.start.program = program
            wizard.start.purpose = pool.get('spp.consent.purpose')(
                get_ref('spp_consent', 'purpose_service'))
            wizard.start.data_categories = [
                pool.get('spp.consent.data_category')(get_ref(
                        'spp_consent', 'data_category_household'))]
            wizard.start.recipients = []
            wizard.start.recipient_types = [
                pool.get('spp.consent.recipient_type')(get_ref(
                        'spp_consent', 'recipient_type_ministry'))]
            wizard.start.processing = ['collect', 'store']
            wizard.start.lawful_basis = 'consent'
            wizard.start.record_as = 'given'
            wizard.start.given_on = dt.date(2026, 6, 1)
            wizard.start.expires_on = dt.date(2028, 6, 1)
            wizard.start.collection_method = 'signed_form'
            wizard.start.notice = "Campaign 2026"
            wizard.transition_record()
            return wizard._count

        self.assertEqual(run(), 1)
        recorded, = Consent.search([('registrant', '=', s['santos'].id)])
        self.assertEqual(
            (recorded.state, recorded.given_on, recorded.expires_on,
                recorded.notice, recorded.processing,
                [c.code for c in recorded.data_categories],
                [t.code for t in recorded.recipient_types]),
            ('given', dt.date(2026, 6, 1), dt.date(2028, 6, 1),
                "Campaign 2026", ('collect', 'store'), ['HOUSEHOLD'],
                ['MINISTRY']))
        self.assertEqual(history(recorded), [(None, 'given')])
        with self.assertRaises(UserError):
            run()
        self.assertEqual(Consent.search_count([]), 2)


del ActivatedModuleTestCase
