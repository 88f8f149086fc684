"""Time-bound roles (user_role), an SMS second factor (authentication_sms)
and SAML single sign-on (authentication_saml), on a real server.

These Tryton modules are not activated in every database: a ministry
activates the ones it requires (docs/administrator.md, "Users, roles and
sign-in"). The SMS gateway is tests/fake_sms.py, which writes the messages
to a file; the SAML identity provider is tests/saml_idp.py, a key and a
certificate made for the test and responses signed with them, posted to
the module's assertion consumer service as a browser would.
"""
import base64
import datetime as dt
import http.cookies
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from . import fake_sms, saml_idp
from .server import ROOT, ServerError, TestDatabase, running_server

MODULES = ['spp_registry', 'user_role', 'authentication_sms',
    'authentication_saml']
PASSWORD = 'spp-test-Staff-2024'
IDENTITY = 'ministry'


@pytest.fixture(scope='module')
def database(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('authentication')
    database = TestDatabase.create(workdir, 'auth', modules=MODULES,
        uri=backend_uri)
    yield database
    database.drop()


@pytest.fixture(scope='module')
def admin_server(database):
    "Password login only: the administrator sets users and roles up."
    with running_server(database) as server:
        server.admin = server.login()
        yield server


def rpc_datetime(value):
    return {'__class__': 'datetime', 'year': value.year,
        'month': value.month, 'day': value.day, 'hour': value.hour,
        'minute': value.minute, 'second': value.second,
        'microsecond': 0}


def group_id(server, name):
    group, = server.call('model.res.group.search',
        [[('name', '=', name)], 0, None, None, {}], session=server.admin)
    return group


def create_user(server, login, **values):
    return server.call('model.res.user.create', [[{
                    'name': login.title(), 'login': login,
                    'password': PASSWORD, **values}], {}],
        session=server.admin)[0]


def user_groups(server, user):
    user, = server.call('model.res.user.read',
        [[user], ['groups'], {}], session=server.admin)
    return set(user['groups'])


# --- user_role: roles with a start and an end ---

def test_role_gives_its_groups_while_valid(admin_server):
    server = admin_server
    registrar = group_id(server, 'Registrar')
    role, = server.call('model.res.role.create', [[{
                    'name': 'Field registrar',
                    'groups': [('add', [registrar])]}], {}],
        session=server.admin)
    now = dt.datetime.now()
    yesterday, tomorrow = now - dt.timedelta(days=1), now + dt.timedelta(1)
    current = create_user(server, 'current', roles=[('create', [{
                        'role': role, 'from_date': rpc_datetime(yesterday),
                        'to_date': rpc_datetime(tomorrow)}])])
    ended = create_user(server, 'ended', roles=[('create', [{
                        'role': role,
                        'from_date': rpc_datetime(now - dt.timedelta(3)),
                        'to_date': rpc_datetime(yesterday)}])])
    assert registrar in user_groups(server, current)
    assert registrar not in user_groups(server, ended)

    # What the group gives: the registrar reads duplicate pairs, a user
    # whose role ended may not.
    method = 'model.spp.registry.duplicate.search'
    params = [[], 0, None, None, {}]
    server.call(method, params,
        session=server.login('current', PASSWORD), login='current')
    with pytest.raises(ServerError, match='AccessError|access'):
        server.call(method, params,
            session=server.login('ended', PASSWORD), login='ended')

    # A role that ends is taken away by the daily scheduled action
    # ("Synchronize Users Roles"), not only when the user is changed.
    user_role, = server.call('model.res.user.role.search',
        [[('user', '=', current)], 0, None, None, {}], session=server.admin)
    server.call('model.res.user.role.write', [[user_role], {
                'to_date': rpc_datetime(now - dt.timedelta(hours=1))}, {}],
        session=server.admin)
    assert registrar in user_groups(server, current)
    cron, = server.call('model.ir.cron.search',
        [[('method', '=', 'res.user|sync_roles')], 0, None, None, {}],
        session=server.admin)
    server.call('model.ir.cron.run_once', [[cron], {}], session=server.admin)
    assert registrar not in user_groups(server, current)


# --- authentication_sms: password, then a code sent by SMS ---

@pytest.fixture
def sms_server(database, admin_server, tmp_path, monkeypatch):
    """A server requiring password+sms, sending through tests/fake_sms.py
    (importable by the server: the repository root on its PYTHONPATH)."""
    outbox = tmp_path / 'sms-outbox.jsonl'
    monkeypatch.setenv('SPP_FAKE_SMS_OUTBOX', str(outbox))
    monkeypatch.setenv('PYTHONPATH', str(ROOT))
    extra = ("[session]\nauthentications = password+sms\n"
        "[authentication_sms]\nfunction = tests.fake_sms.send\n"
        "from = SP-MIS\nname = SP-MIS\n")
    with running_server(database, extra_config=extra) as server:
        server.outbox = outbox
        yield server


def login_request(server, login, parameters):
    return server.post(f'/{server.database.name}/rpc/', {
            'id': 1, 'method': 'common.db.login',
            'params': [login, parameters, 'en']})


def asks_for_code(status, body):
    "The server's answer that it wants the SMS code (sao shows a field)."
    return (status == 200 and isinstance(body, dict)
        and body.get('error', [None])[0] == 'LoginException'
        and body['error'][1][0] == 'sms_code')


def test_sms_second_factor(admin_server, sms_server):
    create_user(admin_server, 'fieldworker', mobile='+639171234567')

    # The password alone is not enough: the server asks for the code and
    # sends it to the user's mobile.
    status, body = login_request(sms_server, 'fieldworker',
        {'password': PASSWORD})
    assert asks_for_code(status, body), body
    message, = fake_sms.messages(sms_server.outbox)
    assert message['to'] == '+639171234567'
    assert message['from'] == 'SP-MIS'
    code = re.fullmatch(r'SP-MIS code (\d{6})', message['text']).group(1)

    # A wrong code is refused (asked again); the right one logs in once.
    wrong = f'{(int(code) + 1) % 10**6:06d}'
    status, body = login_request(sms_server, 'fieldworker',
        {'password': PASSWORD, 'sms_code': wrong})
    assert asks_for_code(status, body), body
    assert len(fake_sms.messages(sms_server.outbox)) == 1, (
        "no new code while the first one is valid")
    status, body = login_request(sms_server, 'fieldworker',
        {'password': PASSWORD, 'sms_code': code})
    assert status == 200, body
    user_id, session = body['result'][:2]
    assert sms_server.call('model.res.user.get_preferences', [False, {}],
        session=(user_id, session), login='fieldworker')['mobile'] == (
        '+639171234567')
    status, body = login_request(sms_server, 'fieldworker',
        {'password': PASSWORD, 'sms_code': code})
    assert asks_for_code(status, body), "a code is used once"

    # A code without the right password gets nothing.
    status, _ = login_request(sms_server, 'fieldworker',
        {'password': 'not-the-password', 'sms_code': code})
    assert status == 401


# --- authentication_saml: single sign-on from an identity provider ---

@pytest.fixture
def saml_server(database, admin_server, tmp_path, monkeypatch):
    """A server trusting a test identity provider: its metadata (with the
    signing certificate) in the pysaml2 configuration file."""
    key, certificate = saml_idp.key_and_certificate('Ministry IdP')
    idp_entity = 'https://idp.ministry.test/saml/metadata'
    metadata = tmp_path / 'idp-metadata.xml'
    metadata.write_text(saml_idp.metadata(
            idp_entity, 'https://idp.ministry.test/saml/sso', certificate))
    # The file name is a module name for pysaml2: one per test.
    sp_config = tmp_path / f'spp_saml_sp_{tmp_path.name}.py'
    sp_config.write_text(
        "CONFIG = {\n"
        "    'crypto_backend': 'XMLSecurity',\n"
        f"    'metadata': {{'local': [{str(metadata)!r}]}},\n"
        "}\n")
    extra = (f"[authentication_saml]\n{IDENTITY} = Ministry sign-in\n"
        f"[authentication_saml {IDENTITY}]\nconfig = {sp_config}\n"
        "login = uid\n")
    with running_server(database, extra_config=extra) as server:
        key_file = tmp_path / 'idp-key.pem'
        key_file.write_text(key)
        server.idp = (idp_entity, key_file)
        yield server


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_acs(server, saml_response):
    "POST the response to the ACS as the browser does; (status, headers)."
    url = urllib.parse.urljoin(server.url,
        f'/{server.database.name}/authentication/saml/{IDENTITY}/acs')
    data = urllib.parse.urlencode({'SAMLResponse': saml_response,
            'RelayState': server.url}).encode()
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=60
                ) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def signed_response(server, uid, key_file):
    base = server.url.rstrip('/') + (
        f'/{server.database.name}/authentication/saml/{IDENTITY}')
    issuer, _ = server.idp
    return saml_idp.response(issuer, f'{base}/metadata', f'{base}/acs',
        uid, key_file)


def test_saml_single_sign_on(admin_server, saml_server, tmp_path):
    staff = create_user(admin_server, 'caseworker')
    status, body = saml_server.post('/rpc/', {
            'id': 1, 'method': 'common.authentication.services',
            'params': []})
    assert body['result'] == [
        ['Ministry sign-in', f'/authentication/saml/{IDENTITY}/login']]

    _, key_file = saml_server.idp
    status, headers = post_acs(saml_server,
        signed_response(saml_server, 'caseworker', key_file))
    assert status == 302, headers
    query = dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(headers['Location']).query))
    assert query['login'] == 'caseworker'
    assert int(query['user_id']) == staff
    cookies = http.cookies.SimpleCookie(headers['Set-Cookie'])
    login, user_id, token = cookies['tryton_session'].value.rsplit(':', 2)
    assert (login, int(user_id)) == ('caseworker', staff)
    preferences = saml_server.call('model.res.user.get_preferences',
        [False, {}], session=(staff, token), login='caseworker')
    assert preferences['name'] == 'Caseworker'


def test_saml_refuses_other_key_tampering_and_unknown_user(
        admin_server, saml_server, tmp_path):
    create_user(admin_server, 'officer')
    other_key, _ = saml_idp.key_and_certificate('Not the IdP')
    other_file = tmp_path / 'other-key.pem'
    other_file.write_text(other_key)
    status, headers = post_acs(saml_server,
        signed_response(saml_server, 'officer', other_file))
    assert status >= 400 and 'Set-Cookie' not in headers, status

    # Signed by the IdP for one user, then changed to name another.
    _, key_file = saml_server.idp
    document = base64.b64decode(
        signed_response(saml_server, 'nobody-known', key_file))
    tampered = base64.b64encode(document.replace(
            b'>nobody-known<', b'>officer<')).decode()
    status, headers = post_acs(saml_server, tampered)
    assert status >= 400 and 'Set-Cookie' not in headers, status
    # Both refused by the signature check (the module answers 500).
    assert saml_server.log_tail(200000).count(
        'Failed to verify signature') >= 2, saml_server.log_tail()

    # Correctly signed, but for a login the database does not have.
    status, headers = post_acs(saml_server,
        signed_response(saml_server, 'nobody-known', key_file))
    assert status == 403 and 'Set-Cookie' not in headers, status
