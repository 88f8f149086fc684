"""DCI asynchronous search in the production topology (gunicorn +
trytond-worker + trytond-cron on PostgreSQL): the ACK comes back while the
callback is still being delivered, and a failed callback is retried by the
worker after the configured delay.

Run with TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:5432/;
skipped on SQLite (trytond-worker needs PostgreSQL)."""
import os
import threading
import time

import pytest

from .server import TestDatabase, is_postgresql, running_topology
from .test_api_dci import validate
from .test_api_dci_async import (
    ACK, ON_SEARCH, Receiver, dci_envelope, transactions)
from .test_api_support import Api, household_body

pytestmark = pytest.mark.skipif(
    not is_postgresql(), reason="needs PostgreSQL (trytond-worker)")

SETTINGS = {
    'TRYTOND_SPP_DCI__RETRY_DELAYS': '2',
    'TRYTOND_SPP_DCI__CALLBACK_TIMEOUT': '30',
    }


@pytest.fixture(scope='module')
def topology(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-worker')
    database = TestDatabase.create(workdir, 'dciw', modules=['spp_api'],
        uri=backend_uri)
    receiver = Receiver()
    saved = {k: os.environ.get(k) for k in SETTINGS}
    os.environ.update(SETTINGS)
    try:
        with running_topology(database, workers=1) as server:
            api = Api(server, server.login())
            api.make_areas()
            api.make_client('full')
            api.rpc('model.spp.dci.sender.create', [{
                        'sender_id': 'sr.example', 'name': "SR",
                        'client': api.clients['full'],
                        'callback_url': receiver.url}])
            api.post('/groups', json=household_body("Worker", 9000, size=2))
            yield api, receiver
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        receiver.stop()
        database.drop()


def wait_for(condition, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_ack_before_callback_and_retry(topology):
    "ACK while the worker delivers; a 503 is retried after the delay"
    api, receiver = topology
    receiver.hold = threading.Event()
    receiver.fail = 1
    try:
        started = time.monotonic()
        response = api.post('/registry/search', json=dci_envelope())
        assert response.status_code == 202, response.text
        validate(response.json(), ACK)
        # The receiver holds the worker's POST for 20 s: the ACK did not
        # wait for it.
        assert time.monotonic() - started < 10
        wait_for(lambda: receiver.calls)
    finally:
        receiver.hold.set()
        receiver.hold = None
    correlation = [('correlation_id', '=',
            response.json()['message']['correlation_id'])]
    record, = wait_for(lambda: [r for r in transactions(api, correlation)
            if r['state'] == 'delivered'])
    assert record['attempts'] == 2
    assert len(receiver.calls) == 2
    # The retry waited for its scheduled time, 2 s after the failure (the
    # first call's answer, which came after its arrival).
    assert receiver.times[1] - receiver.times[0] >= 2
    validate(receiver.calls[1][1], ON_SEARCH)
    records = receiver.calls[1][1]['message']['search_response'][0][
        'data']['reg_records']
    assert [r['demographic_info']['name']['given_name']
        for r in records] == ["Member 1"]
