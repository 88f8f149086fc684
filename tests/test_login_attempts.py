"""Failed logins and locked accounts, as administrators see them, and the
password rules of the shipped configuration, on a real server.

trytond counts failed logins per login (`[session] max_attempt`, within
`[session] timeout` seconds) and answers 429 beyond the limit, even to the
right password; spp_audit lists the attempts for the Administration group
(*Administration › Users › Login Attempts*).
"""
import configparser
import secrets

import pytest

from .server import ROOT, ServerError, running_server

MAX_ATTEMPT = 2
REGISTRAR_PASSWORD = 'spp-test-Registrar-2024'


def shipped_section(section):
    """The [section] of trytond.conf, which the production configuration
    must repeat: the rules are the same in the demo and in production."""
    values = {}
    for path in [ROOT / 'trytond.conf',
            ROOT / 'deploy' / 'trytond-postgresql.conf']:
        parser = configparser.ConfigParser()
        parser.read(path)
        values[path.name] = dict(parser.items(section))
    demo, production = values.values()
    assert demo == production, values
    return demo


def as_config(section, values):
    return f"[{section}]\n" + ''.join(
        f"{key} = {value}\n" for key, value in values.items())


@pytest.fixture
def server(fresh_database):
    extra = (f"[session]\nmax_attempt = {MAX_ATTEMPT}\n"
        + as_config('password', shipped_section('password')))
    with running_server(fresh_database, extra_config=extra) as server:
        yield server


def login_status(server, login, password):
    status, _ = server.post(f'/{server.database.name}/rpc/', {
            'id': 1, 'method': 'common.db.login',
            'params': [login, {'password': password}, 'en']})
    return status


def group_id(server, admin, name):
    group, = server.call('model.res.group.search',
        [[('name', '=', name)], 0, None, None, {}], session=admin)
    return group


def create_user(server, admin, login, password, groups=()):
    return server.call('model.res.user.create', [[{
                    'name': login.title(), 'login': login,
                    'password': password,
                    'groups': [('add', list(groups))],
                    }], {}], session=admin)[0]


def attempts(server, admin, login):
    return server.call('model.res.user.login.attempt.search_read', [
            [('login', '=', login)], 0, None, None,
            ['login', 'user', 'locked', 'ip_address', 'ip_network',
                'create_date'], {}], session=admin)


def test_failed_logins_shown_and_locked(server):
    admin = server.login()
    registrar = create_user(server, admin, 'registrar', REGISTRAR_PASSWORD,
        [group_id(server, admin, 'Registrar')])

    for _ in range(MAX_ATTEMPT + 1):
        assert login_status(server, 'registrar', 'not-the-password') == 401
    shown = attempts(server, admin, 'registrar')
    assert len(shown) == MAX_ATTEMPT + 1
    assert {a['user'] for a in shown} == {registrar}
    assert {a['ip_address'] for a in shown} == {'127.0.0.1'}
    assert {a['ip_network'] for a in shown} == {'127.0.0.1/32'}
    assert all(a['create_date'] for a in shown)
    assert {a['locked'] for a in shown} == {True}

    # Beyond the limit even the right password is refused, and counted.
    assert login_status(server, 'registrar', REGISTRAR_PASSWORD) == 429
    assert len(attempts(server, admin, 'registrar')) == MAX_ATTEMPT + 2
    # Another account is not locked with it.
    assert server.login()[0] == admin[0]


def test_attempts_below_limit_not_locked_and_cleared(server):
    admin = server.login()
    create_user(server, admin, 'registrar', REGISTRAR_PASSWORD)
    assert login_status(server, 'registrar', 'not-the-password') == 401
    shown, = attempts(server, admin, 'registrar')
    assert shown['locked'] is False
    # A login that names no account is listed too, without a user.
    assert login_status(server, 'nobody', 'guess-1') == 401
    nobody, = attempts(server, admin, 'nobody')
    assert nobody['user'] is None

    # A successful login clears its failures.
    server.login('registrar', REGISTRAR_PASSWORD)
    assert attempts(server, admin, 'registrar') == []


def test_only_administrators_read_attempts(server):
    admin = server.login()
    create_user(server, admin, 'registrar', REGISTRAR_PASSWORD,
        [group_id(server, admin, 'Registrar')])
    assert login_status(server, 'nobody', 'guess-1') == 401
    registrar = server.login('registrar', REGISTRAR_PASSWORD)
    with pytest.raises(ServerError, match='AccessError|access'):
        server.call('model.res.user.login.attempt.search_read',
            [[], 0, None, None, ['login'], {}], session=registrar,
            login='registrar')
    # Nobody writes or deletes them, not even an administrator.
    attempt, = attempts(server, admin, 'nobody')
    with pytest.raises(ServerError, match='AccessError|access'):
        server.call('model.res.user.login.attempt.delete',
            [[attempt['id']], {}], session=admin)

    menu, = server.call('model.ir.ui.menu.search_read', [
            [('name', '=', 'Login Attempts')], 0, None, None,
            ['complete_name'], {}], session=admin)
    assert menu['complete_name'] == 'Administration / Users / Login Attempts'
    assert server.call('model.ir.ui.menu.search', [
            [('name', '=', 'Login Attempts')], 0, None, None, {}],
        session=registrar, login='registrar') == []


def test_shipped_password_rules(server):
    "A short password is refused; the project's own passwords pass."
    rules = shipped_section('password')
    length = int(rules['length'])
    assert length >= 12
    admin = server.login()
    with pytest.raises(ServerError, match=f'at least {length} characters'):
        create_user(server, admin, 'weak', 'x' * (length - 1))
    # The login itself is refused as a password.
    with pytest.raises(ServerError, match='UserError|PasswordError'):
        create_user(server, admin, 'registrar-login-1', 'registrar-login-1')
    for n, password in enumerate([
            REGISTRAR_PASSWORD,           # tests
            'demo-Viewer-1',              # tests/test_demo_scenario.py
            secrets.token_urlsafe(12),    # spp_demo.users, sppdb.py
            ]):
        user = create_user(server, admin, f'user{n}', password)
        assert server.login(f'user{n}', password)[0] == user
    # A change of password obeys the same rule.
    with pytest.raises(ServerError, match=f'at least {length} characters'):
        server.call('model.res.user.write',
            [[user], {'password': 'short'}, {}], session=admin)
