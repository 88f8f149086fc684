"""Demo data: a small country with a few hundred generated households, a
handful of hand-made ones that guides and screenshots can name, the demo
users (users.py) and the programs, cycles and payments (scenario.py).

`load_demo()` runs inside a Tryton transaction (tools/sppdb.py load-demo,
called by `make demo`); it does nothing when the demo data is there."""
import datetime as dt

from trytond.pool import Pool

from .connected import load_connected_registries
from .consents import load_consents
from .generate import generate_population, prepare
from .population import Household, Person, years_before
from .scenario import load_scenario
from .users import ensure_users
from .writer import PopulationWriter

DEMO_REGIONS = 4
# Hand-made households: (name, members); a member is (family, given,
# additional, age, gender, role, disability, phone).
NAMED = [
    ("Dela Cruz Household", [
            ("Dela Cruz", "Juan", "Santos", 42, 'male', 'head', False,
                '+639171234567'),
            ("Dela Cruz", "Maria", "Reyes", 38, 'female', 'spouse', False,
                '+639181234567'),
            ("Dela Cruz", "Jose", "Reyes", 12, 'male', 'child', False, None),
            ("Dela Cruz", "Ana", "Reyes", 9, 'female', 'child', True, None),
            ("Dela Cruz", "Lito", "Reyes", 3, 'male', 'child', False, None),
            ]),
    ("Bautista Household", [
            ("Bautista", "Rosario", "Garcia", 71, 'female', 'head', True,
                '+639271234567'),
            ]),
    ("Mendoza Household", [
            ("Mendoza", "Liza", "Torres", 29, 'female', 'head', False,
                '+639951234567'),
            ("Mendoza", "Carlo", "Torres", 7, 'male', 'child', False, None),
            ("Mendoza", "Bea", "Torres", 5, 'female', 'child', False, None),
            ("Mendoza", "Nico", "Torres", 1, 'male', 'child', False, None),
            ]),
    ("Villanueva Household", [
            ("Villanueva", "Ramon", "Cruz", 55, 'male', 'head', False,
                '+639061234567'),
            ("Villanueva", "Elena", "Lopez", 52, 'female', 'spouse', False,
                None),
            ("Villanueva", "Pedro", "Cruz", 80, 'male', 'parent', True, None),
            ("Villanueva", "Mark", "Lopez", 24, 'male', 'child', False, None),
            ("Villanueva", "Joy", "Lopez", 19, 'female', 'child', False,
                None),
            ("Villanueva", "Ella", "Lopez", 15, 'female', 'child', False,
                None),
            ("Santos", "Tess", "Cruz", 33, 'female', 'other', False, None),
            ]),
    # Near-duplicates for the duplicate review: Maria Dela Cruz and
    # Rosario Bautista registered again with a typo in their names, with
    # the same birth dates as the records above.
    ("Reyes Household", [
            ("Dela Cruz", "Maria", "Reyez", 38, 'female', 'head', False,
                None),
            ]),
    ("Garcia Household", [
            ("Garcia", "Emilio", "Ramos", 45, 'male', 'head', False,
                '+639391234567'),
            ("Bautista", "Rosaria", "Garcia", 71, 'female', 'parent', True,
                None),
            ]),
    ]


def named_households(generator, today):
    "The hand-made households, in the busiest localities."
    areas = generator.area_codes
    households = []
    for index, (name, members) in enumerate(NAMED):
        household = Household(name, areas[index % len(areas)],
            today - dt.timedelta(days=30 * (index + 1)))
        for family, given, additional, age, gender, role, disability, \
                phone in members:
            household.members.append(Person(
                    family_name=family, given_name=given,
                    additional_name=additional,
                    birth_date=years_before(today, age)
                    - dt.timedelta(days=40),
                    gender=gender, role=role, disability=disability,
                    civil_status='married' if role in {'head', 'spouse'}
                    and len(members) > 1 and any(
                        m[5] == 'spouse' for m in members) else None,
                    phone=phone))
        households.append(household)
    return households


def demo_loaded():
    Party = Pool().get('party.party')
    return bool(Party.search([
                ('registrant_type', '=', 'group'),
                ('name', '=', NAMED[0][0]),
                ], limit=1))


def load_demo(households=300, seed=7, passwords=None):
    """Load the demo areas, households, users (with `passwords`,
    {login: password}) and scenario into the current transaction's
    database, once: a second call finds them and does nothing."""
    if demo_loaded():
        return False
    today = Pool().get('ir.date').today()
    generator, refs = prepare(seed, regions=DEMO_REGIONS)
    PopulationWriter(refs, generator).write(
        named_households(generator, today))
    generate_population(households, seed=seed, start=0,
        regions=DEMO_REGIONS)
    load_scenario(ensure_users(passwords), today)
    load_connected_registries()
    load_consents(today)
    # The trends start with this month (the daily cron job keeps it
    # fresh): one INSERT ... SELECT per indicator.
    Pool().get('spp.report.snapshot').take()
    skip_configuration_wizard()
    return True


def skip_configuration_wizard():
    "The demo is configured: the first login goes straight to the menu."
    Item = Pool().get('ir.module.config_wizard.item')
    Item.write(Item.search([('state', '!=', 'done')]), {'state': 'done'})
