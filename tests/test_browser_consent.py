"""Sensitive fields in the sao web client, in headless Chromium.

A person has an ID number, a birth date, an income and a disability. A
caseworker (a registrar of the person's area, outside "View Sensitive
Data") opens the person's form: the birth date shows its year, income and
disability a mask, and the ID number its last 4 digits only; the
caseworker still finds the person by typing the whole number in the
search box, not by a part of it. A supervisor (a registrar with the
group) sees every value.

Screenshots are kept under test-artifacts/browser_consent/; set
SPP_DOCS_SCREENSHOTS=1 to copy them into docs/img.
"""
import pytest
from playwright.sync_api import expect

from .browser import ACTIVE_TAB, TIMEOUT, login, open_entry, watch_errors
from .conftest import copy_log
from .server import running_server, shared_lock, template_key
from .test_browser_demo import keep, list_rows, open_row, search_list

PASSWORD = 'spp-test-Sensitive-2024'
NAME = "Mendes, Rosa Maria"
NUMBER = '8001015000'
CASEWORKER = 'sensitive_caseworker'
SUPERVISOR = 'sensitive_supervisor'


@pytest.fixture(scope='module')
def server(template_database):
    with shared_lock(template_key()):
        database = template_database.copy('brw_consent')
    try:
        with running_server(database) as server:
            yield server
    finally:
        database.drop()


@pytest.fixture(scope='module')
def person(server):
    """The person, in area Sensitive North, and the two users of that
    area."""
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)
    area, = call('spp.area.create', [{'name': "Sensitive North",
                'code': 'SEN-N'}])
    person, = call('party.party.create', [{
                'registrant_type': 'individual', 'name': NAME,
                'family_name': "Mendes", 'given_name': "Rosa Maria",
                'area': area,
                'birth_date': {'__class__': 'date', 'year': 1980,
                    'month': 5, 'day': 12},
                'income': {'__class__': 'Decimal', 'decimal': '250.00'},
                'disability': True,
                'identifiers': [('create', [{'type': 'national_id',
                                'code': NUMBER}])],
                }])
    registrar, = call('res.group.search', [('name', '=', 'Registrar')],
        0, 1, None)
    sensitive, = call('res.group.search',
        [('name', '=', 'View Sensitive Data')], 0, 1, None)
    call('res.user.create', [{
                'login': CASEWORKER, 'name': "Caseworker",
                'password': PASSWORD,
                'groups': [('add', [registrar])],
                'spp_areas': [('add', [area])]}, {
                'login': SUPERVISOR, 'name': "Supervisor",
                'password': PASSWORD,
                'groups': [('add', [registrar, sensitive])],
                'spp_areas': [('add', [area])]}])
    return person


def session(browser, server, user):
    context = browser.new_context(
        viewport={'width': 1280, 'height': 800}, locale='en-US')
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    login(page, server, PASSWORD, user=user)
    page.locator('#menu tbody tr').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    return context, page


def open_individuals(page):
    assert open_entry(page, 'Registry') == 'menu'
    assert open_entry(page, 'Individuals') == 'tab'
    return page.locator(ACTIVE_TAB)


def open_person(page, search):
    tab = search_list(page, search)
    open_row(page, tab, NAME)
    expect(tab.locator('input[name="name"]').first).to_have_value(
        NAME, timeout=TIMEOUT)
    return tab


def identifiers_text(page, tab):
    "The text of the person's ID list (its notebook page opened)."
    tab.locator('.nav-tabs a').filter(has_text='Identifiers').first.click()
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(500)
    return ' '.join(tab.locator('.tab-pane.active .treeview tbody tr')
        .all_inner_texts())


def test_registrant_form_masked_for_caseworker(
        browser, server, person, artifacts):
    context, page = session(browser, server, CASEWORKER)
    try:
        tab = open_individuals(page)
        # A part of the number finds nobody.
        search_list(page, NUMBER[:6])
        assert not [r for r in list_rows(tab) if NAME in r]
        # The whole number finds the person.
        tab = open_person(page, NUMBER)
        birth_date = tab.locator('input[name="birth_date"]').first
        expect(birth_date).to_be_visible()
        expect(birth_date).to_have_value('1980')
        expect(tab.locator('input[name="income"]').first).to_have_value(
            '•••')
        expect(tab.locator('input[name="disability"]').first).to_have_value(
            '•••')
        keep(page, artifacts, 'sensitive-caseworker-form.png', docs=True)
        text = identifiers_text(page, tab)
        assert '••••5000' in text, text
        assert NUMBER not in text
        keep(page, artifacts, 'sensitive-caseworker-identifiers.png',
            docs=True)
    finally:
        copy_log(server, artifacts, 'server-caseworker.log')
        context.close()


def test_registrant_form_unmasked_for_supervisor(
        browser, server, person, artifacts):
    context, page = session(browser, server, SUPERVISOR)
    try:
        open_individuals(page)
        tab = open_person(page, NAME)
        birth_date = tab.locator('input[name="birth_date"]').first
        expect(birth_date).to_be_visible()
        expect(birth_date).not_to_have_value('1980')
        assert '1980' in birth_date.input_value()
        assert '12' in birth_date.input_value()
        expect(tab.locator('input[name="income"]').first).to_have_value(
            '250.00')
        keep(page, artifacts, 'sensitive-supervisor-form.png', docs=True)
        text = identifiers_text(page, tab)
        assert NUMBER in text, text
    finally:
        copy_log(server, artifacts, 'server-supervisor.log')
        context.close()
