"""docs/integrator.md works as written: its Python blocks run, in order,
as one session against a live server (JSON-RPC and REST)."""
import re
from pathlib import Path

from .server import ADMIN_LOGIN, ADMIN_PASSWORD
from .test_api_support import api  # noqa: F401

GUIDE = Path(__file__).resolve().parent.parent / 'docs' / 'integrator.md'


def python_blocks(text):
    return re.findall(r'^```python\n(.*?)^```', text, re.S | re.M)


def test_integrator_guide(api, monkeypatch):
    "Every example of the integrator guide runs against a live server"
    monkeypatch.setenv('SPP_URL', api.server.url.rstrip('/'))
    monkeypatch.setenv('SPP_DATABASE', api.server.database.name)
    monkeypatch.setenv('SPP_LOGIN', ADMIN_LOGIN)
    monkeypatch.setenv('SPP_PASSWORD', ADMIN_PASSWORD)
    blocks = python_blocks(GUIDE.read_text())
    assert len(blocks) >= 10
    namespace = {'__name__': 'integrator_guide'}
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f'{GUIDE.name} block {number}', 'exec'),
                namespace)
        except Exception as exception:
            raise AssertionError(
                f"block {number} failed: {exception!r}\n{block}") from exception
    assert namespace['banda']['member_count'] == 2
    assert namespace['chikondi']['occupation'] is None
