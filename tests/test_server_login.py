"""JSON-RPC login on a freshly started trytond.

trytond 8.0.12 fails `common.db.login` on a server started without a
database name (it answers ["'res.user'", '']): the demo therefore starts
`trytond -d spp`. These tests pin both facts down, on the run's backend.
"""
import pytest

from .server import ServerError, running_server


def test_first_login_on_fresh_server(trytond_server):
    "The very first request to a server started the demo's way logs in."
    user_id, session = trytond_server.login()
    assert user_id > 0
    assert len(session) >= 32

    # The session works for an authenticated call.
    preferences = trytond_server.call(
        'model.res.user.get_preferences', [True, {}],
        session=(user_id, session))
    assert isinstance(preferences, dict)
    assert 'language' in preferences


def test_login_rejects_wrong_password(trytond_server):
    with pytest.raises(ServerError, match='HTTP 401|HTTP 403'):
        trytond_server.login(password='not-the-password')


def test_login_without_preloaded_database(fresh_database):
    """Started without -d, JSON-RPC login fails on trytond 8.0.12 (every
    time, not only the first) -- the reason the demo passes -d and gunicorn
    gets TRYTOND_DATABASE_NAMES. Another release must log in; then this
    test says so and the workaround can go."""
    from trytond import __version__
    with running_server(fresh_database, preload=False) as server:
        try:
            user_id, _ = server.login()
        except ServerError as error:
            assert "'res.user'" in str(error), error
            assert __version__ == '8.0.12', (
                f"trytond {__version__} still fails JSON-RPC login on a "
                f"server started without -d: {error}")
        else:
            assert user_id > 0
