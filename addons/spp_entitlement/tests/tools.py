"Helpers shared by the entitlement tests and the payment tests."
import unittest
from decimal import Decimal

from trytond.modules.spp_programs.tests.test_module import (
    create_program, create_user)
from trytond.modules.spp_registry.tests.tools import (
    create_household, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, drop_db
from trytond.transaction import Transaction


def household(name, children, female_head=False, area=None):
    "A household with a head and `children` young children."
    gender = None
    if female_head:
        from trytond.modules.spp_registry.tests.tools import get_ref
        gender = get_ref('spp_registry', 'gender_female')
    members = [{'family_name': f"{name} Head", 'birth_date': years_ago(35),
            'roles': ['head'], **({'gender': gender} if gender else {})}]
    members += [{'family_name': f"{name} Child {i}",
            'birth_date': years_ago(2 + i), 'roles': ['child']}
        for i in range(children)]
    group, _ = create_household(name, members, area=area)
    return group


def cash_program(code='CASH', items=None, max_amount=None,
        fee_percentage=None, fee_fixed=None, rule=None, in_kind_items=None):
    """An active group program with cash items (a list of dicts), whose
    households of the database are enrolled."""
    pool = Pool()
    Program = pool.get('spp.program')
    program = create_program(rule, code=code, max_amount=max_amount,
        fee_percentage=fee_percentage, fee_fixed=fee_fixed,
        entitlement_items=[('create', items or [])],
        in_kind_items=[('create', in_kind_items or [])])
    Program.import_eligible([program])
    Program.enrol([program])
    return program


def standard_items():
    "Base 100.00, plus 25.50 per child up to 3 children."
    return [
        {'name': "Base", 'amount': Decimal('100.00'), 'sequence': 1},
        {'name': "Per child", 'amount': Decimal('25.50'), 'sequence': 2,
            'condition': 'child_count >= 1',
            'multiplier_field': 'child_count', 'max_multiplier': 3},
        ]


def create_product(name, uom='uom_kilogram'):
    "A goods product measured in the product module's unit `uom`."
    from trytond.modules.spp_registry.tests.tools import get_ref
    Template = Pool().get('product.template')
    template, = Template.create([{'name': name, 'type': 'goods',
                'default_uom': get_ref('product', uom),
                'products': [('create', [{}])]}])
    product, = template.products
    return product


def rice_and_oil():
    """In-kind items for households with children: 5 kg of rice per
    child (at most 3 children, at most 12 kg) and 1.5 l of oil."""
    from trytond.modules.spp_registry.tests.tools import get_ref
    rice = create_product("Rice", 'uom_kilogram')
    oil = create_product("Oil", 'uom_liter')
    return [{'product': rice.id, 'quantity': Decimal(5),
            'uom': get_ref('product', 'uom_kilogram'), 'sequence': 1,
            'condition': 'child_count >= 1',
            'multiplier_field': 'child_count', 'max_multiplier': 3,
            'max_quantity': Decimal(12)},
        {'product': oil.id, 'quantity': Decimal('1.5'),
            'uom': get_ref('product', 'uom_liter'), 'sequence': 2,
            'condition': 'child_count >= 1'}]


def approved_cycle(program):
    "The program's next cycle, prepared, submitted and approved."
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    cycle = Cycle.create_next(program)
    Cycle.prepare([cycle])
    Cycle.submit([cycle])
    cycle = Cycle(cycle.id)
    cycle.submitted_by = None
    cycle.save()
    Cycle.approve([cycle])
    return Cycle(cycle.id)


def post_fund(program, amount):
    Fund = Pool().get('spp.program.fund')
    fund, = Fund.create([{'program': program.id, 'amount': amount,
                'reference': 'TEST'}])
    Fund.post([fund])
    return fund


def submitted_cycle(program, fund):
    """The program's next approved cycle, with `fund` posted and the
    cycle's entitlements prepared and submitted for approval."""
    pool = Pool()
    Entitlement = pool.get('spp.entitlement')
    Cycle = pool.get('spp.cycle')
    cycle = approved_cycle(program)
    post_fund(program, fund)
    Entitlement.prepare(cycle)
    Cycle.submit_entitlements([cycle])
    return cycle


def as_user(user):
    "Context manager acting as `user` with access checks on."
    transaction = Transaction()
    return transaction.set_user(user.id), transaction.set_context(
        _check_access=True)


__all__ = ['create_user', 'household', 'cash_program', 'standard_items',
    'approved_cycle', 'post_fund', 'create_product', 'rice_and_oil']


class EntitlementDatabaseTestCase(unittest.TestCase):
    """A test case with a database of its own, spp_entitlement activated:
    the scenarios run in the same process commit theirs."""

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module('spp_entitlement')

    @classmethod
    def tearDownClass(cls):
        drop_db()
