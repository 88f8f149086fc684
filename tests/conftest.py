"""Fixtures for the project-level tests: real databases and servers.

template_database  (session) one database with every addon, built once per
                   run (TestDatabase.shared_template); copied for each test
                   that needs one
fresh_database     a copy of it, dropped after the test
trytond_server     `trytond -d DB` serving fresh_database (sao + JSON-RPC)
artifacts          test-artifacts/<name>/ directory for screenshots and logs
browser            headless Debian chromium driven by Playwright (module)
page               a new browser page; its last screenshot and JavaScript
                   errors are kept in artifacts

See tests/server.py for the helpers (running_server, running_topology, ...).
"""
import os
import shutil
from pathlib import Path

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT, watch_errors
from .server import (
    ARTIFACTS, TestDatabase, database_uri, is_postgresql,
    postgresql_unreachable, running_server, shared_lock,
    template_key)


# A browser test drives sao through timers and late server answers: under a
# loaded machine a click can land while sao redraws. Such a test is run once
# more on a fresh database and page before it counts as failed; the rerun
# shows in the summary (R), and a test that fails twice fails the run.
BROWSER_RERUNS = 1


def pytest_collection_modifyitems(items):
    for item in items:
        if {'page', 'browser'} & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.flaky(
                    reruns=BROWSER_RERUNS, reruns_delay=2))


@pytest.fixture(scope='session')
def backend_uri():
    "The database backend of this run; skips when PostgreSQL is unreachable."
    uri = database_uri()
    if is_postgresql(uri):
        reason = postgresql_unreachable(uri)
        if reason:
            pytest.skip(f"PostgreSQL at {uri} is unreachable: {reason}")
    return uri


@pytest.fixture(scope='session')
def template_database(backend_uri, tmp_path_factory):
    with shared_lock(template_key()) as shared:
        if shared is None:
            workdir = tmp_path_factory.mktemp('spp-databases')
            database = TestDatabase.install(workdir, 'tpl', uri=backend_uri)
        else:
            # Built by the first test process; the runner removes it
            # (and drops the run's test_spp_* databases) at the end.
            database = TestDatabase.shared_template(shared, uri=backend_uri)
    yield database
    if shared is None:
        database.drop()


@pytest.fixture
def fresh_database(template_database, request):
    tag = request.node.name.split('[')[0].removeprefix('test_')[:20]
    with shared_lock(template_key()):
        database = template_database.copy(tag)
    yield database
    database.drop()


@pytest.fixture
def trytond_server(fresh_database, monkeypatch):
    """The server without its list of databases: on a shared PostgreSQL,
    trytond's list reads every database and waits for any that another
    process holds locked (a module update), which kept sao's login form
    from showing for over a minute. sao then asks for the database name,
    which tests/browser.py's login() types."""
    monkeypatch.setenv('TRYTOND_DATABASE__LIST', 'False')
    with running_server(fresh_database) as server:
        yield server


@pytest.fixture
def artifacts(request):
    "A directory under test-artifacts/ for this test module's files."
    name = request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_')
    directory = ARTIFACTS / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def copy_log(server, artifacts, name):
    "Keep a server's log beside the test's other artifacts."
    shutil.copyfile(server.log_path, artifacts / name)


@pytest.fixture(scope='module')
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(`make test` does: sudo apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, artifacts, request):
    context = browser.new_context(
        viewport={'width': 1280, 'height': 800}, locale='en-US')
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    watch_errors(page)
    yield page
    # The last state of the page, whatever the outcome: the first thing to
    # look at when a browser test fails.
    page.screenshot(path=str(artifacts / f'{request.node.name}-last.png'))
    (artifacts / f'{request.node.name}-errors.txt').write_text(
        '\n'.join(page.js_errors))
    context.close()
