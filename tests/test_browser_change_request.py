"""A change request in the sao web client, from the requester to the
validator, against a real trytond with spp_change_request activated (and
what it depends on: the registry).

- A requester (Change Request User and Registrar of area North) opens an
  individual of North, presses *Request a Change*, picks the kind *Edit
  an individual* and creates the draft; in its *Proposed Values* they add
  *Given Name* with the new name, save, read the line *Current and
  Proposed Values* shows (old name, new name) and submit it.
- A Local Validator of North opens *Change Requests › Waiting for Me*,
  finds the request, opens it and approves it (a comment, OK; the summary
  says it was applied; Close). The request is *Applied*, its *Timeline*
  reads Submitted, Approved, Applied, and the individual is renamed (read
  through JSON-RPC).

Set SPP_DOCS_SCREENSHOTS=1 to copy the screenshots docs/change-requests.md
shows into docs/img (they are always kept under
test-artifacts/browser_change_request/).
"""
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .browser import (
    ACTIVE_TAB, TIMEOUT, VISIBLE_DIALOGS, open_entry, user_session)
from .conftest import copy_log
from .server import TestDatabase, running_server, shared_lock, template_key
from .test_browser_demo import keep, list_rows, open_row, search_list

MODULES = ['spp_change_request']
PASSWORD = 'spp-test-Change-2024'
FAMILY, GIVEN, NEW_GIVEN = "Mendes", "Rosa", "Rosalia"
NAME = f"{FAMILY}, {GIVEN}"
REQUESTER = ('cr_requester', "Requester")
VALIDATOR = ('cr_validator', "Validator")
KIND = "Edit an individual"


@pytest.fixture(scope='module')
def template(backend_uri, tmp_path_factory):
    "A database with spp_change_request and its dependencies only."
    database = TestDatabase.create(tmp_path_factory.mktemp('spp-browser-cr'),
        'brwcr_tpl', modules=MODULES, uri=backend_uri)
    yield database
    database.drop()


@pytest.fixture
def server(template):
    """A copy of the template served by trytond, for each try of the test
    (a rerun starts from an individual not renamed yet). Without its list
    of databases, as trytond_server (tests/conftest.py) explains."""
    # A tag of its own: a copy named as its template would drop it.
    with shared_lock(template_key(MODULES)):
        database = template.copy('brwcr')
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv('TRYTOND_DATABASE__LIST', 'False')
            with running_server(database) as server:
                yield server
    finally:
        database.drop()


@pytest.fixture
def people(server):
    """Area North, an individual of North, a requester and a local
    validator of North (both Registrars, to read its registry)."""
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)

    def group(name):
        ids = call('res.group.search', [('name', '=', name)], 0, None, None)
        assert len(ids) == 1, (name, ids)
        return ids[0]
    area, = call('spp.area.create', [{'name': "North", 'code': 'CRB-N'}])
    person, = call('party.party.create', [{
                'registrant_type': 'individual', 'family_name': FAMILY,
                'given_name': GIVEN, 'area': area}])
    registrar = group("Registrar")
    call('res.user.create', [{
                'login': REQUESTER[0], 'name': REQUESTER[1],
                'password': PASSWORD,
                'groups': [('add', [
                            group("Change Request User"),
                            registrar])],
                'spp_areas': [('add', [area])]}, {
                'login': VALIDATOR[0], 'name': VALIDATOR[1],
                'password': PASSWORD,
                'groups': [('add', [
                            group("Local Validator"),
                            registrar])],
                'spp_areas': [('add', [area])]}])
    return {'person': person, 'admin': admin, 'call': call}


def session(browser, server, user):
    "A new browser session of `user`, its menu drawn."
    return user_session(browser, server, PASSWORD, user)


def wait_dialogs(page, count):
    "Wait until `count` dialogs are open; return the top one."
    page.wait_for_function(f"count => ({VISIBLE_DIALOGS})() === count",
        arg=count, timeout=TIMEOUT)
    page.wait_for_load_state('networkidle')
    return page.locator('.modal-dialog:visible').last


def no_dialog(page):
    "Fail with the text of an error dialog sao shows, if any."
    dialogs = page.locator('.modal-dialog:visible')
    assert not dialogs.count(), dialogs.first.inner_text()


def button(scope, name):
    "A visible button of a form by its label."
    return scope.get_by_role('button', name=re.compile(
            rf'^\s*{re.escape(name)}\s*$')).locator('visible=true').first


def enabled(scope, selector):
    "A form widget once sao has drawn a record in it (enabled)."
    widget = scope.locator(f'{selector}:not([disabled])').first
    widget.wait_for(state='visible')
    return widget


def wait_value(page, selector, pattern):
    "Wait until a widget of the active tab shows a value matching."
    expect(page.locator(f'{ACTIVE_TAB} {selector}').first).to_have_value(
        pattern, timeout=TIMEOUT)


def save(page, tab):
    "Click Save and wait until sao has nothing left to save."
    page.wait_for_load_state('networkidle')
    tab.locator('button#save').click()
    page.wait_for_load_state('networkidle')
    page.wait_for_function(
        """selector => {
            const button = document.querySelector(selector + ' button#save');
            return button && button.disabled;
        }""", arg=ACTIVE_TAB, timeout=TIMEOUT)


def settled_rows(page, scope, count):
    """The texts of the dated rows of a list once there are `count` of them
    (sao draws a list's rows in a few passes: read again until it stays)."""
    rows = scope.locator('tbody tr:visible').filter(
        has_text=re.compile(r'\d{2}/\d{2}/\d{4}'))
    texts = []
    for _ in range(60):
        page.wait_for_load_state('networkidle')
        texts = [re.sub(r'\s+', ' ', text).strip()
            for text in rows.all_inner_texts()]
        if len(texts) == count:
            page.wait_for_timeout(300)
            again = [re.sub(r'\s+', ' ', text).strip()
                for text in rows.all_inner_texts()]
            if again == texts:
                return texts
        page.wait_for_timeout(500)
    raise AssertionError(f"expected {count} rows: {texts}")


def press(page, scope, name, done, timeout=20_000):
    """Click a form's button until `done(timeout)` returns (it raises while
    the click's effect does not show): a click on a button sao is
    redrawing is lost. A button gone, or a dialog open, was taken."""
    target = button(scope, name)
    for attempt in range(3):
        page.wait_for_load_state('networkidle')
        if attempt and (not target.is_visible()
                or page.evaluate(VISIBLE_DIALOGS)):
            break
        target.click()
        try:
            done(timeout)
            return
        except (PlaywrightTimeoutError, AssertionError):
            if attempt == 2:
                raise
    try:
        done(TIMEOUT)
    except (PlaywrightTimeoutError, AssertionError) as error:
        dialogs = page.locator('.modal-dialog:visible')
        if dialogs.count():
            raise AssertionError(dialogs.last.inner_text()) from error
        raise


def shown(locator):
    "A `done` of press(): the locator becomes visible."
    return lambda timeout: locator.first.wait_for(
        state='visible', timeout=timeout)


def has_value(page, selector, value):
    "A `done` of press(): a widget of the active tab shows the value."
    return lambda timeout: expect(page.locator(
            f'{ACTIVE_TAB} {selector}').first).to_have_value(
        value, timeout=timeout)


def line_rows(tab):
    "The rows of the Current and Proposed Values list."
    lines = tab.locator('.form-one2many:visible').filter(
        has=tab.page.locator('label.form-one2many-string',
            has_text='Changes')).first
    return lines.locator('tbody tr')


def add_proposed_value(page, tab, label, key, value):
    """In the Proposed Values widget, add the key `label` (from the
    completion, or the Add button's list when the completion does not
    come) and type its value."""
    search = enabled(tab, '.form-dict input[name="proposed"]')
    entry = tab.locator(f'.form-dict input[name="{key}"]').first
    for attempt in range(4):
        page.wait_for_load_state('networkidle')
        search.fill('')
        search.press_sequentially(label.split()[0], delay=50)
        option = page.locator('.dropdown-menu:visible li',
            has_text=label).first
        try:
            option.wait_for(state='visible', timeout=10_000)
            option.click()
        except PlaywrightTimeoutError:
            tab.locator('.form-dict button[title="Add"]').click()
            dialog = wait_dialogs(page, 1)
            dialog.locator('tbody tr', has_text=label).first.dblclick()
            wait_dialogs(page, 0)
        try:
            entry.wait_for(state='visible', timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise
    page.wait_for_load_state('networkidle')
    entry.fill(value)
    entry.press('Tab')
    page.wait_for_load_state('networkidle')
    return entry


def request_change(page, artifacts):
    """As the requester: the individual's form, Request a Change, the kind,
    Create; return the draft's tab and reference."""
    assert open_entry(page, 'Registry') == 'menu'
    assert open_entry(page, 'Individuals') == 'tab'
    tab = search_list(page, NAME)
    open_row(page, tab, NAME)
    expect(tab.locator('input[name="name"]').first).to_have_value(
        NAME, timeout=TIMEOUT)
    keep(page, artifacts, 'requester-individual.png')

    tabs = page.locator('#tablist li').count()
    press(page, tab, 'Request a Change',
        shown(page.locator('.modal-dialog:visible select[name="kind"]')))
    wizard = wait_dialogs(page, 1)
    registrant = wizard.locator('input[name="registrant"]').first
    expect(registrant).to_have_value(NAME, timeout=TIMEOUT)
    kind = enabled(wizard, 'select[name="kind"]')
    # The kinds that apply to an individual, once their list is read.
    wizard.locator('select[name="kind"] option', has_text=KIND).first \
        .wait_for(state='attached')
    kind.select_option(label=KIND)
    page.wait_for_load_state('networkidle')
    enabled(wizard, 'textarea[name="reason"]').fill(
        "Her name was misspelt at registration; seen on her ID card.")
    keep(page, artifacts, 'new-wizard.png')
    button(wizard.locator('.modal-footer'), 'Create').click()
    wait_dialogs(page, 0)
    # The draft opens in a tab of its own.
    page.wait_for_function(
        "count => document.querySelectorAll('#tablist li').length > count",
        arg=tabs, timeout=TIMEOUT)
    tab = page.locator(ACTIVE_TAB)
    wait_value(page, 'input[name="reference"]', re.compile(r'^CR-\d{4}-'))
    wait_value(page, 'input[name="registrant"]', NAME)
    wait_value(page, 'input[name="status"]', 'Draft')
    reference = tab.locator('input[name="reference"]').first.input_value()
    return tab, reference


def test_requester_proposes_validator_approves(browser, server, people,
        artifacts):
    "An individual's name changed by a request, approved by its validator"
    context, page = session(browser, server, REQUESTER[0])
    try:
        tab, reference = request_change(page, artifacts)

        entry = add_proposed_value(page, tab, 'Given Name', 'given_name',
            NEW_GIVEN)
        save(page, tab)
        no_dialog(page)
        # Saved, the draft shows the line of its change.
        rows = line_rows(tab)
        row = rows.filter(has_text='Given Name').first
        row.wait_for(state='visible')
        expect(row).to_contain_text(GIVEN)
        expect(row).to_contain_text(NEW_GIVEN)
        assert rows.count() == 1, rows.all_inner_texts()
        expect(entry).to_have_value(NEW_GIVEN)
        keep(page, artifacts, 'change-request-new.png', docs=True)

        press(page, tab, 'Submit', has_value(page, 'input[name="status"]',
                "Local validation (1 of 1)"))
        no_dialog(page)
        # The proposal is frozen once submitted.
        expect(tab.locator('.form-dict input[name="given_name"]').first
            ).not_to_be_editable()
        keep(page, artifacts, 'requester-submitted.png')
        assert not page.js_errors, page.js_errors
    finally:
        keep(page, artifacts, 'requester-last.png')
        (artifacts / 'requester-errors.txt').write_text(
            '\n'.join(page.js_errors))
        copy_log(server, artifacts, 'trytond.log')
        context.close()

    request, = people['call']('spp.change_request.search_read',
        [('reference', '=', reference)], 0, None, None,
        ['state', 'stage.name', 'requested_by.login'])
    assert (request['state'], request['stage.']['name'],
        request['requested_by.']['login']) == (
        'submitted', "Local validation", REQUESTER[0]), request

    context, page = session(browser, server, VALIDATOR[0])
    try:
        assert open_entry(page, 'Change Requests') == 'menu'
        assert open_entry(page, 'Waiting for Me') == 'tab'
        tab = page.locator(ACTIVE_TAB)
        row = tab.locator('.treeview tbody tr:visible').filter(
            has_text=reference).first
        row.wait_for(state='visible')
        page.wait_for_load_state('networkidle')
        rows = list_rows(tab)
        assert len(rows) == 1 and NAME in rows[0] and KIND in rows[0] \
            and REQUESTER[1] in rows[0], rows
        # The list's columns take the menu's width too (the brand at the
        # top left folds the menu away), for the screenshot.
        page.locator('[data-toggle="menu"]').first.click()
        page.locator('#menu').wait_for(state='hidden')
        keep(page, artifacts, 'change-request-waiting.png', docs=True)

        open_row(page, tab, reference)
        wait_value(page, 'input[name="reference"]', reference)
        wait_value(page, 'input[name="status"]', "Local validation (1 of 1)")
        row = line_rows(tab).filter(has_text='Given Name').first
        row.wait_for(state='visible')
        expect(row).to_contain_text(NEW_GIVEN)
        keep(page, artifacts, 'validator-request.png')

        # The decision wizard opens, not an error.
        press(page, tab, 'Approve', shown(page.locator(
                    '.modal-dialog:visible input[name="count"]').or_(
                    page.locator('.modal-dialog:visible .alert'))))
        dialog = wait_dialogs(page, 1)
        assert dialog.locator('input[name="count"]').count(), (
            dialog.inner_text())
        expect(dialog.locator('input[name="count"]').first).to_have_value(
            '1', timeout=TIMEOUT)
        enabled(dialog, 'textarea[name="comment"]').fill(
            "Checked against her ID card.")
        keep(page, artifacts, 'approve-wizard.png')
        button(dialog.locator('.modal-footer'), 'OK').click()
        # The summary of the decision replaces the comment.
        page.wait_for_function(
            """() => [...document.querySelectorAll(
                    '.modal-dialog textarea[name="summary"]')]
                .some(e => e.offsetParent !== null && e.value)""",
            timeout=TIMEOUT)
        dialog = page.locator('.modal-dialog:visible').last
        summary = dialog.locator('textarea[name="summary"]').first
        assert summary.input_value().splitlines() == [
            "Change requests approved: 1.", "Applied to the registry: 1."], (
            summary.input_value())
        keep(page, artifacts, 'approve-result.png')
        button(dialog.locator('.modal-footer'), 'Close').click()
        wait_dialogs(page, 0)

        # The form is read again: applied, and its timeline says so.
        wait_value(page, 'input[name="status"]', 'Applied')
        wait_value(page, 'input[name="applied_by"]', VALIDATOR[1])
        tab.get_by_role('tab', name='Timeline', exact=True).click()
        page.wait_for_load_state('networkidle')
        timeline = tab.locator('.form-one2many:visible').first
        actions = settled_rows(page, timeline, 3)
        for text, (action, user) in zip(actions, [
                    ("Submitted", REQUESTER[1]), ("Approved", VALIDATOR[1]),
                    ("Applied", VALIDATOR[1])]):
            assert action in text and user in text, actions
        assert "Checked against her ID card." in actions[1], actions
        keep(page, artifacts, 'change-request-approve.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        keep(page, artifacts, 'validator-last.png')
        (artifacts / 'validator-errors.txt').write_text(
            '\n'.join(page.js_errors))
        copy_log(server, artifacts, 'trytond.log')
        context.close()

    # What the server stored.
    person, = people['call']('party.party.read', [people['person']],
        ['name', 'given_name', 'change_request.reference'])
    assert (person['given_name'], person['name']) == (
        NEW_GIVEN, f"{FAMILY}, {NEW_GIVEN}"), person
    assert person['change_request.']['reference'] == reference, person
