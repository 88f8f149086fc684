"""The create-program wizard in the sao web client, against a real trytond.

A population of households (some with children) is made through JSON-RPC.
Then, in sao, the administrator opens Programs > Create Program, fills the
essentials (name, code, households, the rule `child_count >= 1`, a
quarterly recurrence, activate, a cash amount and its maximum), creates the
program, sees its form, presses Import Eligible then Enrol. The result is
checked through JSON-RPC: the enrolled members are exactly the registrants
a search with the same domain finds, and the program has its cash item.
Screenshots are saved under test-artifacts/browser_programs/.
"""
import datetime as dt
import re
from decimal import Decimal

from .browser import (
    ACTIVE_TAB, VISIBLE_DIALOGS, login, open_entry, wait_for_menu)
from .conftest import copy_log

PROGRAM = "Wizard Child Grant"
CODE = 'WCG'
RULE = 'child_count >= 1'
# The rule's domain for households, as spp.program adds it to the rule
# (target type, not disabled): computed here without the program.
ELIGIBLE_DOMAIN = [('registrant_type', '=', 'group'),
    ('disabled', '=', None), ('child_count', '>=', 1)]
# Households of the test population: name -> number of children.
HOUSEHOLDS = {"Wizard Household A": 0, "Wizard Household B": 1,
    "Wizard Household C": 2, "Wizard Household D": 0,
    "Wizard Household E": 3}


class Admin:
    "JSON-RPC calls as the administrator of the test server."

    def __init__(self, server):
        self.server = server
        self.session = server.login()

    def __call__(self, method, *args):
        return self.server.call(method, [*args, {}], session=self.session)

    def search(self, model, domain):
        return self(f'model.{model}.search', domain, 0, None, None)


def date(year):
    return {'__class__': 'date', 'year': year, 'month': 1, 'day': 1}


def create_population(admin):
    """The households of HOUSEHOLDS, each with a head (aged about 40) and
    its young children (about 4); return {name: id}."""
    this_year = dt.date.today().year
    roles = {r['code']: r['id'] for r in admin(
            'model.spp.group.membership.role.search_read', [], 0, None, None,
            ['code'])}
    ids = {}
    for name, children in HOUSEHOLDS.items():
        members = [(f"{name} Head", 'head', this_year - 40)] + [
            (f"{name} Child {i}", 'child', this_year - 4)
            for i in range(children)]
        individuals = admin('model.party.party.create', [{
                    'registrant_type': 'individual', 'family_name': member,
                    'birth_date': date(year)}
                for member, _, year in members])
        ids[name], = admin('model.party.party.create', [{
                    'registrant_type': 'group', 'name': name,
                    'memberships': [('create', [{
                                    'individual': individual,
                                    'roles': [('add', [roles[role]])]}
                                for individual, (_, role, _) in zip(
                                    individuals, members)])],
                    }])
    return ids


def decimal(value):
    "A Decimal from its JSON-RPC form."
    assert value['__class__'] == 'Decimal', value
    return Decimal(value['decimal'])


def wait_for_value(page, selector, value, timeout=60_000):
    "Wait until the input matching selector (a CSS path) shows value."
    page.wait_for_function(
        """([selector, value]) => [...document.querySelectorAll(selector)]
            .some(input => input.value === value)""",
        arg=[selector, value], timeout=timeout)


def fill_text(page, scope, name, text):
    """Type into a text field and leave it (sao takes the value on
    change), once sao is idle."""
    page.wait_for_load_state('networkidle')
    field = scope.locator(
        f'input[name="{name}"]:not([disabled]), '
        f'textarea[name="{name}"]:not([disabled])').first
    field.fill(text)
    field.press('Tab')
    page.wait_for_load_state('networkidle')


def fill_number(page, scope, name, text):
    """Type into a numeric field: sao shows a text input and swaps in a
    number input when it gets the focus."""
    page.wait_for_load_state('networkidle')
    scope.locator(f'input[type="text"][name="{name}"]').click()
    number = scope.locator(f'input[type="number"][name="{name}"]')
    number.wait_for(state='visible')
    number.fill(text)
    number.press('Tab')
    page.wait_for_load_state('networkidle')


def click_button(page, scope, name):
    "Click a button by its label once sao is idle and it is enabled."
    page.wait_for_load_state('networkidle')
    button = scope.get_by_role('button', name=re.compile(
            rf'^\s*{re.escape(name)}\s*$'))
    button.wait_for(state='visible')
    page.wait_for_function('button => !button.disabled',
        arg=button.element_handle())
    button.click()


def run_wizard(page, artifacts, expected):
    "Open Programs > Create Program, fill it and press Create."
    assert open_entry(page, 'Programs') == 'menu'
    assert open_entry(page, 'Create Program') == 'dialog'
    dialog = page.locator('.modal-dialog:visible').last
    dialog.locator('input[name="name"]:not([disabled])').wait_for(
        state='visible')
    fill_text(page, dialog, 'name', PROGRAM)
    fill_text(page, dialog, 'code', CODE)
    # The defaults: households, the only currency, rule-based, activate.
    assert dialog.locator('select[name="target_type"]').evaluate(
        'select => select.options[select.selectedIndex].text') == (
        "Group (household)")
    assert dialog.locator('input[name="currency"]').input_value() == (
        "Browser Dollar")
    assert dialog.locator('input[type="checkbox"][name="activate"]'
        ).is_checked()
    # The rule's on_change answers with its check and count: the next
    # fields are typed once they show (the answer redraws the form).
    fill_text(page, dialog, 'eligibility_rule', RULE)
    wait_for_value(page, '.modal-dialog input[name="rule_status"]',
        "The rule is valid.")
    wait_for_value(page, '.modal-dialog input[type="text"]'
        '[name="eligible_count"]', str(len(expected)))
    page.wait_for_load_state('networkidle')
    dialog.locator('select[name="recurrence"]').select_option(
        label="Quarterly")
    fill_number(page, dialog, 'entitlement_amount', '75.00')
    # The maximum shows once there is an amount.
    dialog.locator('input[type="text"][name="entitlement_max_amount"]'
        ).wait_for(state='visible')
    fill_number(page, dialog, 'entitlement_max_amount', '150.00')
    wait_for_value(page, '.modal-dialog input[type="text"]'
        '[name="entitlement_amount"]', '75.00')
    wait_for_value(page, '.modal-dialog input[type="text"]'
        '[name="entitlement_max_amount"]', '150.00')
    # Nothing typed was lost to a redraw.
    assert dialog.locator('input[name="name"]').input_value() == PROGRAM
    assert dialog.locator('input[name="code"]').input_value() == CODE
    assert dialog.locator('textarea[name="eligibility_rule"]'
        ).input_value() == RULE
    page.screenshot(path=str(artifacts / 'wizard.png'))
    click_button(page, dialog, 'Create')
    page.wait_for_function(f'() => ({VISIBLE_DIALOGS})() === 0')


def press_and_wait(page, tab, button, counts, confirm=None):
    """Press a program button (answering OK to its confirmation) and wait
    until the form, reloaded, shows the counts {field: value}, or a dialog
    (an error) shows; a click before the reload could land on the old
    values."""
    click_button(page, tab, button)
    if confirm:
        dialog = page.locator('.modal-dialog:visible').last
        dialog.wait_for(state='visible')
        assert confirm in dialog.inner_text(), dialog.inner_text()
        click_button(page, dialog, 'OK')
        page.wait_for_function(f'() => ({VISIBLE_DIALOGS})() === 0')
    selectors = {f'{ACTIVE_TAB} input[type="text"][name="{field}"]':
        str(value) for field, value in counts.items()}
    page.wait_for_function(
        f"""expected => ({VISIBLE_DIALOGS})() > 0
            || Object.entries(expected).every(([selector, value]) =>
                [...document.querySelectorAll(selector)]
                .some(input => input.value === value))""",
        arg=selectors)
    page.wait_for_load_state('networkidle')
    assert not page.evaluate(VISIBLE_DIALOGS), (
        page.locator('.modal-dialog:visible').last.inner_text())
    # The reloaded record is unchanged: nothing to save.
    page.wait_for_function(
        """selector => document.querySelector(selector + ' button#save')
            ?.disabled""", arg=ACTIVE_TAB, timeout=30_000)


def test_create_program_with_wizard_and_enrol(
        page, trytond_server, artifacts):
    admin = Admin(trytond_server)
    households = create_population(admin)
    admin('model.currency.currency.create', [{
                'name': "Browser Dollar", 'code': 'BRD', 'symbol': 'B$',
                'digits': 2, 'rounding': {'__class__': 'Decimal',
                    'decimal': '0.01'}}])
    assert len(admin.search('currency.currency', [])) == 1
    # Who the rule selects, found without the program.
    expected = set(admin.search('party.party', ELIGIBLE_DOMAIN))
    with_children = {households[n] for n, c in HOUSEHOLDS.items() if c}
    assert with_children <= expected
    assert not expected & {households[n] for n, c in HOUSEHOLDS.items()
        if not c}

    try:
        program = create_and_enrol(page, trytond_server, artifacts, admin,
            expected)
    finally:
        copy_log(trytond_server, artifacts, 'trytond.log')

    values, = admin('model.spp.program.read', [program],
        ['state', 'target_type', 'recurrence', 'eligibility_rule',
            'max_amount', 'entitlement_items', 'last_action'])
    assert (values['state'], values['target_type'], values['recurrence'],
        values['eligibility_rule'], values['last_action']) == (
        'active', 'group', 'quarterly', RULE, 'enrol')
    assert decimal(values['max_amount']) == Decimal('150.00')
    items = admin('model.spp.entitlement.item.read',
        values['entitlement_items'], ['amount', 'condition'])
    assert [(decimal(i['amount']), i['condition']) for i in items] == [
        (Decimal('75.00'), None)]
    members = admin('model.spp.program.membership.search_read',
        [('program', '=', program)], 0, None, None,
        ['registrant', 'state'])
    enrolled = {m['registrant'] for m in members if m['state'] == 'enrolled'}
    assert enrolled == expected
    assert len(members) == len(expected)


def create_and_enrol(page, server, artifacts, admin, expected):
    """Log in, create the program with the wizard, import and enrol in
    its form; return its id."""
    login(page, server, server.database.password)
    wait_for_menu(page)
    run_wizard(page, artifacts, expected)
    # The new program opens in its form.
    tab = page.locator(ACTIVE_TAB)
    wait_for_value(page, f'{ACTIVE_TAB} input[name="name"]', PROGRAM)
    program, = admin.search('spp.program', [('code', '=', CODE)])
    page.wait_for_load_state('networkidle')
    beneficiaries = tab.get_by_role('tab', name="Beneficiaries").first
    beneficiaries.click()
    tab.get_by_role('button', name="Import Eligible").wait_for(
        state='visible')
    page.screenshot(path=str(artifacts / 'program.png'))

    press_and_wait(page, tab, 'Import Eligible',
        {'draft_count': len(expected)})
    page.screenshot(path=str(artifacts / 'imported.png'))
    press_and_wait(page, tab, 'Enrol',
        {'enrolled_count': len(expected), 'draft_count': 0},
        confirm="Enrol the draft members who match the rule")
    # Still the same program.
    wait_for_value(page, f'{ACTIVE_TAB} input[name="name"]', PROGRAM)
    page.screenshot(path=str(artifacts / 'enrolled.png'))
    assert not page.js_errors, page.js_errors
    return program
