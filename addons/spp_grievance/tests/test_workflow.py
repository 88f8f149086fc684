"""Grievances from receipt to closure: assignment, deadlines, the
workflow with its refusals, escalation, reopening and appeal."""
import datetime as dt

from trytond.exceptions import UserError
from trytond.model.exceptions import DomainValidationError, ValidationError
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from ..deadline import add_working_days
from .tools import as_user, file_grievance, setup_grievances

# A Monday.
MONDAY = dt.datetime(2026, 12, 7, 10, 30)


class WorkflowTestCase(ActivatedModuleTestCase):
    "Grievance workflow"
    module = 'spp_grievance'

    @with_transaction()
    def test_filed_assigned_and_timed(self):
        """A new ticket has a reference, the team of its area and category,
        its subcategory's severity, deadlines and a receipt event"""
        s = setup_grievances()
        c, areas, teams = s['categories'], s['areas'], s['teams']
        grievance = file_grievance(c['payment'], areas['TL-N-A'],
            subcategory=c['missed'].id, received_on=MONDAY,
            complainant=s['ana'].id, complainant_kind='registrant')
        year = Pool().get('ir.date').today().year
        self.assertRegex(grievance.reference, rf'^GRV-{year}-\d{{6}}$')
        self.assertEqual(grievance.team, teams['local_a'])
        self.assertEqual(grievance.severity, 'high')
        self.assertFalse(grievance.sensitive)
        self.assertEqual(grievance.state, 'new')
        # 2 and 10 working days from Monday 10:30 (Saturday and Sunday off).
        self.assertEqual(grievance.ack_due, dt.datetime(2026, 12, 9, 10, 30))
        self.assertEqual(grievance.resolution_due,
            dt.datetime(2026, 12, 21, 10, 30))
        # At risk once three quarters of the time have gone.
        self.assertEqual(grievance.ack_risk_on,
            dt.datetime(2026, 12, 8, 22, 30))
        self.assertEqual([e.action for e in grievance.events], ['received'])

        # Another area: no local team, the category's team.
        other = file_grievance(c['payment'], areas['TL-N-B'])
        self.assertEqual(other.team, teams['regional'])
        # Misconduct: the team that names it, sensitive.
        misconduct = file_grievance(c['misconduct'], areas['TL-N-A'])
        self.assertEqual(misconduct.team, teams['integrity'])
        self.assertTrue(misconduct.sensitive)
        self.assertEqual(misconduct.severity, 'critical')

    @with_transaction()
    def test_whole_workflow(self):
        """Acknowledge, investigate, resolve with a decision, close; each
        step stamped and in the timeline"""
        pool = Pool()
        Grievance = pool.get('spp.grievance')
        s = setup_grievances()
        officer = s['users']['officer_a']
        grievance = file_grievance(s['categories']['exclusion'],
            s['areas']['TL-N-A'], user=officer)
        with as_user(officer):
            Grievance.take([grievance])
            Grievance.acknowledge([grievance])
            Grievance.investigate([grievance])
            with self.assertRaisesRegex(UserError, 'Choose the decision'):
                Grievance.resolve([grievance])
            Grievance.write([grievance], {'decision': 'upheld',
                    'resolution': "You were added back to the program."})
            Grievance.resolve([grievance])
            Grievance.close([grievance])
        grievance = Grievance(grievance.id)
        self.assertEqual(grievance.state, 'closed')
        self.assertEqual(grievance.assigned_to, officer)
        self.assertEqual(grievance.acknowledged_by, officer)
        self.assertEqual(grievance.resolved_by, officer)
        self.assertTrue(grievance.closed_on)
        self.assertEqual(grievance.sla_status, 'on_time')
        self.assertEqual([e.action for e in grievance.events], [
                'received', 'assigned', 'acknowledged', 'investigating',
                'resolved', 'closed'])
        self.assertEqual(grievance.events[-2].comment, "Upheld")

    @with_transaction()
    def test_refusals(self):
        """Closing a ticket never acknowledged, escalating a closed one,
        reopening without a reason: refused, nothing changed"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'])
        with self.assertRaisesRegex(UserError, 'never acknowledged'):
            Grievance.close([grievance])
        Grievance.acknowledge([grievance])
        with self.assertRaisesRegex(UserError, 'not resolved'):
            Grievance.close([grievance])
        with self.assertRaisesRegex(UserError, 'only a decision'):
            Grievance.appeal([grievance], "Unfair")
        Grievance.write([grievance], {'decision': 'not_upheld'})
        Grievance.resolve([grievance])
        with self.assertRaisesRegex(UserError, 'reopen it or file an appeal'):
            Grievance.escalate([grievance], "Too slow")
        with self.assertRaisesRegex(UserError, 'Give the reason'):
            Grievance.reopen([grievance], '')
        with self.assertRaisesRegex(UserError, 'being handled'):
            Grievance.delete([grievance])
        self.assertEqual(Grievance(grievance.id).state, 'resolved')

    @with_transaction()
    def test_escalate(self):
        """Escalation moves the ticket to the next level's team, assigned
        to its manager, with the reason in the timeline"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        teams = s['teams']
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'])
        Grievance.escalate([grievance], "Needs the regional budget")
        grievance = Grievance(grievance.id)
        self.assertEqual(grievance.team, teams['regional'])
        self.assertEqual(grievance.level, '2')
        self.assertEqual(grievance.assigned_to, s['users']['manager'])
        event = grievance.events[-1]
        self.assertEqual((event.action, event.from_team, event.to_team,
                event.comment), ('escalated', teams['local_a'],
                teams['regional'], "Needs the regional budget"))
        # The regional team escalates to no one.
        with self.assertRaisesRegex(UserError, 'escalates to no team'):
            Grievance.escalate([grievance], "Further")

    @with_transaction()
    def test_reopen_and_appeal(self):
        """Reopening gives a new resolution period; an appeal is a new
        ticket linked to the contested one, at the next level"""
        Grievance = Pool().get('spp.grievance')
        s = setup_grievances()
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'], complainant=s['ana'].id,
            complainant_kind='registrant', registrant=s['ana'].id,
            confidential=True)
        Grievance.acknowledge([grievance])
        Grievance.write([grievance], {'decision': 'not_upheld'})
        Grievance.resolve([grievance])
        Grievance.reopen([grievance], "New evidence: a bank statement")
        grievance = Grievance(grievance.id)
        self.assertEqual(grievance.state, 'reopened')
        self.assertIsNone(grievance.resolved_on)
        self.assertGreater(grievance.resolution_due, dt.datetime.now())
        self.assertEqual(grievance.events[-1].comment,
            "New evidence: a bank statement")
        Grievance.resolve([grievance])
        Grievance.close([grievance])

        appeal, = Grievance.appeal([grievance], "The decision ignores "
            "the bank statement")
        self.assertEqual(appeal.appeal_of, grievance)
        self.assertEqual(appeal.state, 'new')
        self.assertEqual(appeal.team, s['teams']['regional'])
        self.assertEqual(appeal.complainant, s['ana'])
        self.assertTrue(appeal.confidential)
        self.assertNotEqual(appeal.reference, grievance.reference)
        self.assertEqual(Grievance(grievance.id).appeals, (appeal,))
        self.assertEqual(Grievance(grievance.id).events[-1].comment,
            appeal.reference)

    @with_transaction()
    def test_working_days_and_holidays(self):
        """Working days skip the weekend and the calendar's holidays; a
        complaint received on a day off counts from the next working
        day"""
        pool = Pool()
        Holiday = pool.get('spp.grievance.holiday')
        Configuration = pool.get('spp.grievance.configuration')
        Grievance = pool.get('spp.grievance')
        weekend = {5, 6}
        friday = dt.datetime(2026, 12, 11, 16, 0)
        self.assertEqual(add_working_days(friday, 1, weekend, set()),
            dt.datetime(2026, 12, 14, 16, 0))
        christmas = {dt.date(2026, 12, 25)}
        thursday = dt.datetime(2026, 12, 24, 9, 0)
        self.assertEqual(add_working_days(thursday, 1, weekend, christmas),
            dt.datetime(2026, 12, 28, 9, 0))
        saturday = dt.datetime(2026, 12, 12, 11, 0)
        self.assertEqual(add_working_days(saturday, 1, weekend, set()),
            dt.datetime(2026, 12, 15, 0, 0))

        s = setup_grievances()
        Holiday.create([{'date': dt.date(2026, 12, 8), 'name': "Feast"}])
        config = Configuration(1)
        config.weekend = ['4', '5']  # Friday and Saturday off
        config.save()
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'], received_on=MONDAY)
        # Tuesday the 8th is a holiday, Friday and Saturday are off.
        self.assertEqual(grievance.ack_due, dt.datetime(2026, 12, 10, 10, 30))
        # Changing the date of receipt recounts: received on the holiday,
        # from Wednesday's start; Friday and Saturday off.
        Grievance.write([grievance], {'received_on': MONDAY
                + dt.timedelta(days=1)})
        self.assertEqual(Grievance(grievance.id).ack_due,
            dt.datetime(2026, 12, 13, 0, 0))
        # Hours are hours, whatever the day.
        hours = file_grievance(s['categories']['exclusion'],
            s['areas']['TL-N-A'], received_on=MONDAY)
        self.assertEqual(hours.ack_due, MONDAY + dt.timedelta(hours=48))

    @with_transaction()
    def test_two_levels_of_categories(self):
        "A subcategory cannot have subcategories"
        Category = Pool().get('spp.grievance.category')
        s = setup_grievances()
        with self.assertRaises(DomainValidationError):
            Category.create([{'name': "Deeper", 'code': 'deeper',
                        'parent': s['categories']['missed'].id}])
        # Nor can a category with subcategories become one.
        with self.assertRaisesRegex(ValidationError, 'two levels'):
            Category.write([s['categories']['payment']],
                {'parent': s['categories']['exclusion'].id})

    @with_transaction()
    def test_receipt(self):
        """The printed receipt gives the reference and the deadlines, and
        names no complainant"""
        Receipt = Pool().get('spp.grievance.receipt', type='report')
        s = setup_grievances()
        grievance = file_grievance(s['categories']['payment'],
            s['areas']['TL-N-A'], received_on=MONDAY,
            complainant_kind='other', complainant_name="Rosa Diaz",
            confidential=True)
        extension, content, _, name = Receipt.execute([grievance.id], {})
        self.assertEqual(extension, 'html')
        html = content.decode() if isinstance(content, bytes) else content
        self.assertIn(grievance.reference, html)
        self.assertIn("What happens next", html)
        self.assertIn("12/09/2026", html)  # acknowledged by, en format
        self.assertNotIn("Rosa", html)
        self.assertIn(grievance.reference, grievance.receipt_text())
        self.assertIn("2026-12-21 10:30", grievance.receipt_text())
