import datetime as dt
from decimal import Decimal

from sql import Null

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import (
    DomainValidationError, SQLConstraintError)
from trytond.model.modelview import AccessButtonError
from trytond.model.modelstorage import DigitsValidationError
from trytond.modules.spp_entitlement.exceptions import (
    EntitlementError, FundError, ItemValidationError)
from trytond.modules.spp_entitlement.voucher import (
    ALPHABET, CODE_LENGTH, check_character, is_valid, new_code)
from trytond.modules.spp_programs.rule import RuleError
from trytond.modules.spp_programs.tests.tools import hot_updatable
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import (
    approved_cycle, cash_program, create_user, household, post_fund,
    standard_items, submitted_cycle)


def amounts(cycle):
    Entitlement = Pool().get('spp.entitlement')
    return {e.registrant.name: (e.amount, e.fee, e.state)
        for e in Entitlement.search([('cycle', '=', cycle.id),
                ('slot', '=', 1)])}


class EntitlementTestCase(ModuleTestCase):
    "Test Entitlement module"
    module = 'spp_entitlement'

    @with_transaction()
    def test_scenario_base_per_child_cap_fee(self):
        """Base 100 + 25.50 per child (at most 3), capped at 170 per
        household, fee 1.5%: exact amounts for hand-computed households"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        household("None", 0)
        household("One", 1)
        household("Two", 2)
        household("Three", 3)
        household("Five", 5)
        program = cash_program(items=standard_items(),
            max_amount=Decimal('170.00'), fee_percentage=Decimal('1.5'))
        cycle = approved_cycle(program)

        count, total, fee = Entitlement.preview(cycle)
        # 100 | 125.50 | 151 | 170 (176.50 capped) | 170 (3 children max)
        self.assertEqual(count, 5)
        self.assertEqual(total, Decimal('716.50'))
        self.assertEqual(Entitlement.search_count([]), 0)  # preview only

        self.assertEqual(Entitlement.prepare(cycle), 5)
        self.assertEqual(amounts(cycle), {
                "None": (Decimal('100.00'), Decimal('1.50'), 'draft'),
                # 125.50 * 1.5% = 1.8825 -> 1.88
                "One": (Decimal('125.50'), Decimal('1.88'), 'draft'),
                # 151.00 * 1.5% = 2.265 -> 2.27 (half up)
                "Two": (Decimal('151.00'), Decimal('2.27'), 'draft'),
                "Three": (Decimal('170.00'), Decimal('2.55'), 'draft'),
                "Five": (Decimal('170.00'), Decimal('2.55'), 'draft'),
                })
        self.assertEqual(fee, Decimal('10.75'))
        # The Python reference agrees with the SQL for every household.
        for entitlement in Entitlement.search([]):
            self.assertEqual(
                program.compute_entitlement(entitlement.registrant),
                (entitlement.amount, entitlement.fee))

    @with_transaction()
    def test_cap_never_raises(self):
        "The maximum caps a total; it never raises a lower one"
        Entitlement = Pool().get('spp.entitlement')
        household("Small", 0)
        program = cash_program(items=[{'name': "Base",
                        'amount': Decimal('40.00')}],
            max_amount=Decimal('500.00'), fee_fixed=Decimal('0.75'))
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        self.assertEqual(amounts(cycle), {
                "Small": (Decimal('40.00'), Decimal('0.75'), 'draft')})

    @with_transaction()
    def test_condition_items_add_up(self):
        "Items add up; a condition limits an item to its beneficiaries"
        Entitlement = Pool().get('spp.entitlement')
        household("Woman led", 1, female_head=True)
        household("Man led", 1)
        program = cash_program(items=[
                {'name': "Base", 'amount': Decimal('10.00')},
                {'name': "Female head", 'amount': Decimal('5.25'),
                    'condition': 'female_head'},
                ])
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        self.assertEqual(amounts(cycle), {
                "Woman led": (Decimal('15.25'), Decimal(0), 'draft'),
                "Man led": (Decimal('10.00'), Decimal(0), 'draft'),
                })

    @with_transaction()
    def test_bad_rules(self):
        "Negative amounts, unknown fields, two fees, too many decimals"
        pool = Pool()
        Item = pool.get('spp.entitlement.item')
        Program = pool.get('spp.program')
        program = cash_program(items=[])
        for values, error, message in [
                ({'amount': Decimal('-5')}, DomainValidationError, 'Amount'),
                ({'amount': Decimal('0')}, DomainValidationError, 'Amount'),
                # The currency's digits refuse it before the item's check.
                ({'amount': Decimal('1.005')}, DigitsValidationError,
                    r'1\.005.*"Amount"'),
                ({'amount': Decimal(1), 'condition': 'salary > 3'},
                    RuleError, '"salary".*not a registrant field'),
                ({'amount': Decimal(1), 'condition': 'child_count >= "x"'},
                    RuleError, 'whole number'),
                ({'amount': Decimal(1), 'multiplier_field': 'child_count',
                        'max_multiplier': -1},
                    DomainValidationError, 'Maximum Multiplier'),
                ]:
            with self.subTest(values=values):
                with self.assertRaisesRegex(error, message):
                    Item.create([{'program': program.id, 'name': "X",
                                **values}])
        with self.assertRaises((TypeError, ValueError, ArithmeticError)):
            Item.create([{'program': program.id, 'name': "X",
                        'amount': 'ten'}])
        with self.assertRaisesRegex(ItemValidationError, 'only one'):
            Program.write([program], {'fee_percentage': Decimal(1),
                    'fee_fixed': Decimal(1)})
        with self.assertRaisesRegex(DomainValidationError, 'Fee'):
            Program.write([program], {'fee_percentage': Decimal(120)})
        with self.assertRaisesRegex(DomainValidationError, 'Maximum'):
            Program.write([program], {'max_amount': Decimal(-1)})

    @with_transaction()
    def test_reprepare_replaces_drafts_only(self):
        "Re-preparing replaces drafts and keeps submitted entitlements"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Item = pool.get('spp.entitlement.item')
        household("One", 1)
        household("Two", 2)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        one, = Entitlement.search([('registrant.name', '=', "One")])
        Entitlement.submit([one])
        base, = Item.search([('name', '=', "Base")])
        Item.write([base], {'amount': Decimal('200.00')})
        self.assertEqual(Entitlement.preview(cycle)[:2],
            (1, Decimal('251.00')))
        self.assertEqual(Entitlement.prepare(cycle), 1)
        self.assertEqual(amounts(cycle), {
                "One": (Decimal('125.50'), Decimal(0),
                    'pending_validation'),
                "Two": (Decimal('251.00'), Decimal(0), 'draft'),
                })
        Entitlement.prepare(cycle)  # idempotent
        self.assertEqual(Entitlement.search_count([]), 2)

    @with_transaction()
    def test_unique_live_entitlement(self):
        "Two live cash entitlements for one beneficiary are refused"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        Entitlement.prepare(cycle)
        entitlement, = Entitlement.search([])
        with self.assertRaisesRegex(UserError, 'only one live'):
            Entitlement.create([{'cycle': cycle.id,
                        'cycle_membership': entitlement.cycle_membership.id,
                        'amount': Decimal(5)}])

    @with_transaction()
    def test_approve_fund_check(self):
        "Approval needs an approved cycle and funds; shortfall is given"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Balance = pool.get('spp.program.balance')
        household("One", 1)
        household("Two", 2)
        program = cash_program(items=standard_items(),
            fee_fixed=Decimal('1.00'))
        cycle = Cycle.create_next(program)
        Cycle.prepare([cycle])
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        with self.assertRaisesRegex(EntitlementError, 'not approved'):
            Cycle.approve_entitlements([cycle])
        Cycle.submit([cycle])
        cycle.submitted_by = None
        cycle.save()
        Cycle.approve([cycle])
        # 125.50 + 151.00 + 2 fees = 278.50
        post_fund(program, Decimal('200.00'))
        with self.assertRaisesRegex(FundError,
                r'278.50 TSD to approve, 200.00 TSD available, '
                r'78.50 TSD short'):
            Cycle.approve_entitlements([cycle])
        self.assertEqual({s for *_, s in amounts(cycle).values()},
            {'pending_validation'})
        post_fund(program, Decimal('78.50'))
        Cycle.approve_entitlements([cycle])
        self.assertEqual({s for *_, s in amounts(cycle).values()},
            {'approved'})
        balance, = Balance.search([('program', '=', program.id)])
        self.assertEqual(
            (balance.posted, balance.committed, balance.paid,
                balance.available),
            (Decimal('278.50'), Decimal('278.50'), Decimal(0), Decimal(0)))
        entitlement = Entitlement.search([])[0]
        self.assertEqual(entitlement.approved_by.id, Transaction().user)
        if backend.name == 'postgresql':
            # Submitting and approving a cycle change every entitlement:
            # in place, without new index entries.
            for column in ['state', 'approved_by', 'approved_at']:
                self.assertTrue(hot_updatable('spp_entitlement', column),
                    column)

    @with_transaction()
    def test_approve_finance_validator_only(self):
        "Only a Finance Validator approves entitlements"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = submitted_cycle(program, Decimal(1000))
        manager = create_user('manager', 'spp_programs.group_program_manager')
        # The Finance Validator group alone reads the cycle it approves.
        validator = create_user('validator',
            'spp_entitlement.group_finance_validator')
        transaction = Transaction()
        with transaction.set_user(manager.id), transaction.set_context(
                _check_access=True):
            with self.assertRaises(AccessButtonError):
                Cycle.approve_entitlements([Cycle(cycle.id)])
            with self.assertRaises(AccessButtonError):
                Entitlement.approve(Entitlement.search([]))
        with transaction.set_user(validator.id), transaction.set_context(
                _check_access=True):
            validator_cycle, = Cycle.search([('id', '=', cycle.id)])
            self.assertEqual(validator_cycle.state, 'approved')
            Cycle.approve_entitlements([validator_cycle])
        self.assertEqual({s for *_, s in amounts(cycle).values()},
            {'approved'})

    @with_transaction()
    def test_approved_amount_locked_correction(self):
        "An approved amount never changes; a correction is cancel + new"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = submitted_cycle(program, Decimal(1000))
        Cycle.approve_entitlements([cycle])
        entitlement, = Entitlement.search([])
        with self.assertRaisesRegex(EntitlementError, 'cannot change'):
            Entitlement.write([entitlement], {'amount': Decimal(1)})
        with self.assertRaisesRegex(EntitlementError, 'cannot be deleted'):
            Entitlement.delete([entitlement])
        correction = Entitlement.correct(entitlement, Decimal('120.00'))
        self.assertEqual(correction.correction_of, entitlement)
        self.assertEqual(Entitlement(entitlement.id).state, 'cancelled')
        self.assertEqual(correction.state, 'draft')
        Entitlement.submit([correction])
        Entitlement.approve([correction])
        self.assertEqual(Entitlement.search_count([]), 2)
        self.assertEqual(Pool().get('spp.program.fund').balance(program)[1],
            Decimal('120.00'))

    @with_transaction()
    def test_committed_running_total(self):
        "The committed amount follows approvals, cancellations and expiries"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Program = pool.get('spp.program')
        Fund = pool.get('spp.program.fund')
        household("One", 1)
        household("Two", 2)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        post_fund(program, Decimal(1000))

        def committed():
            "The running total, checked against the sum of entitlements."
            total = Program(program.id).committed_amount
            self.assertEqual(total, Fund.balance(program)[1])
            return total
        self.assertEqual(committed(), 0)
        Entitlement.prepare(cycle)
        one, two = Entitlement.search([], order=[('id', 'ASC')])
        Entitlement.write([one], {
                'valid_until': dt.date.today() - dt.timedelta(days=1)})
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        self.assertEqual(committed(), Decimal('276.50'))  # 125.50 + 151.00

        correction = Entitlement.correct(Entitlement(two.id), Decimal(100))
        self.assertEqual(committed(), Decimal('125.50'))
        Entitlement.submit([correction])
        Entitlement.approve([correction])
        self.assertEqual(committed(), Decimal('225.50'))
        Entitlement.expire_overdue()
        self.assertEqual(committed(), Decimal('100.00'))
        Entitlement.cancel([Entitlement(one.id)])  # expired: nothing back
        self.assertEqual(committed(), Decimal('100.00'))

        # The fund check reads the running total; a total changed by hand
        # is repaired from the entitlements.
        again = Entitlement.correct(Entitlement(correction.id), Decimal(90))
        Entitlement.submit([again])
        Program.write([program], {'committed_amount': Decimal(1000)})
        with self.assertRaisesRegex(FundError, 'short'):
            Entitlement.approve([again])
        Program.reset_committed()
        self.assertEqual(committed(), Decimal(0))

    @with_transaction()
    def test_expire_overdue(self):
        "The cron expires approved entitlements after their validity"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        household("Two", 1)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        post_fund(program, Decimal(1000))
        Entitlement.prepare(cycle)
        one, two = Entitlement.search([], order=[('id', 'ASC')])
        yesterday = dt.date.today() - dt.timedelta(days=1)
        Entitlement.write([one], {'valid_until': yesterday})
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        self.assertEqual(Cycle(cycle.id).next_expiry, yesterday)

        Entitlement.expire_overdue()
        self.assertEqual(Entitlement(one.id).state, 'expired')
        self.assertEqual(Entitlement(two.id).state, 'approved')
        # The next expiry moves on to the validity still running.
        self.assertEqual(Cycle(cycle.id).next_expiry, two.valid_until)
        self.assertGreaterEqual(two.valid_until, dt.date.today())

    @with_transaction()
    def test_next_expiry_recomputed(self):
        "Every cycle's next expiry can be recomputed from its entitlements"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        program = cash_program(items=standard_items())
        cycle = approved_cycle(program)
        draft = Cycle.create_next(program)
        post_fund(program, Decimal(1000))
        Entitlement.prepare(cycle)
        Cycle.submit_entitlements([cycle])
        Cycle.approve_entitlements([cycle])
        entitlement, = Entitlement.search([])
        table = Cycle.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.next_expiry], [Null]))

        Cycle.reset_expiry()
        self.assertEqual(Cycle(cycle.id).next_expiry,
            entitlement.valid_until)
        self.assertIsNone(Cycle(draft.id).next_expiry)

    @with_transaction()
    def test_prepare_refused(self):
        "No items or a cancelled cycle: preparing is refused"
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        household("One", 1)
        program = cash_program(items=[])
        cycle = Cycle.create_next(program)
        with self.assertRaisesRegex(EntitlementError, 'no cash item'):
            Entitlement.preview(cycle)
        Cycle.cancel([cycle])
        with self.assertRaisesRegex(EntitlementError, 'is Cancelled:'):
            Entitlement.prepare(Cycle(cycle.id))


    def test_new_code(self):
        "Codes are valid, distinct and use every character in every place"
        codes = [new_code() for _ in range(3000)]
        self.assertTrue(all(is_valid(c) for c in codes))
        self.assertEqual(len(set(codes)), len(codes))
        for position in range(CODE_LENGTH):
            self.assertEqual({c[position] for c in codes}, set(ALPHABET))

    @with_transaction()
    def test_voucher_issue_partial_redemption(self):
        """Vouchers get unique codes with a check character when approved
        and are redeemed in parts, never beyond their amount"""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        Program = pool.get('spp.program')
        household("One", 1)
        household("Two", 2)
        program = cash_program(items=standard_items())
        Program.write([program], {'entitlement_kind': 'voucher'})
        cycle = submitted_cycle(program, Decimal(1000))
        Cycle.approve_entitlements([cycle])
        one, two = Entitlement.search([], order=[('amount', 'ASC')])
        self.assertEqual((one.kind, one.amount), ('voucher', Decimal('125.50')))
        self.assertTrue(is_valid(one.code))
        self.assertNotEqual(one.code, two.code)
        self.assertEqual(len(one.code), 17)
        # One wrong character is caught by the check character.
        wrong = one.code[:3] + ('A' if one.code[3] != 'A' else 'B') \
            + one.code[4:]
        with self.assertRaisesRegex(EntitlementError, 'not a valid'):
            Entitlement.redeem(wrong, 10)
        Entitlement.redeem(one.code.lower(), Decimal('100.00'),
            vendor="Shop")
        self.assertEqual(Entitlement(one.id).redeemed_amount,
            Decimal('100.00'))
        self.assertEqual(Entitlement(one.id).state, 'approved')
        with self.assertRaisesRegex(EntitlementError, '25.50 left'):
            Entitlement.redeem(one.code, Decimal('30.00'))
        with self.assertRaisesRegex(EntitlementError, 'positive'):
            Entitlement.redeem(one.code, Decimal('-1'))
        Entitlement.redeem(one.code, Decimal('25.50'))
        one = Entitlement(one.id)
        self.assertEqual(one.state, 'redeemed')
        self.assertEqual(len(one.redemptions), 2)
        with self.assertRaisesRegex(EntitlementError, 'is redeemed'):
            Entitlement.redeem(one.code, Decimal('1'))
        with self.assertRaisesRegex(EntitlementError, 'valid from'):
            Entitlement.redeem(two.code, Decimal('1'),
                date=two.valid_until + dt.timedelta(days=1))
        body = 'A' * 16
        with self.assertRaisesRegex(EntitlementError, 'No voucher'):
            Entitlement.redeem(body + check_character(body), 1)
        # Vouchers are never paid through payment batches; redeemed is paid.
        self.assertEqual(Pool().get('spp.program.fund').balance(program)[2],
            Decimal('125.50'))
        # A correction is a new voucher: no code until approved, nothing
        # redeemed.
        correction = Entitlement.correct(two, Decimal('150.00'))
        self.assertEqual((correction.code, correction.redeemed_amount,
                correction.state), (None, Decimal(0), 'draft'))
        self.assertEqual(Entitlement(two.id).state, 'cancelled')
        # Codes are unique among the entitlements that have one; any
        # number of them have none.
        self.assertEqual(Entitlement.search_count([('code', '=', None)]), 1)
        with self.assertRaisesRegex(SQLConstraintError,
                'A voucher code is unique'):
            Entitlement.write([correction], {'code': one.code})


del ModuleTestCase
