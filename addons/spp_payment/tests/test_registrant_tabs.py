"""A household's whole story on its form (issue 19): its programs,
entitlements and payments, read through the ORM under the record rules."""
from trytond.model.exceptions import AccessError
from trytond.modules.spp_registry.tests.tools import (
    ActivatedModuleTestCase, create_areas, get_ref)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .test_module import approved_entitlements, payments

TABS = ['program_memberships', 'entitlements', 'payments']


class RegistrantTabsTestCase(ActivatedModuleTestCase):
    "Programs, entitlements and payments tabs of the registrant forms"

    module = 'spp_payment'

    @with_transaction()
    def test_tabs_list_the_household_records(self):
        "The tabs hold the household's own memberships, entitlements, payments"
        pool = Pool()
        Party = pool.get('party.party')
        Batch = pool.get('spp.payment.batch')
        Entitlement = pool.get('spp.entitlement')
        cycle = approved_entitlements(households=2)
        Batch.create_for_cycle(cycle)
        h0, h1 = Party.search([('registrant_type', '=', 'group')],
            order=[('id', 'ASC')])
        self.assertEqual([m.program for m in h1.program_memberships],
            [cycle.program])
        self.assertEqual(set(h1.entitlements), set(Entitlement.search(
                    [('registrant', '=', h1.id)])))
        self.assertTrue(h1.entitlements)
        # Program Beneficiaries' search box finds by registry number.
        Membership = pool.get('spp.program.membership')
        self.assertEqual(Membership.search(
                [('rec_name', 'ilike', f'%{h1.code}%')]),
            list(h1.program_memberships))
        self.assertEqual(list(h1.payments),
            [p for p in payments(cycle) if p.registrant == h1])
        self.assertTrue(h1.payments)
        self.assertFalse(set(h1.payments) & set(h0.payments))
        # The form holds the three tabs.
        for view in ['group_view_form', 'individual_view_form']:
            arch = Party.fields_view_get(
                get_ref('spp_registry', view))['arch']
            for name in TABS:
                self.assertIn(f'name="{name}"', arch, (view, name))

    @with_transaction()
    def test_tabs_obey_access(self):
        """A registrar of another area cannot read a household's tabs; a
        registrar without program groups opens the household form"""
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        Batch = pool.get('spp.payment.batch')
        areas = create_areas()
        cycle = approved_entitlements(households=1)
        Batch.create_for_cycle(cycle)
        group, = Party.search([('registrant_type', '=', 'group')])
        group.area = areas['TL-N-A']
        group.save()
        registrar_a, registrar_b = User.create([{
                    'name': login, 'login': login,
                    'groups': [('add', [
                                get_ref('spp_registry', 'group_registrar')])],
                    'spp_areas': [('add', [areas[area].id])],
                    } for login, area in [('reg_a', 'TL-N-A'),
                    ('reg_b', 'TL-N-B')]])
        User._get_groups_cache.clear()
        form = get_ref('spp_registry', 'group_view_form')
        with Transaction().set_user(registrar_b.id), check_access():
            for name in TABS:
                with self.assertRaises(AccessError):
                    Party.read([group.id], [name])
        with Transaction().set_user(registrar_a.id), check_access():
            view = Party.fields_view_get(form)
            names = [n for n in view['fields'] if n != 'rec_name']
            # The fields the form shows are read without an access error.
            record, = Party.read([group.id], names)
            self.assertEqual(record['id'], group.id)
            self.assertIn('memberships', names)
            # Without read access to payments, the form has no such tab.
            self.assertNotIn('payments', names)
