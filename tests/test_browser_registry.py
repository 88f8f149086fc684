"""A household registered in the sao web client, against a real trytond.

As a caseworker would: Registry > Households and Groups > New, name the household, add
two members in its Members list, creating each individual from the
membership's Individual field ("Create..."), the first one with the Head
role, save, and read the member count indicator (2) on the form and in
the Groups list. Screenshots are saved under
test-artifacts/browser_registry/.
"""
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .browser import (
    ACTIVE_TAB, VISIBLE_DIALOGS, login, open_entry, registry_entries)
from .conftest import copy_log

HOUSEHOLD = "Browser Household"


def enabled(scope, selector):
    "A form widget once sao has drawn a record in it (enabled)."
    widget = scope.locator(f'{selector}:not([disabled])').first
    widget.wait_for(state='visible')
    return widget


def fill(page, scope, selector, value):
    """Type a value in a form field and leave it; the on_change answers
    make sao redraw the record, which can drop a value typed meanwhile:
    type again until it stays."""
    widget = enabled(scope, selector)
    for attempt in range(5):
        page.wait_for_load_state('networkidle')
        widget.fill(value)
        widget.press('Tab')
        page.wait_for_load_state('networkidle')
        page.wait_for_timeout(300)
        if widget.input_value() == value:
            return widget
    raise AssertionError(f"{selector} does not keep {value!r}")


def wait_dialogs(page, count):
    "Wait until `count` dialogs are open; return the top one."
    page.wait_for_function(f"count => ({VISIBLE_DIALOGS})() === count",
        arg=count, timeout=60_000)
    page.wait_for_load_state('networkidle')
    return page.locator('.modal-dialog:visible').last


def create_member(page, artifacts, membership, family_name, given_name,
        gender, birth_date, role=None):
    """In the membership dialog, create the individual from the Individual
    field, give the role, and return once the individual is set."""
    individual = enabled(membership, 'input[name="individual"]')
    create = page.get_by_text('Create...', exact=True).locator(
        'visible=true').first
    # sao redraws the new membership when its defaults arrive, which can
    # wipe what was typed: type again until the completion offers Create.
    for attempt in range(5):
        page.wait_for_load_state('networkidle')
        individual.fill('')
        individual.press_sequentially(given_name, delay=50)
        try:
            create.wait_for(state='visible', timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 4:
                raise
    create.click()
    person = wait_dialogs(page, 2)
    fill(page, person, 'input[name="family_name"]', family_name)
    fill(page, person, 'input[name="given_name"]', given_name)
    fill(page, person, 'input[name="birth_date"]', birth_date)
    enabled(person, 'select[name="gender"]').select_option(label=gender)
    page.wait_for_load_state('networkidle')
    # The name is composed as the parts are typed.
    page.wait_for_function(
        """([name]) => [...document.querySelectorAll(
                '.modal-dialog input[name="name"]')]
            .some(e => e.offsetParent !== null && e.value === name)""",
        arg=[f"{family_name}, {given_name}"], timeout=30_000)
    page.screenshot(path=str(artifacts / f'individual-{given_name}.png'))
    person.get_by_role('button', name=re.compile('^(save|ok)$', re.I)
        ).first.click()
    wait_dialogs(page, 1)
    # The individual is set when the field shows the composed name.
    page.wait_for_function(
        """([name]) => [...document.querySelectorAll(
                '.modal-dialog input[name="individual"]')]
            .some(e => e.offsetParent !== null && e.value.includes(name))""",
        arg=[given_name], timeout=30_000)
    if role:
        roles = membership.locator('.form-many2many').first
        enabled(roles, 'input').fill(role)
        # Enter would press the dialog's default button (Add): use "+".
        roles.locator('button[aria-label="Add"]').first.click()
        page.wait_for_load_state('networkidle')
        added = roles.locator('tbody tr').filter(has_text=role).first
        search = page.locator('.modal-dialog:visible').filter(
            has_text='Search Roles').first
        added.or_(search).wait_for(state='visible')
        if search.is_visible():
            # sao lets the caseworker pick among the roles found.
            search.locator('tbody tr').filter(has_text=role).first.click()
            search.get_by_role('button', name=re.compile('^ok$', re.I)
                ).click()
            wait_dialogs(page, 1)
        added.wait_for(state='visible')


def test_create_household_with_two_members(page, trytond_server, artifacts):
    login(page, trytond_server, trytond_server.database.password)
    registry_entries(page)
    assert open_entry(page, 'Households and Groups') == 'tab'
    tab = page.locator(ACTIVE_TAB)
    page.wait_for_load_state('networkidle')
    tab.locator('button#new_').click()
    enabled(tab, 'input[name="name"]').fill(HOUSEHOLD)

    tab.get_by_role('tab', name='Members', exact=True).click()
    members = tab.locator('.form-one2many:visible').filter(
        has=page.locator('label.form-one2many-string',
            has_text='Members')).first
    page.wait_for_load_state('networkidle')
    members.locator('button[aria-label="New"]').first.click()
    membership = wait_dialogs(page, 1)
    create_member(page, artifacts, membership, "Lopes", "Marta", "Female",
        '03/14/1985', role='Head')
    page.screenshot(path=str(artifacts / 'membership-head.png'))
    membership.locator('.modal-footer').get_by_role(
        'button', name=re.compile('add and new', re.I)).click()
    page.wait_for_load_state('networkidle')
    # The dialog stays, emptied for the next member.
    page.wait_for_function(
        """() => [...document.querySelectorAll(
                '.modal-dialog input[name="individual"]')]
            .some(e => e.offsetParent !== null && e.value === '')""",
        timeout=30_000)
    membership = wait_dialogs(page, 1)
    create_member(page, artifacts, membership, "Lopes", "Tiago", "Male",
        "09/02/2015")
    membership.locator('.modal-footer').get_by_role(
        'button', name=re.compile('^add$', re.I)).click()
    wait_dialogs(page, 0)

    rows = members.locator('tbody tr').filter(has_text='Lopes')
    rows.nth(1).wait_for(state='visible')
    assert rows.count() == 2
    page.screenshot(path=str(artifacts / 'members.png'))

    page.wait_for_load_state('networkidle')
    tab.locator('button#save').click()
    page.wait_for_load_state('networkidle')
    page.wait_for_function(
        """selector => {
            const button = document.querySelector(selector + ' button#save');
            const count = document.querySelector(
                selector + ' input[name="member_count"]');
            return button && button.disabled
                && count && count.value === '2';
        }""", arg=ACTIVE_TAB, timeout=60_000)
    assert not page.locator('.modal-dialog:visible').count(), (
        page.locator('.modal-dialog:visible').inner_text())
    assert tab.locator('input[name="member_count"]:visible').first.input_value(
        ) == '2'
    # The roles, computed by the server, show once saved.
    members.locator('tbody tr').filter(has_text='Marta').filter(
        has_text='Head').first.wait_for(state='visible')
    page.screenshot(path=str(artifacts / 'household-saved.png'))

    # The list shows the indicator too.
    page.wait_for_load_state('networkidle')
    tab.locator('button#switch_').click()
    page.wait_for_load_state('networkidle')
    row = tab.locator('tbody tr:visible').filter(has_text=HOUSEHOLD).first
    row.wait_for(state='visible')
    cells = [c.strip() for c in row.locator('td').all_inner_texts()]
    assert '2' in cells, cells
    page.screenshot(path=str(artifacts / 'groups-list.png'))

    # What the server stored.
    session = trytond_server.login()
    group, = trytond_server.call('model.party.party.search_read', [
            [('name', '=', HOUSEHOLD)], 0, None, None,
            ['member_count', 'female_head', 'registrant_type'], {}],
        session)
    assert (group['member_count'], group['female_head'],
        group['registrant_type']) == (2, True, 'group')
    people = trytond_server.call('model.party.party.search_read', [
            [('family_name', '=', "Lopes")], 0, None, None,
            ['name', 'registrant_type'], {}], session)
    assert sorted((p['name'], p['registrant_type']) for p in people) == [
        ("Lopes, Marta", 'individual'), ("Lopes, Tiago", 'individual')]
    assert not page.js_errors, page.js_errors
    copy_log(trytond_server, artifacts, 'trytond.log')
