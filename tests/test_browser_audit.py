"""The audit trail in the sao web client (issue 20), in headless Chromium.

- A caseworker (a registrar of one area) opens a person's form; the
  Audit menu is not theirs.
- An auditor opens Audit › Audit Log, picks the Access tab, filters on the
  caseworker and finds the entry of that read: opened, it shows a
  registrant, the person's id and the fields the form read (the entry the
  server holds).
- From the person's form, the auditor's Relate › Audit Entries lists it.
- Audit › Verify Audit Chain says the chain is intact, every entry
  walked; `sppdb.py audit-verify` agrees, with the daily files.

Set SPP_DOCS_SCREENSHOTS=1 to copy the screenshots docs/audit.md shows
into docs/img (they are always kept under test-artifacts/browser_audit/).
"""
import json
import re
import time

import pytest
from playwright.sync_api import expect

from .browser import ACTIVE_TAB, TIMEOUT, login, open_entry, watch_errors
from .conftest import copy_log
from .server import running_server, shared_lock, template_key
from .test_browser_demo import keep, list_rows, menu_texts, open_row, \
    search_list

PASSWORD = 'spp-test-Audit-2024'
NAME = "Okafor, Grace Adaeze"
# One word each: sao's search box reads `User: Caseworker` as one filter.
CASEWORKER = ('audit_caseworker', "Caseworker")
AUDITOR = ('audit_auditor', "Auditor")


@pytest.fixture(scope='module')
def server(template_database, tmp_path_factory):
    "A server with every addon, its audit copy in a file."
    with shared_lock(template_key()):
        database = template_database.copy('brw_audit')
    audit_dir = tmp_path_factory.mktemp('audit')
    try:
        with running_server(database, extra_config=(
                    f'[spp_audit]\nfile = {audit_dir / "audit.jsonl"}\n')
                ) as server:
            # One file a day: audit-YYYY-MM-DD.jsonl.
            server.audit_files = lambda: sorted(
                audit_dir.glob('audit-*.jsonl'))
            yield server
    finally:
        database.drop()


@pytest.fixture(scope='module')
def people(server):
    """A person of area North, a registrar of North (the caseworker) and an
    auditor who may also read the registry of North."""
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)
    area, = call('spp.area.create', [{'name': "North", 'code': 'AUB-N'}])
    person, = call('party.party.create', [{
                'registrant_type': 'individual', 'name': NAME,
                'area': area}])
    groups = {name: call('res.group.search', [('name', '=', name)],
            0, 1, None)[0]
        for name in ['Registrar', 'Registry Viewer', 'Auditor']}
    call('res.user.create', [{
                'login': CASEWORKER[0], 'name': CASEWORKER[1],
                'password': PASSWORD,
                'groups': [('add', [groups['Registrar']])],
                'spp_areas': [('add', [area])]}, {
                'login': AUDITOR[0], 'name': AUDITOR[1],
                'password': PASSWORD,
                'groups': [('add', [groups['Auditor'],
                                groups['Registry Viewer']])],
                'spp_areas': [('add', [area])]}])
    return {'person': person, 'admin': admin}


def sao_login(page, server, user):
    login(page, server, PASSWORD, user=user)
    page.locator('#menu tbody tr').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')


def session(browser, server, user):
    context = browser.new_context(
        viewport={'width': 1280, 'height': 800}, locale='en-US')
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    sao_login(page, server, user)
    return context, page


def open_person(page):
    "Registry › Individuals, the person found by name and opened."
    assert open_entry(page, 'Registry') == 'menu'
    assert open_entry(page, 'Individuals') == 'tab'
    tab = search_list(page, NAME)
    open_row(page, tab, NAME)
    expect(tab.locator('input[name="name"]').first).to_have_value(
        NAME, timeout=TIMEOUT)
    return tab


def caseworker_reads(server, people):
    """The access entries of the caseworker's reads of the person's record
    (a form's read, not a list's search), as the server holds them."""
    entries = server.call('model.spp.audit.log.search_read', [
            [('action', '=', 'access'), ('model', '=', 'party.party'),
                ('record', '=', people['person']),
                ('user.login', '=', CASEWORKER[0]),
                ('details', '!=', None)],
            0, None, [('position', 'ASC')],
            ['position', 'channel', 'count', 'details'], {}],
        session=people['admin'])
    return entries


def open_entry_row(page, tab, position):
    "Open the entry at `position` of the list shown."
    cell = tab.locator('.treeview tbody tr:visible td').filter(
        has_text=re.compile(rf'^\s*{position:,}\s*$')).first
    cell.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    cell.click()
    page.wait_for_load_state('networkidle')
    tab.locator('button#switch_').click()
    tab.locator('.form').first.wait_for(state='visible')
    page.wait_for_load_state('networkidle')


def test_auditor_finds_who_opened_a_registrant(browser, server, people,
        artifacts):
    "The caseworker's form read is an access entry the auditor finds"
    context, page = session(browser, server, CASEWORKER[0])
    try:
        roots = set(menu_texts(page))
        assert 'Registry' in roots and 'Audit' not in roots, roots
        open_person(page)
        keep(page, artifacts, 'audit-caseworker-form.png')
        assert not page.js_errors, page.js_errors
    finally:
        context.close()

    # The access entry is written right after the read's transaction.
    for _ in range(40):
        reads = caseworker_reads(server, people)
        if reads:
            break
        time.sleep(0.25)
    # sao reads a form's fields in a few calls: each is an entry.
    named = [e for e in reads if 'name' in json.loads(e['details'])['fields']]
    assert named, reads
    entry = named[-1]
    assert entry['channel'] == 'rpc' and entry['count'] == 1, entry

    context, page = session(browser, server, AUDITOR[0])
    try:
        assert 'Audit' in menu_texts(page)
        assert open_entry(page, 'Audit') == 'menu'
        assert open_entry(page, 'Audit Log') == 'tab'
        tab = page.locator(ACTIVE_TAB)
        tab.locator('.tab-domain a[role="tab"]').filter(
            has_text=re.compile(r'^\s*Access')).click()
        page.wait_for_load_state('networkidle')
        tab = search_list(page, f'User: {CASEWORKER[1]}')
        rows = list_rows(tab)
        # The Access tab's rows: its Action column goes (sao hides a
        # column its tab fixes), the form below shows it.
        assert rows and all(CASEWORKER[1] in row for row in rows), rows
        assert any(row.startswith(f"{entry['position']:,} ")
            for row in rows), (entry, rows)
        keep(page, artifacts, 'audit-log-access.png', docs=True)

        open_entry_row(page, tab, entry['position'])
        form = tab.locator('.form').first
        expect(form.locator('input[name="action"]').first).to_have_value(
            'access', timeout=TIMEOUT)
        expect(form.locator('input[name="user"]').first).to_have_value(
            CASEWORKER[1], timeout=TIMEOUT)
        expect(form.locator('textarea[name="details"]').first
            ).to_have_value(entry['details'], timeout=TIMEOUT)
        # The record read: a registrant, the person's id.
        expect(form.locator('select[name="model"] option:checked').first
            ).to_have_text('Party', timeout=TIMEOUT)
        expect(form.locator('textarea[name="records"]').first
            ).to_have_value(f",{people['person']},", timeout=TIMEOUT)
        keep(page, artifacts, 'audit-entry-access.png', docs=True)

        # From the person's own form: Relate › Audit Entries.
        tab = open_person(page)
        tabs = page.locator('#tablist li').count()
        tab.locator('button#relate').click()
        tab.locator('ul[aria-labelledby="relate"] a').filter(
            has_text='Audit Entries').click()
        page.wait_for_function(
            "count => document.querySelectorAll('#tablist li').length "
            "> count", arg=tabs)
        related = page.locator(ACTIVE_TAB)
        related.locator('.treeview tbody tr:visible').filter(
            has_text=CASEWORKER[1]).first.wait_for(state='visible')
        page.wait_for_load_state('networkidle')
        rows = list_rows(related)
        assert any(row.startswith(f"{entry['position']:,} ")
            and CASEWORKER[1] in row for row in rows), (entry, rows)
        keep(page, artifacts, 'audit-relate.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        keep(page, artifacts, 'auditor-last.png')
        (artifacts / 'auditor-errors.txt').write_text(
            '\n'.join(page.js_errors))
        copy_log(server, artifacts, 'trytond-audit.log')
        context.close()


def test_auditor_verifies_the_chain(browser, server, people, artifacts):
    "Audit › Verify Audit Chain: intact, with the count of the server's"
    context, page = session(browser, server, AUDITOR[0])
    try:
        assert open_entry(page, 'Audit') == 'menu'
        opened = open_entry(page, 'Verify Audit Chain')
        scope = (page.locator('.modal-dialog:visible').last
            if opened == 'dialog' else page.locator(ACTIVE_TAB))
        message = scope.locator('textarea[name="message"]').first
        expect(message).to_have_value(
            re.compile(r'^The audit chain is intact: \d+ entries'),
            timeout=TIMEOUT)
        # Every entry of the log was walked.
        total = server.call('model.spp.audit.log.search_count', [[], {}],
            session=people['admin'])
        assert total > 0
        expect(message).to_have_value(
            f"The audit chain is intact: {total} entries verified.")
        keep(page, artifacts, 'audit-verify.png', docs=True)
        assert not page.js_errors, page.js_errors
    finally:
        context.close()
    files = server.audit_files()
    assert files
    output = server.database.sppdb('audit-verify', server.database.name,
        '--file', *map(str, files))
    assert 'the audit chain holds' in output, output
