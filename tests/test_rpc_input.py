"""JSON-RPC input the ORM cannot take answers a clean user error, on the
run's backend: NUL characters in values (which PostgreSQL cannot store)
and malformed search domains and orders (which trytond walked into a
RecursionError or a KeyError). A clean error is a UserError naming the
field or the part at fault: no traceback, no SQL, nothing written."""
import base64
import urllib.error
import urllib.request

from .server import ADMIN_LOGIN


def authorization(session):
    user_id, token = session
    credentials = f'{ADMIN_LOGIN}:{user_id}:{token}'.encode()
    return {'Authorization': 'Session '
        + base64.b64encode(credentials).decode()}


def answer(server, session, method, params):
    "The JSON-RPC answer (HTTP status, body) of a call as admin."
    return server.post(f'/{server.database.name}/rpc/',
        {'id': 1, 'method': method, 'params': params}, authorization(session))


def post_text(server, session, text):
    "POST `text` as a JSON-RPC request; return (HTTP status, body text)."
    request = urllib.request.Request(
        f'{server.url}{server.database.name}/rpc/', data=text.encode(),
        headers={'Content-Type': 'application/json',
            **authorization(session)}, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors='replace')


def user_error(server, session, method, params):
    "The message of the UserError a call answers; fails on anything else."
    status, body = answer(server, session, method, params)
    assert status == 200, (status, body)
    error = body.get('error')
    assert error and error[0] == 'UserError', body
    assert 'Traceback' not in repr(body), body
    return error[1][0]


def test_nul_refused_as_field_error(trytond_server):
    "create and write with a NUL character name the field; nothing changes"
    server = trytond_server
    session = server.login()
    call = lambda method, params: server.call(  # noqa: E731
        method, params, session=session, login=ADMIN_LOGIN)

    message = user_error(server, session, 'model.party.party.create',
        [[{'name': 'Ana\x00Santos'}], {}])
    assert 'NUL character' in message
    assert '"Name"' in message and '"Party"' in message, message

    party_id, = call('model.party.party.create', [[{'name': 'Clean'}], {}])
    for model, values, field in [
            ('party.identifier', {'party': party_id, 'code': '12\x0034'},
                '"Code"'),
            ('party.contact_mechanism', {'party': party_id,
                    'type': 'email', 'value': 'a\x00@example.com'},
                '"Value"'),
            ('party.address', {'party': party_id, 'city': 'Dili\x00'},
                '"City"'),
            ]:
        count = [[('party', '=', party_id)], 0, None, {}]
        before = call(f'model.{model}.search_count', count)
        message = user_error(server, session, f'model.{model}.create',
            [[values], {}])
        assert 'NUL character' in message and field in message, message
        assert call(f'model.{model}.search_count', count) == before, model

    message = user_error(server, session, 'model.party.party.write',
        [[party_id], {'name': 'Dirty\x00'}, {}])
    assert 'NUL character' in message and '"Name"' in message
    (party,) = call('model.party.party.read', [[party_id], ['name'], {}])
    assert party['name'] == 'Clean'
    assert call('model.party.party.search_count',
        [[('name', 'like', '%Santos%')], 0, None, {}]) == 0


def test_malformed_domains_answer_a_domain_error(trytond_server):
    """Domains and orders trytond cannot read answer a user error for any
    model, never a server error"""
    server = trytond_server
    session = server.login()
    nested = [('name', '=', 'x')]
    for _ in range(200):
        nested = [nested]
    cases = [
        ('party.party', 'search', ['x', 0, None, None, {}],
            "'x' is not a list of conditions"),
        ('party.party', 'search_count', ['x', 0, None, {}],
            'not a list of conditions'),
        ('party.party', 'search_read', [[['name', '=', 'x'], 'y'], 0, None,
                None, ['name'], {}], "'y' is not a list"),
        ('party.party', 'search',
            [[['name; DROP TABLE party_party; --', '=', 'x']], 0, None,
                None, {}],
            '"name; DROP TABLE party_party; --" is not a field of'),
        ('party.party', 'search', [[['name', 'sounds like', 'x']], 0, None,
                None, {}], "unknown operator 'sounds like'"),
        ('party.party', 'search', [[['addresses.nope', '=', 'x']], 0, None,
                None, {}], '"addresses.nope" is not a field of "Party"'),
        ('party.party', 'search', [[[1, '=', 'x']], 0, None, None, {}],
            '"1" is not a field'),
        ('party.party', 'search', [nested, 0, None, None, {}],
            'more than 64 levels deep'),
        ('party.party', 'search', [[], 0, None,
                [['name; DROP TABLE party_party', 'ASC']], {}],
            'is not a field of'),
        ('party.party', 'search', [[], 0, None, [['name', 'SIDEWAYS']],
                {}], "['name', 'SIDEWAYS'] is not a field and a direction"),
        ('party.party', 'search', [[['name', 'in', ['a', 'b\x00']]], 0,
                None, None, {}], 'condition on "name" contains a NUL'),
        ('res.user', 'search', [{'login': 'admin'}, 0, None, None, {}],
            'not a list of conditions'),
        ('ir.model', 'search_count', [[['name', 'where', []]], 0, None,
                {}], "unknown operator 'where'"),
        ('party.party', 'search', [[['addresses', 'where', 'x']], 0, None,
                None, {}], "'x' is not a list of conditions"),
        ]
    for model, method, params, expected in cases:
        message = user_error(server, session, f'model.{model}.{method}',
            params)
        assert 'not valid' in message, (model, method, message)
        assert expected in message, (model, method, params, message)

    # Nested beyond what a JSON parser reads: refused as a bad request.
    deep = '[' * 5000 + ']' * 5000
    status, text = post_text(server, session,
        '{"id": 1, "method": "model.party.party.search", '
        f'"params": [{deep}, 0, null, null, {{}}]}}')
    assert status == 400, (status, text)
    assert 'Traceback' not in text and 'Recursion' not in text, text

    # The table is there and the valid searches still answer.
    status, body = answer(server, session, 'model.party.party.search',
        [[['name', 'ilike', '%'], ['addresses.street', '=', None]], 0, 5,
            [['name', 'ASC']], {}])
    assert status == 200 and isinstance(body.get('result'), list), body
    assert 'Traceback' not in server.log_tail(200_000)
