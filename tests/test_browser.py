"""The sao web client in headless Chromium, against a real trytond.

Logs in the way a person does (database and user name, then the password),
waits for the menu, opens the "Registry" menu and each of its entries, and
saves screenshots under test-artifacts/browser/. A JavaScript error in the
page (e.g. a view sao cannot draw) fails the test. The helpers that drive
sao are in tests/browser.py.
"""
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .browser import (
    logged_in_page, login, open_entry, registry_entries, wait_for_menu)
from .conftest import copy_log


def test_login_and_open_registry_menu(page, trytond_server, artifacts):
    login(page, trytond_server, trytond_server.database.password,
        screenshot=artifacts / 'login.png')
    registry = wait_for_menu(page)
    page.screenshot(path=str(artifacts / 'menu.png'))

    assert registry.is_visible()
    # The Registry menu opens: its entries appear below it.
    entries = registry_entries(page)
    assert entries
    page.screenshot(path=str(artifacts / 'registry-menu.png'))
    assert not page.js_errors, page.js_errors
    copy_log(trytond_server, artifacts, 'trytond.log')


def test_registry_entries_open(browser, trytond_server, artifacts):
    """Every window under Registry opens (in a tab, or as a wizard dialog)
    without a JavaScript error.

    sao is unusable after an uncaught error, so the next entries get a new
    browser session.
    """
    failures, windows, entries = [], [], None
    session = page = None
    try:
        index = 0
        while entries is None or index < len(entries):
            if page is None:
                session = logged_in_page(browser, trytond_server,
                    artifacts / 'registry-session.png')
                page = session.__enter__()
                listed = registry_entries(page)
                if entries is None:
                    entries = listed
                    assert entries, "the Registry menu has no entries"
                continue
            entry = entries[index]
            index += 1
            slug = re.sub(r'\W+', '-', entry).strip('-').lower()
            errors = len(page.js_errors)
            problem = None
            try:
                kind = open_entry(page, entry)
            except Exception as exception:
                kind = None
                problem = str(exception).splitlines()[0]
            page.screenshot(path=str(artifacts / f'registry-{slug}.png'))
            if len(page.js_errors) > errors:
                problem = '; '.join(page.js_errors[errors:])
                if 'ColumnFactory' in problem:
                    problem += (" (a list view field sao has no column "
                        "for, e.g. a DateTime without widget=\"date\")")
            if problem:
                failures.append(f"{entry}: {problem}")
                session.__exit__(None, None, None)
                session = page = None
                continue
            if kind != 'menu':
                windows.append(entry)
            if kind == 'dialog':
                page.keyboard.press('Escape')
                dialog = page.locator('.modal-dialog:visible').first
                try:
                    dialog.wait_for(state='hidden', timeout=3_000)
                except PlaywrightTimeoutError:
                    # Escape does not close every dialog (that of Record
                    # Consents for a Program stays): its Cancel button does.
                    dialog.locator('.modal-footer button',
                        has_text='Cancel').click()
                    dialog.wait_for(state='hidden', timeout=10_000)
    finally:
        if session is not None:
            session.__exit__(None, None, None)
    assert not failures, (
        "Registry windows that do not open in sao:\n" + '\n'.join(failures))
    assert windows, f"no window opened from {entries}"


def test_login_refused_with_wrong_password(page, trytond_server):
    "A wrong password is refused: sao asks for it again, no menu appears."
    with page.expect_response(
            lambda response: response.url.endswith('/session/login')
            and response.status == 401):
        login(page, trytond_server, 'not-the-password')
    password_field = page.locator('.modal input[type=password]')
    password_field.wait_for(state='visible')
    page.wait_for_function(
        """() => [...document.querySelectorAll('.modal input[type=password]')]
            .some(e => e.offsetParent !== null && e.value === '')""")
    assert not page.locator('#menu').get_by_text(
        'Registry', exact=True).is_visible()
    assert not page.js_errors, page.js_errors
