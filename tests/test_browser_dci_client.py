"""The connected registries in the sao web client, on the demo database
(loaded as `make demo` loads it, see test_browser_demo.py), in headless
Chromium:

- the demo registrar (one region) opens Registry › Connected Registries ›
  Life Events and finds the two events the civil registry notified that
  wait for review (a death of a person we do not hold, a birth whose
  parents we do not hold), and opens the death;
- the administrator opens the civil registry's connection under
  Administration › Integrations › Connected Registries and the Pull from
  Registry wizard.

Screenshots go to docs/img with SPP_DOCS_SCREENSHOTS=1."""
from .browser import ACTIVE_TAB, open_entry, user_session
from .test_browser_demo import (
    PASSWORDS, demo_server, keep, list_rows, menu_texts, open_row)

assert demo_server  # the fixture: one demo load for this module


def open_connected(page):
    if 'Life Events' not in menu_texts(page):
        assert open_entry(page, 'Registry') == 'menu'
        assert open_entry(page, 'Connected Registries') == 'menu'


def test_registrar_reviews_life_events(browser, demo_server, artifacts):
    context, page = user_session(browser, demo_server,
        PASSWORDS['registrar'], 'registrar')
    try:
        open_connected(page)
        assert open_entry(page, 'Life Events') == 'tab'
        tab = page.locator(ACTIVE_TAB)
        tab.locator('.treeview tbody tr:visible').first.wait_for()
        rows = list_rows(tab)
        assert len(rows) == 2, rows
        assert any('Reyes' in r for r in rows), rows
        assert any('Bautista' in r for r in rows), rows
        keep(page, artifacts, 'life-events-review.png', docs=True)
        open_row(page, tab, 'Reyes')
        tab.locator('button:visible').filter(has_text='Dismiss').first\
            .wait_for(state='visible')
        keep(page, artifacts, 'life-event-death.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        context.close()


def test_administrator_connects_and_pulls(browser, demo_server, artifacts):
    context, page = user_session(browser, demo_server,
        demo_server.database.password, 'admin')
    try:
        assert open_entry(page, 'Administration') == 'menu'
        assert open_entry(page, 'Integrations') == 'menu'
        assert open_entry(page, 'Connected Registries') == 'menu'
        assert open_entry(page, 'External Registries') == 'tab'
        tab = page.locator(ACTIVE_TAB)
        tab.locator('.treeview tbody tr:visible').first.wait_for()
        rows = list_rows(tab)
        assert len(rows) == 3, rows
        open_row(page, tab, 'Civil Registry (CRVS)')
        tab.get_by_text('Our Sender ID').first.wait_for(state='visible')
        keep(page, artifacts, 'connected-registry-form.png', docs=True)

        assert open_entry(page, 'Registry Subscriptions') == 'tab'
        tab = page.locator(ACTIVE_TAB)
        tab.locator('.treeview tbody tr:visible').first.wait_for()
        rows = list_rows(tab)
        assert sum('Active' in r for r in rows) == 2, rows
        keep(page, artifacts, 'connected-subscriptions.png', docs=True)

        open_connected(page)
        assert open_entry(page, 'Pull from Registry') == 'dialog'
        dialog = page.locator('.modal-dialog:visible').last
        dialog.get_by_text('Registry').first.wait_for(state='visible')
        keep(page, artifacts, 'registry-pull-wizard.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        context.close()
