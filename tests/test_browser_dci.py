"""The DCI windows in sao: Administration › Integrations › DCI › Senders,
Transactions, Subscriptions, Access Tokens open without a JavaScript
error (headless Chromium, real trytond)."""
from .browser import login, open_entry, wait_for_menu

DCI_WINDOWS = ['DCI Senders', 'DCI Transactions', 'DCI Subscriptions',
    'DCI Access Tokens']


def test_dci_windows_open(page, trytond_server, artifacts):
    login(page, trytond_server, trytond_server.database.password)
    wait_for_menu(page)
    assert open_entry(page, 'Administration') == 'menu'
    assert open_entry(page, 'Integrations') == 'menu'
    assert open_entry(page, 'DCI') == 'menu'
    for window in DCI_WINDOWS:
        assert open_entry(page, window) == 'tab', window
        tab = page.locator('#tablist li').filter(has_text=window).first
        tab.wait_for(state='visible')
        page.screenshot(path=str(
                artifacts / f"{window.lower().replace(' ', '-')}.png"))
    assert not page.js_errors, page.js_errors
