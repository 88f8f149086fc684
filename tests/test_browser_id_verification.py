"""ID verification in the sao web client: an administrator opens an
individual, clicks Verify on its national ID and sees the national ID
system's answer (a fake one on 127.0.0.1) in the Verification column."""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from stdnum import luhn

from .browser import ACTIVE_TAB, login, open_entry, registry_entries
from .conftest import copy_log


def national_id(seed):
    body = f'{seed:09d}'[-9:]
    return body + luhn.calc_check_digit(body)


NUMBER = national_id(424242)


class Matching(BaseHTTPRequestHandler):
    "A national ID system that knows one person."

    def do_POST(self):
        body = json.loads(self.rfile.read(
                int(self.headers['Content-Length'])))
        known = (body.get('id_number'), body.get('family_name')) == (
            NUMBER, 'Verifiable')
        data = json.dumps({'status': 'match' if known else 'unknown',
                'message': 'checked by the fake ID system'}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def id_system():
    server = ThreadingHTTPServer(('127.0.0.1', 0), Matching)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}/verify'
    server.shutdown()
    server.server_close()


def test_verify_identifier_in_form(page, trytond_server, id_system,
        artifacts):
    "Verify on an individual's ID shows Match"
    server = trytond_server
    session = server.login()
    server.call('model.spp.id_verification.configuration.write',
        [[1], {'url': id_system}, {}], session=session)
    server.call('model.party.party.create', [[{
                'registrant_type': 'individual',
                'family_name': 'Verifiable', 'given_name': 'Vera',
                'identifiers': [['create', [{'type': 'national_id',
                                'code': NUMBER}]]],
                }], {}], session=session)

    login(page, server, server.database.password)
    registry_entries(page)
    assert open_entry(page, 'Individuals') == 'tab'
    tab = page.locator(ACTIVE_TAB)
    page.wait_for_load_state('networkidle')
    row = tab.locator('tr').filter(has_text='Verifiable').first
    row.wait_for(state='visible')
    row.dblclick()
    page.wait_for_load_state('networkidle')
    tab.get_by_role('tab', name=re.compile('Identifiers')).click()
    page.wait_for_load_state('networkidle')
    id_row = tab.locator('tr').filter(has_text=NUMBER).first
    id_row.wait_for(state='visible')
    page.screenshot(path=str(artifacts / 'identifiers.png'))
    # sao runs a list button of the selected row only: select it first.
    id_row.get_by_text(NUMBER).click()
    page.wait_for_load_state('networkidle')
    id_row.get_by_role('button', name=re.compile('Verify')).click()

    def stored():
        identifier, = server.call('model.party.identifier.search_read', [
                [('code', '=', NUMBER)], 0, None, None,
                ['verification_status', 'verification_message'], {}],
            session=session)
        return identifier
    for _ in range(60):
        if stored()['verification_status']:
            break
        time.sleep(0.5)
    page.screenshot(path=str(artifacts / 'clicked.png'))
    copy_log(server, artifacts, 'trytond.log')
    identifier = stored()
    assert identifier['verification_status'] == 'match', (
        identifier, page.js_errors)
    assert identifier['verification_message'] == (
        'checked by the fake ID system')
    tab.locator('tr').filter(has_text=NUMBER).filter(
        has_text='Match').first.wait_for(state='visible', timeout=30_000)
    page.screenshot(path=str(artifacts / 'verified.png'))
    assert not page.js_errors, page.js_errors
