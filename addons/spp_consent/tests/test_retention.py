"""Retention: policies, the anonymisation runs, what they keep and what
they refuse to touch."""
import contextlib
import datetime as dt

from trytond.model import fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_consent.consent import forget_records
from trytond.modules.spp_payment.tests.test_module import (
    approved_entitlements, head)
from trytond.modules.spp_programs.tests.test_module import create_program
from trytond.modules.spp_registry.tests.tools import ActivatedModuleTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, check_access

from .tools import MODULES, consent_values, setup_registry, years_ago


def backdate(parties, column, years):
    "Set `column` of `parties` `years` ago, in SQL (the ORM sets now)."
    Party = Pool().get('party.party')
    table = Party.__table__()
    value = dt.datetime.combine(years_ago(years), dt.time(9))
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.update([getattr(table, column)], [value],
            where=table.id.in_([p.id for p in parties])))


def disable(parties, years):
    "Disable `parties`, `years` ago."
    Pool().get('party.party').disable(parties, "Moved abroad")
    backdate(parties, 'disabled', years)


def snapshot(parties):
    """What the database holds of `parties`: their rows, their ID
    documents, contacts and addresses, as tuples."""
    pool = Pool()
    cursor = Transaction().connection.cursor()
    ids = [p.id for p in parties]
    result = []
    for name, column in [('party.party', 'id'),
            ('party.identifier', 'party'),
            ('party.contact_mechanism', 'party'),
            ('party.address', 'party')]:
        table = pool.get(name).__table__()
        cursor.execute(*table.select(*table_columns(name, table),
                where=getattr(table, column).in_(ids),
                order_by=[table.id]))
        result.append((name, cursor.fetchall()))
    return result


def table_columns(name, table):
    "The stored columns of model `name`, on its `table`."
    Model = Pool().get(name)
    return [getattr(table, n) for n, f in sorted(Model._fields.items())
        if not isinstance(f, fields.Function)
        and f._type not in {'one2many', 'many2many'}
        and n not in {'write_date', 'write_uid'}]


@contextlib.contextmanager
def refused(test):
    """Assert a ValidationError, the database left as it was before (a
    savepoint: on PostgreSQL the CHECK constraint refuses the statement
    and aborts the transaction otherwise)."""
    cursor = Transaction().connection.cursor()
    cursor.execute('SAVEPOINT spp_retention_refused')
    with test.assertRaises(ValidationError):
        yield
    cursor.execute('ROLLBACK TO SAVEPOINT spp_retention_refused')
    forget_records(Pool().get('spp.retention.policy'))


def policy(situation='disabled', period=7, unit='years', **values):
    Policy = Pool().get('spp.retention.policy')
    created, = Policy.create([{'name': f"{situation} {period} {unit}",
                'situation': situation, 'period': period, 'unit': unit,
                **values}])
    return created


class RetentionTestCase(ActivatedModuleTestCase):
    "Retention"
    module = MODULES

    @with_transaction()
    def test_disabled_registrants_anonymised(self):
        """A household disabled eight years ago under a seven-year policy:
        its personal data goes, its records stay; the Lima household,
        active, is left alone"""
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Contact = pool.get('party.contact_mechanism')
        Address = pool.get('party.address')
        Membership = pool.get('spp.group.membership')
        Consent = pool.get('spp.consent')
        Log = pool.get('spp.audit.log')
        s = setup_registry()
        ana, santos, eva = s['ana'], s['santos'], s['eva']
        Party.write([ana], {'occupation': "Teacher",
                'additional_name': "Maria"})
        Identifier.create([
                {'party': ana.id, 'type': 'passport', 'code': 'P1234567'},
                {'party': ana.id, 'type': 'voter_card', 'code': 'VC778899'}])
        Contact.create([
                {'party': ana.id, 'type': 'mobile', 'value': '+639175550001'},
                {'party': ana.id, 'type': 'email', 'value': 'ana@example.com'},
                {'party': santos.id, 'type': 'phone',
                    'value': '+639175550002'}])
        Address.create([{'party': santos.id, 'street': "1 Rizal Street",
                    'city': "Dili"}])
        consent, = Consent.create([consent_values(ana,
                    given_by='representative',
                    representative_name="Jose Santos")])
        Identifier.create([
                {'party': eva.id, 'type': 'passport', 'code': 'P7654321'}])
        disable([santos, ana], 8)
        birth_year = ana.birth_date.year
        lima_before = snapshot([s['lima'], eva])

        run, = pool.get('spp.retention.policy').anonymise([policy()])

        self.assertEqual((run.anonymised_count, run.skipped_count), (2, 0))
        self.assertEqual({r.registrant for r in run.registrants},
            {ana, santos})
        self.assertEqual(run.cutoff, years_ago(7))
        ana, santos = Party(ana.id), Party(santos.id)
        self.assertEqual((ana.name, ana.family_name, ana.given_name,
                ana.additional_name, ana.occupation, ana.disabled_reason),
            ("Anonymised", None, None, None, None, None))
        self.assertEqual(ana.birth_date, dt.date(birth_year, 1, 1))
        self.assertTrue(ana.birth_date_approximate)
        self.assertEqual(ana.anonymised, pool.get('ir.date').today())
        self.assertEqual(santos.name, "Anonymised")
        for party in [ana, santos]:
            self.assertEqual((party.identifiers, party.contact_mechanisms,
                    party.addresses), ((), (), ()))
        self.assertFalse(Identifier.search([('party', 'in', [ana.id])]))
        # What is kept: the registry number, the area, the sex, the
        # household and its membership, the consent without its names.
        self.assertEqual(ana.area, s['areas']['TL-N-A'])
        self.assertTrue(ana.code)
        self.assertEqual(Membership.search([('group', '=', santos.id)])[0]
            .individual, ana)
        consent = Consent(consent.id)
        self.assertEqual(consent.representative_name, "Anonymised")
        # The history of the record holds no earlier name either.
        cursor = Transaction().connection.cursor()
        history = Party.__table_history__()
        cursor.execute(*history.select(history.name, history.family_name,
                history.given_name, history.birth_date,
                where=history.id == ana.id))
        rows = cursor.fetchall()
        self.assertTrue(rows)
        for name, family_name, given_name, birth_date in rows:
            self.assertEqual((name, family_name, given_name),
                ("Anonymised", None, None))
            self.assertIn(str(birth_date)[:10],
                {str(dt.date(birth_year, 1, 1)), 'None'})
        identifier_history = Identifier.__table_history__()
        cursor.execute(*identifier_history.select(identifier_history.code,
                where=identifier_history.party == ana.id))
        self.assertEqual(cursor.fetchall(), [])
        # Lima is untouched.
        self.assertEqual(snapshot([s['lima'], eva]), lima_before)
        # One audit entry for the run, listing both registrants.
        Log.flush()
        entry, = Log.search([('action', '=', 'anonymised')])
        self.assertEqual(entry.count, 2)
        self.assertEqual(entry.records, f',{min(ana.id, santos.id)},'
            f'{max(ana.id, santos.id)},')

    @with_transaction()
    def test_run_twice_changes_nothing(self):
        "A second run finds nothing to do and changes nothing"
        pool = Pool()
        Policy = pool.get('spp.retention.policy')
        s = setup_registry()
        disable([s['santos'], s['ana']], 10)
        retention = policy()
        first, = Policy.anonymise([retention])
        self.assertEqual(first.anonymised_count, 2)
        parties = [s['santos'], s['ana'], s['lima'], s['eva']]
        before = snapshot(parties)
        second, = Policy.anonymise([retention])
        self.assertEqual((second.anonymised_count, second.skipped_count,
                second.registrants, second.skipped), (0, 0, (), ()))
        self.assertEqual(snapshot(parties), before)
        # Anonymised once, on the first run's day, whatever runs after.
        self.assertEqual(pool.get('party.party')(s['ana'].id).anonymised,
            first.date)

    @with_transaction()
    def test_period_not_past(self):
        "Disabled six years ago: a seven-year policy keeps the data"
        Policy = Pool().get('spp.retention.policy')
        s = setup_registry()
        disable([s['santos'], s['ana']], 6)
        before = snapshot([s['santos'], s['ana']])
        run, = Policy.anonymise([policy()])
        self.assertEqual(run.anonymised_count, 0)
        self.assertEqual(snapshot([s['santos'], s['ana']]), before)
        # In months: 60 months is past.
        run, = Policy.anonymise([policy(period=60, unit='months')])
        self.assertEqual(run.anonymised_count, 2)

    @with_transaction()
    def test_period_zero_or_negative_refused(self):
        "A period of 0 or less is refused, on creation and on change"
        Policy = Pool().get('spp.retention.policy')
        for period in [0, -1, -7]:
            with self.subTest(period=period), refused(self):
                policy(period=period)
        retention = policy()
        with refused(self):
            Policy.write([retention], {'period': 0})
        self.assertEqual(Policy(retention.id).period, 7)
        self.assertEqual(Policy.search([]), [retention])

    @with_transaction()
    def test_open_payment_skipped(self):
        """A disabled household with an open payment (and its approved
        entitlement) is skipped, with its members: nothing changes. Once
        paid, the next run anonymises it and keeps the payment"""
        pool = Pool()
        Policy = pool.get('spp.retention.policy')
        Batch = pool.get('spp.payment.batch')
        Payment = pool.get('spp.payment')
        Entitlement = pool.get('spp.entitlement')
        Membership = pool.get('spp.group.membership')
        cycle = approved_entitlements(households=2)
        Batch.create_for_cycle(cycle)
        h0, h1 = pool.get('party.party').search(
            [('registrant_type', '=', 'group')], order=[('id', 'ASC')])
        members = [m.individual for m in Membership.search(
                [('group', '=', h1.id)])]
        person = head(h1)
        payment, = Payment.search([('registrant', '=', h1.id)])
        self.assertEqual((payment.state, payment.payee), ('issued', person))
        disable([h1] + members, 8)
        before = snapshot([h1] + members)

        run, = Policy.anonymise([policy()])

        self.assertEqual(run.anonymised_count, 0)
        self.assertEqual(run.skipped_count, 1 + len(members))
        reasons = {}
        for skip in run.skipped:
            reasons.setdefault(skip.registrant, set()).add(skip.reason)
        self.assertEqual(reasons[h1], {'open_payment', 'open_entitlement'})
        self.assertIn('open_payment', reasons[person])
        for member in members:
            if member != person:
                self.assertEqual(reasons[member], {'active_household'})
        self.assertEqual(snapshot([h1] + members), before)
        self.assertEqual(Payment(payment.id).payee_name,
            payment.payee_name)

        # Paid and reconciled: nothing is open any more.
        cursor = Transaction().connection.cursor()
        table, entitlement = Payment.__table__(), Entitlement.__table__()
        cursor.execute(*table.update([table.state], ['paid'],
                where=table.id == payment.id))
        cursor.execute(*entitlement.update([entitlement.state],
                ['distributed'], where=entitlement.registrant == h1.id))
        run, = Policy.anonymise([policy()])
        self.assertEqual(run.anonymised_count, 1 + len(members))
        payment = Payment(payment.id)
        self.assertEqual((payment.state, payment.registrant, payment.payee,
                payment.payee_name, payment.payee_phone,
                payment.payee_account),
            ('paid', h1, person, "Anonymised", None, None))
        self.assertTrue(payment.amount)
        self.assertTrue(Entitlement.search([('registrant', '=', h1.id)]))
        # The other household was never disabled.
        self.assertNotEqual(pool.get('party.party')(h0.id).name,
            "Anonymised")

    @with_transaction()
    def test_open_grievance_skipped(self):
        "A registrant about whom a complaint is open is skipped"
        pool = Pool()
        Policy = pool.get('spp.retention.policy')
        Grievance = pool.get('spp.grievance')
        Category = pool.get('spp.grievance.category')
        Channel = pool.get('spp.grievance.channel')
        s = setup_registry()
        category, = Category.create([{'name': "Payment", 'code': 'pay',
                    'severity': 'medium'}])
        channel, = Channel.search([], limit=1)
        grievance, = Grievance.create([{'category': category.id,
                    'channel': channel.id, 'area': s['areas']['TL-N-A'].id,
                    'complainant_kind': 'registrant',
                    'complainant': s['ana'].id,
                    'complainant_contact': "+639175550001",
                    'description': "Not paid."}])
        disable([s['santos'], s['ana']], 8)
        run, = Policy.anonymise([policy()])
        self.assertEqual({(k.registrant, k.reason) for k in run.skipped},
            {(s['ana'], 'open_grievance')})
        # Her household is anonymised, she is not.
        self.assertEqual({r.registrant for r in run.registrants},
            {s['santos']})
        self.assertEqual(pool.get('party.party')(s['ana'].id).name,
            s['ana'].name)
        self.assertEqual(Grievance(grievance.id).complainant_contact,
            "+639175550001")

    @with_transaction()
    def test_program_situations(self):
        """Exited every program two years ago, or found not eligible:
        past a one-year policy; an enrolled one is kept"""
        pool = Pool()
        Policy = pool.get('spp.retention.policy')
        Membership = pool.get('spp.program.membership')
        s = setup_registry()
        programs = [create_program(code='P1'), create_program(code='P2')]
        long_ago = years_ago(2)
        Membership.create([
                {'program': programs[0].id, 'registrant': s['santos'].id},
                {'program': programs[1].id, 'registrant': s['santos'].id},
                {'program': programs[0].id, 'registrant': s['lima'].id},
                ])
        table = Membership.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.state, table.exit_date, table.state_date],
                ['exited', long_ago, long_ago],
                where=table.registrant == s['santos'].id))
        # Lima still enrolled in one program.
        cursor.execute(*table.update([table.state, table.state_date],
                ['enrolled', long_ago],
                where=table.registrant == s['lima'].id))
        run, = Policy.anonymise([policy('exited', 1)])
        self.assertEqual({r.registrant for r in run.registrants},
            {s['santos'], s['ana']})
        # The program memberships stay, for the program's statistics.
        self.assertEqual(len(Membership.search(
                    [('registrant', '=', s['santos'].id)])), 2)
        run, = Policy.anonymise([policy('rejected', 1)])
        self.assertEqual(run.anonymised_count, 0)
        cursor.execute(*table.update([table.state], ['not_eligible'],
                where=table.registrant == s['lima'].id))
        run, = Policy.anonymise([policy('rejected', 1)])
        self.assertEqual({r.registrant for r in run.registrants},
            {s['lima'], s['eva']})

    @with_transaction()
    def test_access_and_cron(self):
        """Only the Data Protection Officer manages policies and runs
        them; the cron job runs every active policy"""
        pool = Pool()
        Policy = pool.get('spp.retention.policy')
        Cron = pool.get('ir.cron')
        s = setup_registry()
        disable([s['santos'], s['ana']], 8)
        with Transaction().set_user(s['registrar_a'].id), check_access():
            with self.assertRaises(AccessError):
                Policy.create([{'name': "Mine", 'situation': 'disabled',
                            'period': 1}])
        with Transaction().set_user(s['dpo'].id), check_access():
            retention, = Policy.create([{'name': "Disabled",
                        'situation': 'disabled', 'period': 7}])
            Policy.run_now([retention])
            run, = Policy(retention.id).runs
            self.assertEqual(run.anonymised_count, 2)
        cron, = Cron.search(
            [('method', '=', 'spp.retention.policy|run_all')])
        self.assertIn('spp.retention.policy|run_all',
            dict(Cron.method.selection))
        policy(active=False)
        runs = Policy.run_all()
        self.assertEqual([r.policy for r in runs], [retention])
