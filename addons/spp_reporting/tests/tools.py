"""A small population for the reporting tests: district A (two
households, one with a female head and a child) and district B (one
household with two children), every head payable, enrolled in a cash
program whose first cycle is approved and batched for payment."""
from decimal import Decimal

from trytond.modules.spp_entitlement.tests.tools import (
    as_user, cash_program, household, standard_items, submitted_cycle)
from trytond.modules.spp_payment.tests.test_module import head, payee_data
from trytond.modules.spp_programs.tests.test_area_rules import area_user
from trytond.modules.spp_registry.tests.tools import create_areas
from trytond.pool import Pool

# One set for every test module here: trytond's DB_CACHE restores it.
MODULES = ['spp_reporting', 'spp_payment', 'spp_grievance',
    'spp_change_request', 'spp_audit']
OFFICER = 'spp_reporting.group_reporting_officer'
MANAGER = 'spp_reporting.group_reporting_manager'


def setup_population():
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Batch = pool.get('spp.payment.batch')
    areas = create_areas()
    a0 = household("A0", 0, area=areas['TL-N-A'])
    a1 = household("A1", 1, female_head=True, area=areas['TL-N-A'])
    b2 = household("B2", 2, area=areas['TL-N-B'])
    for i, group in enumerate([a0, a1, b2]):
        payee_data(head(group), i)
    program = cash_program(items=standard_items())
    cycle = submitted_cycle(program, Decimal(100000))
    Cycle.approve_entitlements([cycle])
    batch, = Batch.create_for_cycle(cycle)
    return {
        'areas': areas, 'households': [a0, a1, b2], 'program': program,
        'cycle': Cycle(cycle.id), 'batch': batch,
        'officer_a': area_user('officer_a', [OFFICER], [areas['TL-N-A']]),
        'manager': area_user('manager', [MANAGER]),
        'nobody': area_user('nobody', ['spp_registry.group_registry_viewer'],
            [areas['TL-N-A']]),
        }


def rows(model, context=None, domain=None):
    "The rows of a report as dicts, with the report context `context`."
    from trytond.transaction import Transaction
    Model = Pool().get(model)
    with Transaction().set_context(context or {}):
        return [{name: (value.id if hasattr(value, 'id') else value)
                for name, value in ((n, getattr(r, n))
                    for n in Model._fields if n not in {
                        'create_uid', 'write_uid', 'create_date',
                        'write_date', 'rec_name'})}
            for r in Model.search(domain or [])]


__all__ = ['as_user', 'setup_population', 'rows', 'area_user']
