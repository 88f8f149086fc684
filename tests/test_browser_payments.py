"""Payments in the sao web client, against a real trytond.

The data is set up through JSON-RPC (program, enrolled households, an
approved cycle, a posted fund, prepared and submitted entitlements). Then,
in sao, a Finance Validator approves the cycle's entitlements and a Payment
Officer creates the payment batch, approves it and downloads its CSV
payment file; the test reads the downloaded file.
"""
import csv
import io
import re
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .browser import (
    ACTIVE_TAB, TIMEOUT, login as browser_login, open_entry, watch_errors)
from .conftest import copy_log
from .server import ServerError

PASSWORD = 'spp-test-Officer-2024'
PROGRAM = 'Browser Cash Grant'
# 100.00 a household plus 25.50 a child: households of 0, 1 and 2 children.
# By payee: the head of each household, who collects.
AMOUNTS = {'Head 0': '100.00', 'Head 1': '125.50', 'Head 2': '151.00'}


class Client:
    "JSON-RPC calls as one user of the test server."

    def __init__(self, server, login, password=None):
        self.server = server
        self.login = login
        self.session = server.login(login, password)

    def __call__(self, method, *args, context=None):
        return self.server.call(method, [*args, context or {}],
            session=self.session, login=self.login)

    def button(self, model, name, ids):
        return self(f'model.{model}.{name}', ids)

    def wizard(self, name, model, record_id, data, state):
        session_id, _, _ = self(f'wizard.{name}.create')
        return self(f'wizard.{name}.execute', session_id, data, state,
            context={'active_model': model, 'active_id': record_id,
                'active_ids': [record_id]})


def group_ids(admin, *names):
    return admin('model.res.group.search', [('name', 'in', list(names))],
        0, None, None)


def create_user(admin, login, *groups):
    ids = group_ids(admin, *groups)
    assert len(ids) == len(groups), (groups, ids)
    admin('model.res.user.create', [{'name': login.title(), 'login': login,
                'password': PASSWORD, 'groups': [('add', ids)]}])


def set_up_cycle(server):
    """A program with three enrolled households, an approved cycle, a
    posted fund and submitted entitlements; return the cycle id."""
    admin = Client(server, 'admin')
    create_user(admin, 'approver', 'Cycle Approver')
    create_user(admin, 'validator', 'Finance Validator')
    create_user(admin, 'officer', 'Payment Officer')
    roles = dict((r['code'], r['id']) for r in admin(
            'model.spp.group.membership.role.search_read', [], 0, None, None,
            ['code']))
    for number in range(3):
        members = [{'family_name': f"Head {number}", 'roles': ['head']}] + [
            {'family_name': f"Child {number}.{i}", 'roles': ['child']}
            for i in range(number)]
        individuals = admin('model.party.party.create', [{
                    'registrant_type': 'individual',
                    'family_name': m['family_name'],
                    'birth_date': {'__class__': 'date', 'year': 1990
                        if 'head' in m['roles'] else 2023, 'month': 1,
                        'day': 1},
                    # The head has a mobile number and wallet: a payment
                    # without an account would be blocked.
                    **({'contact_mechanisms': [('create', [{
                                        'type': 'mobile',
                                        'value': f'+63917555000{number}'}])],
                            'identifiers': [('create', [{
                                        'type': 'mobile_wallet',
                                        'code': f'63917555000{number}'}])]}
                        if 'head' in m['roles'] else {}),
                    } for m in members])
        admin('model.party.party.create', [{
                    'registrant_type': 'group',
                    'name': f"Browser Household {number}",
                    'memberships': [('create', [{
                                    'individual': individual,
                                    'roles': [('add', [roles[code]
                                                for code in m['roles']])],
                                    } for individual, m in zip(
                                    individuals, members)])],
                    }])
    currency, = admin('model.currency.currency.create', [{
                'name': "Browser Dollar", 'code': 'BRD', 'symbol': 'B$',
                'digits': 2, 'rounding': {'__class__': 'Decimal',
                    'decimal': '0.01'}}])
    program, = admin('model.spp.program.create', [{
                'name': PROGRAM, 'code': 'BCG', 'target_type': 'group',
                'currency': currency, 'recurrence': 'monthly',
                'eligibility_rule': 'name contains "Browser Household"',
                'entitlement_items': [('create', [
                            {'name': "Base", 'sequence': 1,
                                'amount': decimal('100.00')},
                            {'name': "Per child", 'sequence': 2,
                                'amount': decimal('25.50'),
                                'condition': 'child_count >= 1',
                                'multiplier_field': 'child_count',
                                'max_multiplier': 3},
                            ])],
                }])
    for button in ['activate', 'import_eligible', 'enrol', 'new_cycle']:
        admin.button('spp.program', button, [program])
    cycle, = admin('model.spp.cycle.search', [('program', '=', program)],
        0, None, None)
    admin.button('spp.cycle', 'prepare', [cycle])
    admin.button('spp.cycle', 'submit', [cycle])
    Client(server, 'approver', PASSWORD).button('spp.cycle', 'approve',
        [cycle])
    fund, = admin('model.spp.program.fund.create', [{'program': program,
                'amount': decimal('1000.00'), 'reference': 'BROWSER'}])
    admin.button('spp.program.fund', 'post', [fund])
    admin.wizard('spp.entitlement.preview', 'spp.cycle', cycle, {},
        'prepare')
    admin.button('spp.cycle', 'submit_entitlements', [cycle])
    return admin, cycle


def decimal(text):
    return {'__class__': 'Decimal', 'decimal': text}


def sao_login(page, server, login):
    "Log in to sao as `login` the way a person does."
    browser_login(page, server, PASSWORD, user=login)
    page.locator('#menu').get_by_text('Programs', exact=True).wait_for(
        state='visible')
    page.wait_for_load_state('networkidle')


def active_tab(page):
    return page.locator(ACTIVE_TAB)


def click_button(page, scope, name):
    "Click a form or dialog button by its label once sao is idle."
    page.wait_for_load_state('networkidle')
    button = scope.get_by_role('button', name=re.compile(
            rf'^\s*{re.escape(name)}\s*$'))
    button.wait_for(state='visible')
    button.click()
    page.wait_for_load_state('networkidle')


def open_record(page, text):
    "Open the row of the active list that shows `text` in its form."
    tab = active_tab(page)
    row = tab.locator('tr').filter(has_text=text).first
    row.wait_for(state='visible')
    page.wait_for_load_state('networkidle')
    for attempt in range(3):
        row.dblclick()
        try:
            tab.locator('.form').first.wait_for(state='visible',
                timeout=15_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    page.wait_for_load_state('networkidle')


def open_cycle(page):
    "Open the approved cycle of the program from Programs > Cycles."
    assert open_entry(page, 'Programs') == 'menu'
    # The list opens on All: the cycle is there, whatever its state.
    assert open_entry(page, 'Cycles') == 'tab'
    open_record(page, f'{PROGRAM} - Cycle 1')


def new_page(browser, **options):
    context = browser.new_context(viewport={'width': 1280, 'height': 800},
        locale='en-US', **options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    return context, page


def wait_for_state(admin, model, record_id, field, value, timeout=60):
    "Poll the server until the record's field has `value`."
    deadline = time.monotonic() + timeout
    while True:
        record, = admin(f'model.{model}.read', [record_id], [field])
        if record[field] == value or time.monotonic() > deadline:
            return record[field]
        time.sleep(0.5)


def test_approve_entitlements_and_download_payment_file(
        browser, trytond_server, artifacts):
    admin, cycle = set_up_cycle(trytond_server)
    entitlements = admin('model.spp.entitlement.search_read',
        [('cycle', '=', cycle)], 0, None, None, ['state'])
    assert {e['state'] for e in entitlements} == {'pending_validation'}
    assert len(entitlements) == 3

    # The Finance Validator approves the cycle's entitlements.
    context, page = new_page(browser)
    try:
        sao_login(page, trytond_server, 'validator')
        open_cycle(page)
        # Entitlements and funds are in the validator's menu, right below
        # Programs.
        for entry in ['Entitlements', 'Program Funds']:
            page.locator('#menu').get_by_text(entry, exact=True).wait_for(
                state='visible')
        page.screenshot(path=str(artifacts / 'validator-cycle.png'))
        click_button(page, active_tab(page), 'Approve Entitlements')
        entitlements = [wait_for_state(admin, 'spp.entitlement', e['id'],
                'state', 'approved') for e in entitlements]
    finally:
        page.screenshot(path=str(artifacts / 'validator-last.png'))
        context.close()
    assert entitlements == ['approved'] * 3
    assert not page.js_errors, page.js_errors

    # The Payment Officer creates the batch, approves it and downloads its
    # payment file.
    context, page = new_page(browser, accept_downloads=True)
    try:
        sao_login(page, trytond_server, 'officer')
        open_cycle(page)
        click_button(page, active_tab(page), 'Create Payment Batches')
        dialog = page.locator('.modal-dialog:visible').last
        dialog.wait_for(state='visible')
        page.screenshot(path=str(artifacts / 'officer-create-batches.png'))
        click_button(page, dialog, 'Create')
        # The new batches open in a new tab.
        page.locator('#tablist').get_by_text(
            re.compile('Payment Batches')).first.wait_for(state='visible')
        page.wait_for_load_state('networkidle')
        batches = admin('model.spp.payment.batch.search',
            [('cycle', '=', cycle)], 0, None, None)
        assert len(batches) == 1
        open_record(page, f'{PROGRAM} - Cycle 1')
        click_button(page, active_tab(page), 'Approve')
        assert wait_for_state(admin, 'spp.payment.batch', batches[0],
            'state', 'approved') == 'approved'
        click_button(page, active_tab(page), 'Export Payment File')
        dialog = page.locator('.modal-dialog:visible').last
        dialog.wait_for(state='visible')
        click_button(page, dialog, 'Export')
        # The result shows the file name once the file is built.
        page.wait_for_function(
            """() => [...document.querySelectorAll('.modal-dialog input')]
                .some(input => input.offsetParent !== null
                    && input.value.endsWith('.csv'))""")
        result = page.locator('.modal-dialog:visible').last
        page.screenshot(path=str(artifacts / 'officer-export.png'))
        # sao opens a "Download" dialog whose link it clicks by itself.
        with page.expect_download(timeout=TIMEOUT) as download_info:
            result.locator('button[title="Save As..."]').first.click()
        download = download_info.value
        assert download.suggested_filename == 'payments-BCG-1-1.csv'
        content = open(download.path(), encoding='utf-8').read()
    finally:
        page.screenshot(path=str(artifacts / 'officer-last.png'))
        context.close()
        copy_log(trytond_server, artifacts, 'payments-trytond.log')

    assert not page.js_errors, page.js_errors
    rows = list(csv.DictReader(io.StringIO(content)))
    assert {r['payee']: r['amount'] for r in rows} == AMOUNTS
    assert {r['currency'] for r in rows} == {'BRD'}
    payments = admin('model.spp.payment.search_read',
        [('cycle', '=', cycle)], 0, None, None, ['reference'])
    assert sorted(r['reference'] for r in rows) == sorted(
        p['reference'] for p in payments)
    # Only a Payment Officer may run the export wizard.
    validator = Client(trytond_server, 'validator', PASSWORD)
    try:
        validator.wizard('spp.payment.batch.export', 'spp.payment.batch',
            batches[0], {'start': {'format': 'csv'}}, 'result')
    except ServerError as error:
        assert 'not allowed' in str(error) or 'Access' in str(error), error
    else:
        raise AssertionError("a Finance Validator exported a payment file")
