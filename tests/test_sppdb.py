"""tools/sppdb.py as operators call it: by its command line.

- `ensure --password-file FILE` refuses at once, in one line, a FILE that
  is missing or holds no password (trytond-admin fell back to a password
  prompt without a terminal and failed after half a minute), and drops
  nothing first;
- a relative `[database] path` in a configuration file is relative to that
  file, wherever sppdb.py is started from (trytond.conf's `path = var` made
  `-c trytond.conf ensure` from another directory write /var/<db>.sqlite).

Both run on SQLite (the configuration says so), in the SQLite pass only.
"""
import os
import subprocess
import sys

import pytest

from .server import _TEST_ONLY_ENV, ROOT, TOOLS, is_postgresql

pytestmark = pytest.mark.skipif(is_postgresql(),
    reason="SQLite files in a temporary directory: the SQLite pass runs it")


def sppdb(*args, cwd, state):
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY_ENV}
    env['SPP_STATE_DIR'] = str(state)
    return subprocess.run([sys.executable, str(TOOLS / 'sppdb.py'), *args],
        env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=600)


def write_config(directory):
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / 'trytond.conf'
    config.write_text("[database]\nuri = sqlite://\npath = var\n")
    return config


@pytest.mark.parametrize('content', [None, '', 'short\n', 'two\nlines\n'],
    ids=['missing', 'empty', 'short', 'two-lines'])
def test_unusable_password_file_refused_first(tmp_path, content):
    "A missing or unusable password file: one clear line, nothing touched"
    config = write_config(tmp_path / 'conf')
    var = tmp_path / 'conf' / 'var'
    var.mkdir()
    # An existing database that --reset would drop.
    (var / 'spp_pw.sqlite').write_bytes(b'')
    password_file = tmp_path / 'admin_password'
    if content is not None:
        password_file.write_text(content)
    result = sppdb('-c', str(config), 'ensure', 'spp_pw', '--reset',
        '--password-file', str(password_file), cwd=tmp_path,
        state=tmp_path / 'state')
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr
    assert result.stderr.startswith(
        f"ERROR: the password file {password_file} ")
    expected = ('does not exist' if content is None
        else 'holds no password of 8 characters or more')
    assert expected in result.stderr
    assert 'write the admin password' in result.stderr
    assert sorted(p.name for p in var.iterdir()) == ['spp_pw.sqlite']


def test_relative_path_relative_to_config(tmp_path):
    "`path = var` is the var/ beside the configuration file"
    config = write_config(tmp_path / 'checkout')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    password_file = tmp_path / 'admin_password'
    password_file.write_text('a-long-password\n')
    relative = os.path.relpath(config, elsewhere)
    result = sppdb('-c', relative, 'ensure', 'spp_path',
        '--password-file', os.path.relpath(password_file, elsewhere),
        '--modules', 'spp_registry', cwd=elsewhere, state=tmp_path / 'state')
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Database 'spp_path': created." in result.stdout
    var = tmp_path / 'checkout' / 'var'
    assert (var / 'spp_path.sqlite').stat().st_size > 0
    assert not (elsewhere / 'var').exists()
    # The tools find it again from anywhere.
    assert sppdb('-c', str(config), 'exists', 'spp_path', cwd=ROOT,
        state=tmp_path / 'state').returncode == 0
    assert sppdb('-c', relative, 'exists', 'spp_path', cwd=elsewhere,
        state=tmp_path / 'state').returncode == 0
