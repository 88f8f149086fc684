"""The Integrated Beneficiary Registry against a live server: enrolment,
exit and the check queue their IBR calls (run after the request, as a
worker would), which reach a fake IBR over HTTP; every message it gets is
validated against the IBR spec (addons/spp_dci_client/tests/data)."""
import time

import pytest

from trytond.modules.spp_dci_client.tests.fake_registry import FakeRegistry
from trytond.modules.spp_dci_client.tests.tools import registry_values
from trytond.modules.spp_dci_client.tests.test_ibr import (
    ENROLLED, UPDATES, FakeIbr)

from .server import TestDatabase, running_server
from .test_api_support import Api, national_id


@pytest.fixture(scope='module')
def setup(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-ibr')
    # Every addon: the run's shared template (no set-up of its own).
    database = TestDatabase.create(workdir, 'dciibr', uri=backend_uri)
    fake = FakeRegistry(sender_id='ibr.test')
    ibr = FakeIbr(fake)
    try:
        with running_server(database,
                extra_config="[spp_dci_client]\nretry_pause = 0\n") as server:
            api = Api(server, server.login())
            registry, = api.rpc('model.spp.dci.registry.create', [
                    registry_values(fake, 'ibr', 'ibr',
                        name="Beneficiary Registry", signature_required=True,
                        attempts=2, batch_size=2, mappings=[['create', [{
                                        'category': 'identifier_type',
                                        'external_code': 'UIN',
                                        'internal_code': 'national_id'}]]])])
            currency, = api.rpc('model.currency.currency.create', [{
                        'name': "Test", 'code': 'TST', 'symbol': 'T'}])
            yield {'api': api, 'fake': fake, 'ibr': ibr, 'server': server,
                'registry': registry, 'currency': currency}
    finally:
        fake.stop()
        database.drop()


def people(api, seed, count, given):
    "Individuals with a national ID: [(id, number)]."
    numbers = [national_id(seed + i) for i in range(count)]
    ids = api.rpc('model.party.party.create', [{
                'registrant_type': 'individual', 'family_name': "Ibr",
                'given_name': given,
                'identifiers': [['create', [{'type': 'national_id',
                                'code': number}]]]}
            for i, number in enumerate(numbers)])
    return list(zip(ids, numbers))


def program(setup, code, **values):
    api = setup['api']
    program_id, = api.rpc('model.spp.program.create', [{
                'name': f"Program {code}", 'code': code,
                'target_type': 'individual', 'currency': setup['currency'],
                'recurrence': 'monthly', 'ibr_registry': setup['registry'],
                'eligibility_rule': f'given_name = "{code}-person"',
                **values}])
    api.rpc('model.spp.program.activate', [program_id])
    return program_id


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def sent(fake):
    return [b for body in fake.calls_to(UPDATES)
        for b in body['message']['enrolled_updates']['beneficiaries']]


def memberships(api, program_id):
    return api.rpc('model.spp.program.membership.search_read',
        [('program', '=', program_id)], 0, None, [('id', 'ASC')],
        ['registrant', 'state', 'ibr_sent_state', 'ibr_enrolled_elsewhere',
            'ibr_checked', 'state_reason'])


def test_enrolment_and_exit_reach_the_ibr(setup):
    "Import and Enrol, then an exit: each queued send reaches the IBR"
    api, fake = setup['api'], setup['fake']
    fake.calls.clear()
    program_id = program(setup, 'EN', ibr_programme_id='IBR-EN')
    people(api, 500, 3, 'EN-person')
    api.rpc('model.spp.program.import_and_enrol', [program_id])
    assert wait_for(lambda: len(sent(fake)) == 3), setup['server'].log_tail()
    assert len(fake.calls_to(UPDATES)) == 2  # batches of 2
    assert {b['programme_identifier']['programme']['programme_identifier']
        for b in sent(fake)} == {'IBR-EN'}
    assert wait_for(lambda: all(m['ibr_sent_state'] == 'enrolled'
            for m in memberships(api, program_id)))
    status, = api.rpc('model.spp.program.read', [program_id],
        ['ibr_send_status', 'ibr_pending'])
    assert status['ibr_pending'] == 0
    assert "3 membership changes sent" in status['ibr_send_status']

    fake.calls.clear()
    first = memberships(api, program_id)[0]
    api.rpc('model.spp.program.membership.exit', [first['id']])
    assert wait_for(lambda: len(sent(fake)) == 1)
    update, = sent(fake)
    assert update['reference_id'] == str(first['id'])
    assert update['programme_identifier']['enrolment_status'] == 'exited'


def test_check_then_enrol(setup):
    "Check IBR marks the excluded candidate; Enrol leaves it out"
    api, fake, ibr = setup['api'], setup['fake'], setup['ibr']
    fake.calls.clear()
    program_id = program(setup, 'CK', ibr_exclusions="OAP-2026")
    persons = people(api, 600, 3, 'CK-person')
    ibr.enrolled[persons[1][1]] = 'OAP-2026'
    api.rpc('model.spp.program.import_eligible', [program_id])
    api.rpc('model.spp.program.ibr_check', [program_id])
    assert wait_for(lambda: all(m['ibr_checked']
            for m in memberships(api, program_id)))
    assert len(fake.calls_to(ENROLLED)) == 2  # 3 candidates, batches of 2
    flagged = [m['registrant'] for m in memberships(api, program_id)
        if m['ibr_enrolled_elsewhere']]
    assert flagged == [persons[1][0]]

    api.rpc('model.spp.program.enrol', [program_id])
    states = {m['registrant']: (m['state'], m['state_reason'])
        for m in memberships(api, program_id)}
    assert states[persons[0][0]][0] == 'enrolled'
    assert states[persons[1][0]][0] == 'not_eligible'
    assert "according to the IBR" in states[persons[1][0]][1]
    # The enrolled ones are sent; the excluded one never was enrolled.
    assert wait_for(lambda: len(sent(fake)) == 2)
