"""The demo of `make demo` in the sao web client, as each of its users.

The database is loaded the way `make demo` loads it (`sppdb.py load-demo
--users-file`: every addon, the population, the programs and one user per
role). In headless Chromium:

- each demo user logs in and sees the menu the server gives their groups,
  never Parties, Products, Currencies or Companies;
- the administrator types a member's ID number in the search box of
  Households and Groups, finds that member's household and reads its
  programs, entitlements and payments on its form;
- the registrar finds a household of their region by a member's ID, and
  one of another region not at all;
- the program manager opens the cycle they submitted and reads why they
  cannot approve it; the cycle approver opens it, reads its total and
  approves it.

Set SPP_DOCS_SCREENSHOTS=1 to copy the screenshots the guides show into
docs/img (they are always kept under test-artifacts/browser_demo/).
"""
import os
import re
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import ACTIVE_TAB, TIMEOUT, login, open_entry
from .conftest import copy_log
from .server import DEMO_PASSWORDS, TestDatabase, running_server

PASSWORDS = DEMO_PASSWORDS
ERP_MENUS = {'Parties', 'Products', 'Currencies', 'Companies'}
DOCS_IMG = Path(__file__).resolve().parent.parent / 'docs' / 'img'
CASH_GRANT = "Family Cash Grant"


@pytest.fixture(scope='module')
def demo_server(backend_uri, tmp_path_factory):
    "A trytond serving a database loaded as `make demo` loads it."
    workdir = tmp_path_factory.mktemp('spp-browser-demo')
    database = TestDatabase.demo(workdir, PASSWORDS, 'browser_demo',
        uri=backend_uri)
    try:
        with running_server(database) as server:
            yield server
    finally:
        database.drop()


class Rpc:
    "JSON-RPC calls as one user of the server."

    def __init__(self, server, login='admin', password=None):
        self.server = server
        self.login = login
        self.session = server.login(login, password)

    def __call__(self, method, *args):
        return self.server.call(method, [*args, {}], session=self.session,
            login=self.login)

    def search_read(self, model, domain, fields, limit=None):
        return self(f'model.{model}.search_read', domain, 0, limit, None,
            fields)


def keep(page, artifacts, name, docs=False):
    "Screenshot into the artifacts; into docs/img too when asked."
    path = artifacts / name
    page.screenshot(path=str(path))
    if docs and os.environ.get('SPP_DOCS_SCREENSHOTS'):
        shutil.copyfile(path, DOCS_IMG / name)


def sao_login(page, server, user):
    password = (server.database.password if user == 'admin'
        else PASSWORDS[user])
    login(page, server, password, user=user)
    page.locator('#menu tbody tr').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')


def menu_texts(page):
    return [text.strip()
        for text in page.locator('#menu tbody tr').all_inner_texts()]


def search_list(page, text):
    "Type `text` in the search box of the active list and search."
    tab = page.locator(ACTIVE_TAB)
    entry = tab.get_by_placeholder('Search')
    entry.fill(text)
    entry.press('Enter')
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(500)
    return tab


def list_rows(tab):
    return [re.sub(r'\s+', ' ', text).strip()
        for text in tab.locator('.treeview tbody tr:visible')
        .all_inner_texts() if text.strip()]


def open_row(page, tab, text):
    row = tab.locator('.treeview tbody tr:visible').filter(
        has_text=text).first
    row.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    # Select the row on its plain-text cell (a Many2One cell opens its own
    # record), then switch the list to the form of the selected record.
    row.locator('td').filter(has_text=text).first.click()
    page.wait_for_load_state('networkidle')
    tab.locator('button#switch_').click()
    tab.locator('.form').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')


def member_id(rpc, household_domain):
    "(ID number, household name) of a member of a household matching."
    memberships = rpc.search_read('spp.group.membership',
        [('group', 'where', household_domain)],
        ['individual', 'group.name'], limit=20)
    for membership in memberships:
        codes = rpc.search_read('party.identifier',
            [('party', '=', membership['individual'])], ['code'], limit=1)
        if codes:
            return codes[0]['code'], membership['group.']['name']
    raise AssertionError(f"no member with an ID in {household_domain}")


@pytest.mark.parametrize('user', ['admin', *PASSWORDS])
def test_each_user_sees_an_sp_mis_menu(browser, page, demo_server, user,
        artifacts):
    "Each demo user sees their groups' menu: no ERP menus for caseworkers"
    rpc = Rpc(demo_server, user, PASSWORDS.get(user))
    expected = {m['name'] for m in rpc.search_read('ir.ui.menu',
            [('parent', '=', None)], ['name'])}
    sao_login(page, demo_server, user)
    roots = set(menu_texts(page))
    assert roots == expected
    if user == 'admin':
        assert {'Registry', 'Programs', 'Parties'} <= roots
    else:
        assert roots and not roots & ERP_MENUS, roots
        assert roots <= {'Registry', 'Programs', 'Audit',
            'Change Requests', 'Grievances', 'Reporting',
            'Data Protection'}, roots
        # Data protection is the data protection officer's.
        assert ('Data Protection' in roots) == (user == 'dpo'), roots
        # Change requests are the registrar's and their checker's.
        assert ('Change Requests' in roots) == (
            user in {'registrar', 'checker'}), roots
        # Grievances are the grievance officer's and manager's.
        assert ('Grievances' in roots) == (user in {'grievance', 'grm'}), (
            roots)
        # The audit log is the auditors' only.
        assert ('Audit' in roots) == (user == 'auditor'), roots
        # Reporting is the reporting manager's and officer's.
        assert ('Reporting' in roots) == (
            user in {'manager', 'monitoring'}), roots
    if user in {'manager', 'finance', 'payments'}:
        assert open_entry(page, 'Programs') == 'menu'
        entries = set(menu_texts(page))
        assert {'Cycles', 'Entitlements', 'Payments'} <= entries, entries
    keep(page, artifacts, f'menu-{user}.png')
    assert not page.js_errors, page.js_errors


def test_household_story_found_by_member_id(browser, page, demo_server,
        artifacts):
    "A member's ID finds the household, whose form holds its whole story"
    rpc = Rpc(demo_server)
    number, household = member_id(rpc, [('name', '=', "Dela Cruz Household")])
    payments = rpc.search_read('spp.payment',
        [('registrant.name', '=', household)], ['reference'])
    assert payments, "the demo pays the Dela Cruz household"

    sao_login(page, demo_server, 'admin')
    assert open_entry(page, 'Registry') == 'menu'
    assert open_entry(page, 'Households and Groups') == 'tab'
    tab = search_list(page, number)
    rows = list_rows(tab)
    assert len(rows) == 1 and household in rows[0], rows
    assert re.search(r'HH-\d{6}', rows[0]), rows
    keep(page, artifacts, 'household-found-by-id.png', docs=True)
    open_row(page, tab, household)
    # The form opens on its members: each with age, sex, role and ID.
    members = tab.locator('.form-one2many:visible').first
    members.locator('tbody tr').filter(has_text='Maria').first.wait_for(
        state='visible')
    keep(page, artifacts, 'household-members.png', docs=True)
    for page_name, expected in [
            ('Programs', CASH_GRANT),
            ('Entitlements', f"{CASH_GRANT} - Cycle 1"),
            ('Payments', payments[0]['reference'])]:
        tab.get_by_role('tab', name=page_name, exact=True).click()
        page.wait_for_load_state('networkidle')
        tab.locator('.form-one2many:visible tbody tr').filter(
            has_text=expected).first.wait_for(state='visible')
        keep(page, artifacts, f'household-{page_name.lower()}.png',
            docs=page_name == 'Payments')
    assert not page.js_errors, page.js_errors


def test_registrar_finds_households_of_own_region(browser, page,
        demo_server):
    "The registrar finds by ID a household of their region, not another's"
    registrar = Rpc(demo_server, 'registrar', PASSWORDS['registrar'])
    own_number, own_household = member_id(registrar, [])
    admin = Rpc(demo_server)
    visible = registrar('model.party.party.search',
        [('registrant_type', '=', 'group')], 0, None, None)
    other_number, _ = member_id(admin, [
            ('registrant_type', '=', 'group'), ('id', 'not in', visible)])

    sao_login(page, demo_server, 'registrar')
    assert open_entry(page, 'Registry') == 'menu'
    assert open_entry(page, 'Households and Groups') == 'tab'
    tab = search_list(page, own_number)
    rows = list_rows(tab)
    assert len(rows) == 1 and own_household in rows[0], rows
    tab = search_list(page, other_number)
    assert list_rows(tab) == []
    assert not page.js_errors, page.js_errors


def waiting_cycle(rpc):
    cycle, = rpc.search_read('spp.cycle', [
            ('program.name', '=', CASH_GRANT),
            ('state', '=', 'to_approve')],
        ['rec_name', 'entitlement_count', 'entitlement_amount'])
    return cycle


def open_cycle(page, name):
    assert open_entry(page, 'Programs') == 'menu'
    assert open_entry(page, 'Cycles') == 'tab'
    tab = search_list(page, name)
    open_row(page, tab, name)
    return tab


def test_approver_approves_after_reading_the_total(browser, demo_server,
        artifacts):
    "Its submitter reads why they cannot approve; the approver approves"
    admin = Rpc(demo_server)
    cycle = waiting_cycle(admin)
    total = Decimal(str(cycle['entitlement_amount']['decimal']
            if isinstance(cycle['entitlement_amount'], dict)
            else cycle['entitlement_amount']))
    assert cycle['entitlement_count'] > 0 and total > 0
    shown_total = f'{total:,.2f}'

    def session(user):
        context = browser.new_context(
            viewport={'width': 1280, 'height': 900}, locale='en-US')
        page = context.new_page()
        page.js_errors = []
        page.on('pageerror', lambda error: page.js_errors.append(str(error)))
        sao_login(page, demo_server, user)
        return context, page

    context, page = session('manager')
    try:
        tab = open_cycle(page, cycle['rec_name'])
        # The fields fill in once the record's read answers.
        note = tab.locator('input[name="action_note"]').first
        expect(note).to_have_value(re.compile('Cycle Approver'),
            timeout=TIMEOUT)
        assert not tab.get_by_role('button', name=re.compile(
                r'^\s*Approve\s*$')).is_enabled()
        keep(page, artifacts, 'cycle-submitter-note.png', docs=True)
    finally:
        context.close()

    context, page = session('approver')
    try:
        tab = open_cycle(page, cycle['rec_name'])
        amount = tab.locator('input[name="entitlement_amount"]').first
        expect(amount).to_have_value(re.compile(re.escape(shown_total)),
            timeout=TIMEOUT)
        count = tab.locator('input[name="entitlement_count"]').first
        expect(count).to_have_value(f"{cycle['entitlement_count']:,}",
            timeout=TIMEOUT)
        keep(page, artifacts, 'cycle-approve.png', docs=True)
        button = tab.get_by_role('button', name=re.compile(
                r'^\s*Approve\s*$'))
        button.click()
        page.wait_for_load_state('networkidle')
        for _ in range(60):
            state, = admin.search_read('spp.cycle',
                [('id', '=', cycle['id'])], ['state', 'approved_by.login'])
            if state['state'] != 'to_approve':
                break
            time.sleep(0.5)
        keep(page, artifacts, 'cycle-approved.png')
        assert not page.js_errors, page.js_errors
    finally:
        copy_log(demo_server, artifacts, 'trytond-demo.log')
        context.close()
    assert state['state'] == 'approved'
    assert state['approved_by.']['login'] == 'approver'
