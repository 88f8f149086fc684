"""Custom fields in the sao web client, against a real trytond.

As the administrator: define a selection field for groups ("Dwelling
Type") in Registry > Configuration > Custom Fields, open a household's
form, find the field in its Custom Fields page, choose a value, save, and
find the household again by filtering the Groups list on it. Screenshots
are saved under test-artifacts/browser_custom_fields/.
"""
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .browser import ACTIVE_TAB, login, open_entry, registry_entries
from .conftest import copy_log


def create_households(server, names):
    "Households made through JSON-RPC; return their ids."
    session = server.login()
    return server.call('model.party.party.create', [
            [{'registrant_type': 'group', 'name': n} for n in names], {}],
        session)


def read_custom_values(server, ids):
    session = server.login()
    return {r['id']: r['custom_values'] for r in server.call(
            'model.party.party.read', [ids, ['custom_values'], {}],
            session)}


def enabled(tab, selector):
    "The form widget once sao has drawn a record in it (enabled)."
    widget = tab.locator(f'{selector}:not([disabled])').first
    widget.wait_for(state='visible')
    return widget


def save(page, tab):
    "Click Save and wait until sao has nothing left to save."
    page.wait_for_load_state('networkidle')
    tab.locator('button#save').click()
    page.wait_for_load_state('networkidle')
    page.wait_for_function(
        """selector => {
            const button = document.querySelector(selector + ' button#save');
            return button && button.disabled;
        }""", arg=ACTIVE_TAB, timeout=30_000)


def switch_to_list(page, tab, text):
    """Switch the form to its list, until a row with text shows (a click
    while sao still redraws after a save can be lost)."""
    row = tab.locator('tbody tr', has_text=text).first
    for attempt in range(4):
        page.wait_for_load_state('networkidle')
        tab.locator('button#switch_').click()
        try:
            row.wait_for(state='visible', timeout=15_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise


def test_add_field_and_use_it_on_household(
        page, trytond_server, artifacts):
    silva, costa = create_households(trytond_server,
        ["Silva Household", "Costa Household"])
    login(page, trytond_server, trytond_server.database.password)
    registry_entries(page)

    # 1. Define the field.
    assert open_entry(page, 'Configuration') == 'menu'
    assert open_entry(page, 'Custom Fields') == 'tab'
    tab = page.locator(ACTIVE_TAB)
    page.wait_for_load_state('networkidle')
    tab.locator('button#new_').click()
    label_input = enabled(tab, 'input[name="string"]')
    label_input.fill("Dwelling Type")
    label_input.press('Tab')
    # The technical name is derived from the label (on_change_string). Typing
    # it too raced with that answer: sao wrote the name into the input while
    # it was being filled, giving "dwelling_typedwelling_type".
    page.wait_for_function(
        "selector => document.querySelector(selector)?.value"
        " === 'dwelling_type'",
        arg=f'{ACTIVE_TAB} input[name="name"]', timeout=30_000)
    enabled(tab, 'select[name="applies_to"]').select_option(label="Groups")
    enabled(tab, 'select[name="type_"]').select_option(label="Selection")
    enabled(tab, 'textarea[name="selection"]').fill(
        "mud: Mud\nbrick: Brick\ntent: Tent")
    page.screenshot(path=str(artifacts / 'definition.png'))
    save(page, tab)
    assert not page.js_errors, page.js_errors
    assert not page.locator('.modal-dialog:visible').count(), (
        page.locator('.modal-dialog:visible').inner_text())

    # Back to the list: open_entry() waits for the first active tab pane,
    # which a form's notebook page would be.
    switch_to_list(page, tab, "dwelling_type")

    # 2. Open the household's form: the field is offered in its page.
    assert open_entry(page, 'Households and Groups') == 'tab'
    tab = page.locator(ACTIVE_TAB)
    # The name cell: a click on a link cell (group kind, area) would open
    # the linked record.
    cell = tab.locator('td', has_text="Silva Household").first
    cell.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    # The page of the form's notebook (not the window's tab of that name).
    page_tab = tab.get_by_role('tab', name="Custom Fields").first
    for attempt in range(4):
        page.wait_for_load_state('networkidle')
        cell.dblclick()
        try:
            page_tab.wait_for(state='visible', timeout=15_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise
    page.wait_for_load_state('networkidle')
    page_tab.click()
    search = enabled(tab, 'input[name="custom_values"]')
    search.fill("Dwelling")
    option = page.locator('.dropdown-menu:visible li',
        has_text="Dwelling Type").first
    try:
        option.wait_for(state='visible', timeout=20_000)
        option.click()
    except PlaywrightTimeoutError:
        # The completion did not come: the Add button opens the list of
        # fields to pick from.
        tab.locator('.form-dict button[title="Add"]').click()
        dialog = page.locator('.modal-dialog:visible').last
        dialog.locator('tr', has_text="Dwelling Type").first.dblclick()
    value = enabled(tab, 'select[name="dwelling_type"]')
    label = tab.locator('.form-dict label', has_text="Dwelling Type")
    assert label.is_visible()
    value.select_option(label="Mud")
    page.screenshot(path=str(artifacts / 'household.png'))
    save(page, tab)
    assert not page.js_errors, page.js_errors
    assert read_custom_values(trytond_server, [silva, costa]) == {
        silva: {'dwelling_type': 'mud'}, costa: None}

    # 3. Find it by filtering the Groups list on the field.
    switch_to_list(page, tab, "Costa Household")
    page.wait_for_load_state('networkidle')
    search = tab.locator('input[placeholder="Search"]').first
    search.fill('Custom Filter: "dwelling_type = mud"')
    search.press('Enter')
    tab.locator('tr', has_text="Costa Household").first.wait_for(
        state='hidden')
    page.wait_for_load_state('networkidle')
    rows = tab.locator('tbody tr', has_text="Household")
    assert rows.all_inner_texts() and all(
        "Silva Household" in text for text in rows.all_inner_texts())
    page.screenshot(path=str(artifacts / 'filtered.png'))
    assert not page.js_errors, page.js_errors
    copy_log(trytond_server, artifacts, 'trytond.log')
