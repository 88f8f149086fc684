"""Helpers to drive the sao web client in headless Chromium.

Uses Debian's chromium (/usr/bin/chromium, or $SPP_CHROMIUM) through
Playwright; `make test` installs it. Playwright's own browser downloads are
never used. The `browser` and `page` fixtures are in tests/conftest.py.
"""
import contextlib
import os
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .server import ADMIN_LOGIN

CHROMIUM = os.environ.get('SPP_CHROMIUM', '/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    ]
TIMEOUT = 60_000  # ms


def watch_errors(page):
    """Collect uncaught JavaScript exceptions (sao stops drawing at the
    first one) in page.js_errors, and count them in the page too so that
    waits can stop early."""
    page.js_errors = []
    page.on('pageerror', lambda error: page.js_errors.append(str(error)))
    page.add_init_script(
        "window.sppErrors = 0;"
        "window.addEventListener('error', () => { window.sppErrors += 1; });")


def login(page, server, password, screenshot=None, user=ADMIN_LOGIN):
    "Fill sao's login dialogs: database and user name, then the password."
    database = server.database.name
    response = page.goto(f'{server.url}#{database}')
    assert response is not None and response.ok, (
        f"GET {server.url} answered {response and response.status}")
    dialog = page.locator('.login-dialog')
    dialog.wait_for(state='visible')
    # sao shows a list, or an entry (read-only when there is one database),
    # once it has asked the server for its databases.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.login-dialog #database')]
            .some(element => element.offsetParent !== null)""")
    select = dialog.locator('select#database')
    field = dialog.locator('input#database')
    if select.is_visible():
        select.select_option(database)
    elif field.is_editable():
        field.fill(database)
    dialog.locator('input#login').fill(user)
    if screenshot:
        page.screenshot(path=str(screenshot))
    dialog.locator('button[type=submit]').click()

    password_field = page.locator('.modal input[type=password]')
    password_field.wait_for(state='visible')
    password_field.fill(password)
    password_field.press('Enter')


def wait_for_menu(page):
    """Wait for the main menu after a login; return the Registry entry.

    On the first login of a new database Tryton opens its "Module
    Configuration" wizard (add users, languages) before the menu: close it
    as a person would. (The test databases have it done already, see
    TestDatabase.mark_configured: once cancelled, sao could leave the next
    menu clicks without effect on PostgreSQL.)
    """
    registry = page.locator('#menu').get_by_text('Registry', exact=True)
    wizard = page.locator('#tablist').get_by_text('Module Configuration').first
    registry.or_(wizard).first.wait_for(state='visible')
    for _ in range(10):
        if not wizard.is_visible():
            break
        cancel = page.locator('#tabcontent').get_by_role(
            'button', name=re.compile('cancel', re.I))
        # A click while the wizard still waits for the server is ignored:
        # retry until the wizard is gone.
        cancel.click()
        try:
            wizard.wait_for(state='hidden', timeout=3_000)
        except PlaywrightTimeoutError:
            pass
    registry.wait_for(state='visible')
    return registry


def registry_entries(page):
    "Open the Registry menu; return the texts of the entries under it."
    registry = wait_for_menu(page)
    menu_rows = page.locator('#menu tbody tr')
    top_level = [text.strip() for text in menu_rows.all_inner_texts()]
    assert 'Registry' in top_level, top_level
    registry.click()
    page.wait_for_function(
        "count => document.querySelectorAll('#menu tbody tr').length > count",
        arg=len(top_level))
    page.wait_for_load_state('networkidle')
    texts = [text.strip() for text in menu_rows.all_inner_texts()]
    start = texts.index('Registry') + 1
    end = next((i for i in range(start, len(texts)) if texts[i] in top_level),
        len(texts))
    return texts[start:end]


# The window of the current tab (a form's notebook pages are .tab-pane too).
ACTIVE_TAB = '#tabcontent > .tab-pane.active'

VISIBLE_DIALOGS = """() => [...document.querySelectorAll('.modal-dialog')]
    .filter(element => element.offsetParent !== null).length"""


TAB_ANCHORS = """() => [...document.querySelectorAll('#tablist li a')]
    .map(anchor => anchor.getAttribute('href'))"""


def open_entry(page, entry, nth=0):
    """Click a menu entry; return 'tab' when a window opened, 'dialog' when
    a wizard opened, 'menu' when it was a sub-menu that expanded.

    nth: which of the rows of that name (0 the first), for an entry named
    as its menu (Grievances › Grievances)."""
    # Tabs are told apart by their anchors: counting them is not enough, as
    # a tab may close meanwhile (e.g. the module configuration wizard that
    # opens at first login and ends by itself).
    tabs = page.evaluate(TAB_ANCHORS)
    rows = page.locator('#menu tbody tr').count()
    dialogs = page.evaluate(VISIBLE_DIALOGS)
    errors = page.evaluate('window.sppErrors || 0')
    row = page.locator('#menu tbody tr').filter(
        has_text=re.compile(rf'^\s*{re.escape(entry)}\s*$')).nth(nth)
    # sao redraws the menu rows when late answers (children, favourites)
    # arrive; a click on a row being replaced is lost, so a click that
    # changed nothing is repeated (sao focuses an already open tab rather
    # than opening the same window twice).
    for attempt in range(4):
        page.wait_for_load_state('networkidle')
        row.click()
        try:
            page.wait_for_function(
                f"""([tabs, rows, dialogs, errors]) =>
                    ({TAB_ANCHORS})().some(tab => !tabs.includes(tab))
                    || document.querySelectorAll('#menu tbody tr').length
                        > rows
                    || ({VISIBLE_DIALOGS})() > dialogs
                    || (window.sppErrors || 0) > errors""",
                arg=[tabs, rows, dialogs, errors], timeout=20_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                titles = page.locator('#tablist li').all_inner_texts()
                raise AssertionError(f"clicked {attempt + 1} times, nothing "
                    f"opened; tabs: {titles}")
    # An entry can be a sub-menu and a window at once: let every request
    # it started finish before looking at what it did.
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(300)
    if page.evaluate('window.sppErrors || 0') > errors:
        raise AssertionError("JavaScript error while opening it")
    if any(tab not in tabs for tab in page.evaluate(TAB_ANCHORS)):
        # The window is drawn when its tab has content.
        page.locator(ACTIVE_TAB).wait_for(
            state='visible', timeout=60_000)
        return 'tab'
    if page.evaluate(VISIBLE_DIALOGS) > dialogs:
        return 'dialog'
    return 'menu'


def user_session(browser, server, password, user, **options):
    """A new browser context and page of `user`, logged in, its menu
    drawn; `options` go to the context (accept_downloads...)."""
    context = browser.new_context(
        viewport={'width': 1440, 'height': 900}, locale='en-US', **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    login(page, server, password, user=user)
    page.locator('#menu tbody tr').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    return context, page


@contextlib.contextmanager
def logged_in_page(browser, server, screenshot):
    "A new browser session logged in; screenshot of its last state kept."
    context = browser.new_context(viewport={'width': 1280, 'height': 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    try:
        login(page, server, server.database.password)
        yield page
    finally:
        page.screenshot(path=str(screenshot))
        context.close()
