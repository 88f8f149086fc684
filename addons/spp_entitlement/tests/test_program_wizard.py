"The create-program wizard with the entitlement defaults of spp_entitlement."
from decimal import Decimal

from trytond.modules.spp_entitlement.exceptions import ItemValidationError
from trytond.modules.spp_programs.tests.test_module import (
    create_currency, create_user)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    EntitlementDatabaseTestCase, approved_cycle, household)

def run_wizard(currency, **values):
    """Run spp.program.create through the ORM as a client does (create,
    execute the Create button with the start form); return the action."""
    CreateProgram = Pool().get('spp.program.create', type='wizard')
    session_id, _, _ = CreateProgram.create()
    start = {
        'name': "Child Grant", 'code': 'CGW', 'target_type': 'group',
        'currency': currency.id, 'eligibility_method': 'rule',
        'eligibility_rule': 'child_count >= 1', 'recurrence': 'monthly',
        'activate': True,
        **values,
        }
    try:
        result = CreateProgram.execute(session_id, {'start': start},
            'create_')
    finally:
        CreateProgram.delete(session_id)
    return result


class ProgramWizardTestCase(EntitlementDatabaseTestCase):
    "Test the entitlement defaults of the create-program wizard"

    @with_transaction()
    def test_wizard_imports_and_enrols(self):
        "Ticking Import and Enrol gives a program with its members enrolled"
        Program = Pool().get('spp.program')
        household("None", 0)
        household("Two", 2)
        run_wizard(create_currency(), enrol=True,
            entitlement_amount=Decimal('50.00'))
        program, = Program.search([('code', '=', 'CGW')])
        self.assertEqual(
            (program.state, program.enrolled_count, program.draft_count),
            ('active', 1, 0))

    @with_transaction()
    def test_start_form_offers_entitlement_fields(self):
        "The start form shows the amount and the maximum"
        Start = Pool().get('spp.program.create.start')
        view = Start.fields_view_get(view_type='form')
        self.assertIn('entitlement_amount', view['fields'])
        self.assertIn('entitlement_max_amount', view['fields'])
        self.assertIn('name="entitlement_amount"', view['arch'])

    @with_transaction()
    def test_wizard_creates_program_with_cash_item(self):
        """A program manager's wizard run creates an active program with its
        cash item and cap, which prepare the cycle's entitlements"""
        pool = Pool()
        Program = pool.get('spp.program')
        Entitlement = pool.get('spp.entitlement')
        household("None", 0)
        household("Two", 2)
        currency = create_currency()
        manager = create_user('wizard_manager',
            'spp_programs.group_program_manager')
        with Transaction().set_user(manager.id), \
                Transaction().set_context(_check_access=True):
            result = run_wizard(currency,
                entitlement_amount=Decimal('50.00'),
                entitlement_max_amount=Decimal('80.00'))
        program, = Program.search([('code', '=', 'CGW')])
        self.assertEqual(result['actions'][0][0]['res_id'], [program.id])
        self.assertEqual(program.state, 'active')
        self.assertEqual(program.max_amount, Decimal('80.00'))
        item, = program.entitlement_items
        self.assertEqual((item.name, item.amount, item.condition),
            ("Base amount", Decimal('50.00'), None))

        Program.import_eligible([program])
        Program.enrol([program])
        self.assertEqual(Program(program.id).enrolled_count, 1)
        cycle = approved_cycle(program)
        self.assertEqual(Entitlement.prepare(cycle), 1)
        entitlement, = Entitlement.search([('cycle', '=', cycle.id)])
        self.assertEqual((entitlement.registrant.name, entitlement.amount),
            ("Two", Decimal('50.00')))

    @with_transaction()
    def test_wizard_without_amount(self):
        "Without an amount the program has no cash item and no cap"
        Program = Pool().get('spp.program')
        run_wizard(create_currency(), entitlement_max_amount=Decimal('80'))
        program, = Program.search([('code', '=', 'CGW')])
        self.assertEqual(program.entitlement_items, ())
        self.assertIsNone(program.max_amount)

    @with_transaction()
    def test_bad_amounts_refused(self):
        """A zero, negative or too precise amount, a too precise maximum and
        a maximum below the amount are refused, naming the value; nothing
        is created"""
        Program = Pool().get('spp.program')
        currency = create_currency()
        for values, expected in [
                ({'entitlement_amount': Decimal(0)},
                    "must be positive, not 0"),
                ({'entitlement_amount': Decimal('-5.00')},
                    "must be positive, not -5.00"),
                ({'entitlement_amount': Decimal('10.005')},
                    "The amount 10.005 has more decimals than the "
                    "currency TSD allows"),
                ({'entitlement_amount': Decimal('10.00'),
                        'entitlement_max_amount': Decimal('20.001')},
                    "The amount 20.001 has more decimals"),
                ({'entitlement_amount': Decimal('50.00'),
                        'entitlement_max_amount': Decimal('20.00')},
                    "The maximum per beneficiary 20.00 is below the amount "
                    "per beneficiary 50.00"),
                ]:
            with self.subTest(values=values):
                with self.assertRaises(ItemValidationError) as cm:
                    run_wizard(currency, **values)
                self.assertIn(expected, cm.exception.message)
                self.assertEqual(Program.search([('code', '=', 'CGW')]), [])
