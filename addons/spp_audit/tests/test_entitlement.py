"What the entitlements and funds record in the audit log."
import datetime as dt
import json
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.spp_entitlement.tests.tools import (
    approved_cycle, cash_program, create_user, household, post_fund,
    standard_items)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .test_module import entries
from .test_programs import SpineAuditTestCase, details, rpc

# Households with 0..4 children: 100 + 25.50 per child, 3 at most.
AMOUNTS = [Decimal(a) for a in ['100', '125.5', '151', '176.5', '176.5']]


def prepared_cycle():
    "A cash program's approved cycle with funds and draft entitlements."
    Entitlement = Pool().get('spp.entitlement')
    for i in range(5):
        household(f"H{i}", i)
    program = cash_program(items=standard_items())
    cycle = approved_cycle(program)
    post_fund(program, Decimal(10000))
    Entitlement.prepare(cycle)
    return program, cycle


class EntitlementAuditTestCase(SpineAuditTestCase):
    "Audit of entitlements and funds"

    @with_transaction()
    def test_cycle_entitlements_one_entry_per_step(self):
        "Preparing, submitting and approving a cycle's entitlements"
        pool = Pool()
        Cycle = pool.get('spp.cycle')
        program, cycle = prepared_cycle()
        total = sum(AMOUNTS)

        prepared, = entries(model='spp.cycle', action='prepare_entitlements')
        self.assertEqual(prepared.record_id, cycle.id)
        self.assertEqual(prepared.count, 5)
        self.assertEqual(details(prepared)['kind'], 'cash')
        self.assertEqual(Decimal(details(prepared)['amount']), total)
        posted, = entries(model='spp.program.fund', action='post')
        self.assertEqual(Decimal(details(posted)['amount']), 10000)
        self.assertEqual(details(posted)['programs'], [program.id])

        Cycle.submit_entitlements([cycle])
        submitted, = entries(model='spp.cycle',
            action='submit_entitlements')
        self.assertEqual(submitted.count, 5)
        self.assertEqual(Decimal(details(submitted)['amount']), total)

        Cycle.approve_entitlements([cycle])
        approved, = entries(model='spp.cycle', action='approve_entitlements')
        self.assertEqual(approved.record_id, cycle.id)
        self.assertEqual(approved.count, 5)
        self.assertEqual(Decimal(details(approved)['committed']), total)
        self.assertEqual(approved.user.id, Transaction().user)
        # Set-based: no entry per entitlement, and none for the buttons.
        self.assertEqual(entries(model='spp.entitlement'), [])

    @with_transaction()
    def test_selected_entitlements(self):
        """Submitting, approving and rejecting chosen entitlements; a draft's
        changed amount is recorded old and new"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        _, cycle = prepared_cycle()
        first, second, *_ = Entitlement.search([('cycle', '=', cycle.id)],
            order=[('id', 'ASC')])
        Entitlement.write([first], {'amount': Decimal('90')})
        written, = entries(model='spp.entitlement', action='write')
        self.assertEqual(written.record_id, first.id)
        old, new = json.loads(written.changes)['amount']
        self.assertEqual((Decimal(old), Decimal(new)),
            (AMOUNTS[0], Decimal(90)))

        Entitlement.submit([first, second])
        submitted, = entries(model='spp.entitlement', action='submit')
        self.assertEqual(submitted.count, 2)
        self.assertEqual(submitted.records, f',{first.id},{second.id},')
        Entitlement.approve([Entitlement(first.id)])
        Entitlement.reject([Entitlement(second.id)])
        approved, = entries(model='spp.entitlement', action='approve')
        self.assertEqual(approved.record_id, first.id)
        self.assertEqual(details(approved)['approved'], 1)
        self.assertEqual(Decimal(details(approved)['committed']), 90)
        rejected, = entries(model='spp.entitlement', action='reject')
        self.assertEqual(rejected.record_id, second.id)
        state = {e.record_id: json.loads(e.changes)['state'] for e in entries(
                model='spp.entitlement', action='write')
            if 'state' in json.loads(e.changes)}
        self.assertEqual(state[second.id][1], 'rejected')

        correction = Entitlement.correct(Entitlement(first.id),
            Decimal('95'))
        corrected, = entries(model='spp.entitlement', action='correct')
        self.assertEqual(details(corrected)['correction'], correction.id)
        self.assertEqual([Decimal(a) for a in details(corrected)['amount']],
            [Decimal(90), Decimal(95)])

    @with_transaction()
    def test_expiry_one_entry(self):
        "The daily expiry is one entry with what it released"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        _, cycle = prepared_cycle()
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        yesterday = pool.get('ir.date').today() - dt.timedelta(days=1)
        table = Entitlement.__table__()
        cycle_table = Cycle.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.valid_until], [yesterday],
                where=table.cycle == cycle.id))
        cursor.execute(*cycle_table.update([cycle_table.next_expiry],
                [yesterday], where=cycle_table.id == cycle.id))
        Entitlement.expire_overdue()
        expired, = entries(model='spp.entitlement', action='expire_overdue')
        self.assertEqual(expired.count, 5)
        self.assertEqual(Decimal(details(expired)['released']),
            sum(AMOUNTS))
        self.assertEqual(expired.channel, 'system')
        Entitlement.expire_overdue()
        self.assertEqual(len(entries(action='expire_overdue')), 1,
            "a run that expires nothing is no entry")

    @with_transaction()
    def test_entitlement_reads_recorded(self):
        "Reading entitlements over RPC is an access entry; auditors read"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Fund = pool.get('spp.program.fund')
        Balance = pool.get('spp.program.balance')
        _, cycle = prepared_cycle()
        ids = [e.id for e in Entitlement.search([('cycle', '=', cycle.id)])]
        rpc(Entitlement, 'read', ids, ['amount'])
        entry, = entries(model='spp.entitlement', action='access')
        self.assertEqual(entry.count, 5)
        self.assertEqual(details(entry), {'fields': ['amount']})

        auditor = create_user('auditor', 'spp_audit.group_auditor')
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(len(Entitlement.search([])), 5)
            fund, = Fund.search([])
            self.assertEqual(Balance.search([]), [Balance(fund.program.id)])
            with self.assertRaises(AccessError):
                Entitlement.write(Entitlement.search([], limit=1),
                    {'amount': Decimal(1)})


    @with_transaction()
    def test_resource_only_of_readable_models(self):
        """An entry links to its record only for a user who may read that
        model: the client would drop the whole link field otherwise, and
        the link must not name records of models the user cannot open"""
        pool = Pool()
        Log = pool.get('spp.audit.log')
        Rule = pool.get('spp.audit.rule')
        Access = pool.get('ir.model.access')
        auditor = create_user('auditor', 'spp_audit.group_auditor')
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(_check_access=True):
            hidden = [m for m in Rule.audited_models()
                if not Access.check(m, 'read', raise_exception=False)]
        self.assertIn('spp.registry.duplicate', hidden)
        Log.record_access('party.party', [1])
        Log.record_changes('spp.registry.duplicate', 'write',
            {1: {'state': ['open', 'dismissed']}})
        Log.flush()
        with Transaction().set_user(auditor.id), \
                Transaction().set_context(_check_access=True):
            resources = {e.model: str(e.resource) if e.resource else None
                for e in Log.search([('record_id', '=', 1)])}
            selection = dict(Log.get_resource_models())
        self.assertEqual(resources['party.party'], 'party.party,1')
        self.assertIsNone(resources['spp.registry.duplicate'])
        self.assertNotIn('spp.registry.duplicate', selection)


del SpineAuditTestCase
