"""Purpose-bound sharing: API clients of an organisation, for a purpose, on
a lawful basis; what their searches find and what they are answered."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.modules.spp_api.handlers import ApiError, Scope
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import MODULES, consent_values, get_ref, setup_registry


def create_recipient(code, type_='recipient_type_health_insurer'):
    Recipient = Pool().get('spp.consent.recipient')
    recipient, = Recipient.create([{'code': code, 'name': code.title(),
                'type': get_ref('spp_consent', type_)}])
    return recipient


def create_client(organisation, purpose='purpose_referral', **values):
    "A client and its dict, as the API's authentication gives it."
    Client = Pool().get('spp.api.client')
    client, = Client.create([{
                'name': f"Client {organisation.code}",
                'scopes': ['individual:read', 'registry:search'],
                'organisation': organisation.id,
                'purpose': get_ref('spp_consent', purpose),
                **values}])
    key, = Client.issue_key([client])
    return Client.authenticate(key)


def give(registrant, **values):
    Consent = Pool().get('spp.consent')
    consent, = Consent.create([consent_values(registrant, **values)])
    Consent.give([consent])
    return consent


def visible(client, registrants):
    "Which of `registrants` the client's searches find, and their count."
    Party = Pool().get('party.party')
    domain = [('id', 'in', [r.id for r in registrants])] + Scope(
        client).area_domain()
    found = Party.search(domain, order=[('id', 'ASC')])
    assert Party.search_count(domain) == len(found)
    return found


class SharingTestCase(ActivatedModuleTestCase):
    "Purpose-bound sharing"
    module = MODULES

    @with_transaction()
    def test_client_needs_organisation_and_purpose(self):
        "A client without an organisation or a purpose is refused"
        Client = Pool().get('spp.api.client')
        insurer = create_recipient('INSURER')
        for values, message in [
                ({'organisation': insurer.id}, 'needs a purpose'),
                ({'purpose': get_ref('spp_consent', 'purpose_referral')},
                    'needs an organisation')]:
            with self.assertRaises(UserError) as error:
                Client.create([{'name': "Nowhere", **values}])
            self.assertIn(message, error.exception.message)
        client = create_client(insurer)
        with self.assertRaises(UserError):
            Client.write([Client(client['id'])], {'purpose': None})

    @with_transaction()
    def test_lawful_basis_needs_reason(self):
        "A basis other than consent is refused without its reason"
        Client = Pool().get('spp.api.client')
        insurer = create_recipient('INSURER')
        with self.assertRaises(UserError) as error:
            create_client(insurer, lawful_basis='public_task')
        self.assertIn('Public Task', error.exception.message)
        with self.assertRaises(UserError):
            create_client(insurer, lawful_basis='contract',
                lawful_basis_reason="  ")
        client = create_client(insurer, lawful_basis='public_task',
            lawful_basis_reason="Social Protection Act, article 12")
        self.assertEqual(client['lawful_basis'], 'public_task')
        self.assertEqual(Client(client['id']).data_access, 'full')

    @with_transaction()
    def test_consent_filters_searches(self):
        "A consent-based client finds only the registrants their consent covers"
        s = setup_registry()
        insurer = create_recipient('INSURER')
        give(s['ana'])
        # Another purpose, or only requested: not covered.
        give(s['eva'], purpose='purpose_research')
        Consent = Pool().get('spp.consent')
        Consent.create([consent_values(s['santos'])])
        client = create_client(insurer)
        self.assertEqual(client['organisation'], insurer.id)
        self.assertEqual(client['recipient_type'], insurer.type.id)
        everyone = [s['ana'], s['eva'], s['santos'], s['lima']]
        self.assertEqual(visible(client, everyone), [s['ana']])

        # The groups found through memberships: the group's consent.
        Membership = Pool().get('spp.group.membership')
        scope = Scope(client)
        self.assertEqual(Membership.search(
                [('individual', '=', s['ana'].id)]
                + scope.area_domain('group.area')), [])
        give(s['santos'])
        self.assertEqual([m.group for m in Membership.search(
                    [('individual', '=', s['ana'].id)]
                    + scope.area_domain('group.area'))], [s['santos']])

    @with_transaction()
    def test_other_basis_not_filtered(self):
        "A client on another lawful basis is not checked per registrant"
        s = setup_registry()
        insurer = create_recipient('INSURER')
        for basis in ['contract', 'legal_obligation', 'vital_interest',
                'public_task', 'legitimate_interest']:
            client = create_client(create_recipient(basis.upper()),
                lawful_basis=basis, lawful_basis_reason="Recorded")
            self.assertEqual(Pool().get('spp.api.client').sharing_domain(
                    client, 'id'), [])
            self.assertEqual(visible(client, [s['ana'], s['eva']]),
                [s['ana'], s['eva']])
        # Made before the addon (no organisation, no purpose): nothing.
        client = create_client(insurer)
        client.update(purpose=None)
        self.assertEqual(visible(client, [s['ana'], s['eva']]), [])

    @with_transaction()
    def test_withdrawn_and_expired(self):
        "A withdrawn or expired consent no longer covers"
        Consent = Pool().get('spp.consent')
        today = Pool().get('ir.date').today()
        s = setup_registry()
        insurer = create_recipient('INSURER')
        client = create_client(insurer)
        ana = give(s['ana'])
        eva = give(s['eva'], given_on=today - dt.timedelta(days=10),
            expires_on=today - dt.timedelta(days=1))
        # Past its last day, before the expiry pass: not covered already.
        self.assertEqual(visible(client, [s['ana'], s['eva']]), [s['ana']])
        Consent.expire()
        self.assertEqual(Consent(eva.id).state, 'expired')
        Consent.withdraw([ana])
        self.assertEqual(visible(client, [s['ana'], s['eva']]), [])
        give(s['eva'], expires_on=today)
        self.assertEqual(visible(client, [s['ana'], s['eva']]), [s['eva']])

    @with_transaction()
    def test_recipient_and_type(self):
        "A consent covers the organisations it names and those of its types"
        s = setup_registry()
        insurer = create_recipient('INSURER')
        other = create_recipient('OTHER')
        agency = create_recipient('AGENCY', 'recipient_type_humanitarian')
        give(s['ana'])
        give(s['eva'], recipient_types=[],
            recipients=[('add', [agency.id])])
        self.assertEqual(visible(create_client(insurer),
                [s['ana'], s['eva']]), [s['ana']])
        self.assertEqual(visible(create_client(other),
                [s['ana'], s['eva']]), [s['ana']])
        self.assertEqual(visible(create_client(agency),
                [s['ana'], s['eva']]), [s['eva']])

    @with_transaction()
    def test_non_identifying(self):
        "A non-identifying client gets no names, no IDs, and no search by them"
        s = setup_registry()
        client = create_client(create_recipient('STATS'),
            lawful_basis='public_task', lawful_basis_reason="Statistics Act",
            data_access='non_identifying')
        scope = Scope(client)
        individual, = scope.individuals([s['ana']])
        self.assertEqual((individual['name'], individual['family_name'],
                individual['given_name'], individual['birth_date'],
                individual['identifiers']), ('', None, None, None, []))
        self.assertEqual(individual['code'], s['ana'].code)
        group, = scope.groups([s['santos']])
        self.assertEqual(group['name'], '')
        self.assertEqual([m['name'] for m in group['members']], [''])
        self.assertEqual(group['member_count'], 1)
        for fields in [{'identifiers'}, {'given_name', 'area'}]:
            with self.assertRaises(ApiError) as error:
                scope.check_search(fields)
            self.assertEqual(error.exception.status, 403)
        scope.check_search({'area', 'age'})
        with self.assertRaises(ApiError):
            scope.registrant_domain('individual',
                {'id': 'national_id|1234567897'})
        full = Scope(create_client(create_recipient('FULL'),
                lawful_basis='public_task', lawful_basis_reason="Act"))
        full.check_search({'identifiers'})
        self.assertEqual(full.individuals([s['ana']])[0]['given_name'],
            "Ana")


del ActivatedModuleTestCase
