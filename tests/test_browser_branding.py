"""The product's name, not "Tryton", in the browser window and the login
dialog of sao ([spp] product_name, served as /custom.js by spp_registry).
"""
from .browser import login, wait_for_menu
from .server import running_server

NAME = "Kaagapay SP-MIS"


def test_product_name_in_title_and_login(
        page, fresh_database, monkeypatch, artifacts):
    monkeypatch.setenv('TRYTOND_DATABASE__LIST', 'False')
    extra = f"[spp]\nproduct_name = {NAME}\n"
    with running_server(fresh_database, extra_config=extra) as server:
        # Another address than login()'s, which then loads the page anew.
        page.goto(f'{server.url}?branding#{fresh_database.name}')
        dialog = page.locator('.login-dialog')
        dialog.wait_for(state='visible')
        assert page.title() == NAME
        assert dialog.locator('.modal-title').inner_text().startswith(
            f"{NAME} \u2013 Login")
        page.screenshot(path=str(artifacts / 'login.png'))

        login(page, server, fresh_database.password)
        wait_for_menu(page)
        assert page.locator('#title').inner_text() == NAME
        assert page.title().endswith(NAME)
        assert 'Tryton' not in page.title()
        page.screenshot(path=str(artifacts / 'menu.png'))
    assert not page.js_errors, page.js_errors
