"""The SLA pass: statuses of open tickets and the escalation of breached
ones to their team's manager, once, in SQL; and the reports."""
import datetime as dt

from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import as_user, file_grievance, setup_grievances


def hours_ago(hours):
    return dt.datetime.now() - dt.timedelta(hours=hours)


class SlaTestCase(ActivatedModuleTestCase):
    "Grievance SLA"
    module = 'spp_grievance'

    @with_transaction()
    def test_statuses_and_escalation(self):
        """On time, at risk (three quarters of the time gone), breached;
        the breached ones escalated once to the manager with an event"""
        pool = Pool()
        Grievance = pool.get('spp.grievance')
        Cron = pool.get('ir.cron')
        s = setup_grievances()
        exclusion = s['categories']['exclusion']  # 48 h / 72 h
        area = s['areas']['TL-N-A']
        fresh = file_grievance(exclusion, area, received_on=hours_ago(1))
        risky = file_grievance(exclusion, area, received_on=hours_ago(40))
        late = file_grievance(exclusion, area, received_on=hours_ago(50))
        late_ack = file_grievance(exclusion, area, received_on=hours_ago(50))
        Grievance.acknowledge([late_ack])  # acknowledged after its due date
        resolved_late = file_grievance(exclusion, area,
            received_on=hours_ago(100))
        Grievance.acknowledge([resolved_late])
        Grievance.write([resolved_late], {'decision': 'upheld'})
        Grievance.resolve([resolved_late])
        # No manager: breached, not escalated.
        orphan = file_grievance(exclusion, s['areas']['TL-N-B'],
            received_on=hours_ago(50), team=s['teams']['integrity'].id)
        self.assertEqual(Grievance(orphan.id).team, s['teams']['integrity'])

        cron, = Cron.search([('method', '=', 'spp.grievance|run_sla')])
        Cron.run_once([cron])
        status = {g.id: g.sla_status for g in Grievance.browse(
                [fresh, risky, late, late_ack, resolved_late, orphan])}
        self.assertEqual(status, {fresh.id: 'on_time', risky.id: 'at_risk',
                late.id: 'breached', late_ack.id: 'breached',
                resolved_late.id: 'breached', orphan.id: 'breached'})
        manager = s['users']['manager']
        for grievance in Grievance.browse([late, late_ack]):
            self.assertEqual(grievance.assigned_to, manager)
            self.assertTrue(grievance.escalated_on)
            self.assertEqual(grievance.events[-1].action, 'breached')
            self.assertEqual(grievance.events[-1].to_user, manager)
        self.assertIsNone(Grievance(orphan.id).escalated_on)
        self.assertIsNone(Grievance(resolved_late.id).escalated_on,
            "a resolved ticket is not escalated")
        self.assertIsNone(Grievance(fresh.id).assigned_to)

        # A second pass escalates nothing again.
        Cron.run_once([cron])
        self.assertEqual([e.action for e in Grievance(late.id).events],
            ['received', 'breached'])
        self.assertEqual(len(Grievance.search(
                    [('sla_status', '=', 'breached')])), 4)

    @with_transaction()
    def test_reports_follow_the_rules(self):
        """The reports count what the reader may see: an officer their
        area's non-sensitive tickets, a manager every area's, the
        sensitive group the sensitive ones"""
        pool = Pool()
        Grievance = pool.get('spp.grievance')
        ByCategory = pool.get('spp.grievance.report.category')
        ByArea = pool.get('spp.grievance.report.area')
        s = setup_grievances()
        c, areas, users = s['categories'], s['areas'], s['users']
        a, b = areas['TL-N-A'], areas['TL-N-B']
        done = file_grievance(c['payment'], a, received_on=hours_ago(5))
        Grievance.acknowledge([done])
        Grievance.write([done], {'decision': 'upheld'})
        Grievance.resolve([done])
        file_grievance(c['payment'], a)
        file_grievance(c['payment'], b)
        file_grievance(c['misconduct'], a)

        def rows(Report, user, key):
            with as_user(user):
                return {getattr(r, key).code: (r.total, r.open_count,
                        r.resolved, r.resolved_in_time)
                    for r in Report.search([])}
        self.assertEqual(rows(ByCategory, users['officer_a'], 'category'),
            {'payment': (2, 1, 1, 1)})
        self.assertEqual(rows(ByArea, users['officer_b'], 'area'),
            {'TL-N-B': (1, 1, 0, 0)})
        self.assertEqual(rows(ByCategory, users['manager'], 'category'),
            {'payment': (3, 2, 1, 1)})
        self.assertEqual(rows(ByCategory, users['sensitive'], 'category'),
            {'misconduct': (1, 1, 0, 0)})
        self.assertEqual(rows(ByArea, users['manager'], 'area'),
            {'TL-N-A': (2, 1, 1, 1), 'TL-N-B': (1, 1, 0, 0)})
        with as_user(users['manager']):
            payment, = ByCategory.search([])
            self.assertEqual(payment.share_in_time, 100)
            self.assertAlmostEqual(payment.avg_resolution_hours, 5, delta=0.1)
        # A period counts the tickets received in it, its days whole.
        file_grievance(c['exclusion'], b, received_on=dt.datetime(
                2026, 3, 1, 23, 0))
        since = hours_ago(6).date()  # the day of the oldest, five hours ago
        with Transaction().set_context(from_date=since,
                to_date=dt.date.today()):
            self.assertEqual(rows(ByCategory, users['manager'], 'category'),
                {'payment': (3, 2, 1, 1)})
        with Transaction().set_context(from_date=dt.date(2026, 3, 1),
                to_date=dt.date(2026, 3, 1)):
            self.assertEqual(rows(ByCategory, users['manager'], 'category'),
                {'exclusion': (1, 1, 0, 0)})
