"""Program memberships, entitlements and payments over JSON-RPC, as users
of another area send the calls to a live trytond: a registry viewer of
district A and a payment officer of district A find, read and export
nothing of a household of district B (area_rules.xml of spp_programs,
spp_entitlement and spp_payment).

The database (every addon) is seeded before the server starts, in a
process of its own with the database's environment."""
import subprocess
import sys

import pytest

from .server import (
    ROOT, ServerError, running_server, shared_lock, template_key)

PASSWORDS = {'view_a': 'spp-test-Viewer-2024',
    'officer_a': 'spp-test-Officer-2024'}
MODELS = ['spp.program.membership', 'spp.cycle.membership',
    'spp.entitlement', 'spp.payment']


def seed_in_process(name):
    "Seed database `name` (run by seed() in the database's environment)."
    from decimal import Decimal

    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    with Transaction().start(name, 0) as transaction:
        from trytond.modules.spp_entitlement.tests.tools import (
            cash_program, household, standard_items, submitted_cycle)
        from trytond.modules.spp_payment.tests.test_module import (
            head, payee_data)
        from trytond.modules.spp_registry.tests.tools import (
            create_areas, get_ref)
        User = pool.get('res.user')
        Cycle = pool.get('spp.cycle')
        Batch = pool.get('spp.payment.batch')
        areas = create_areas()
        for i, (name_, area) in enumerate([("Own household", 'TL-N-A'),
                    ("Fletcher household", 'TL-N-B')]):
            payee_data(head(household(name_, 1, area=areas[area])), i)
        program = cash_program(items=standard_items())
        cycle = submitted_cycle(program, Decimal(100000))
        Cycle.approve_entitlements([cycle])
        Batch.create_for_cycle(cycle)
        viewer = get_ref('spp_registry', 'group_registry_viewer')
        officer = get_ref('spp_payment', 'group_payment_officer')
        User.create([{'name': login, 'login': login,
                    'password': PASSWORDS[login],
                    'groups': [('add', groups)],
                    'spp_areas': [('add', [areas['TL-N-A'].id])]}
                for login, groups in [('view_a', [viewer]),
                    ('officer_a', [viewer, officer])]])
        transaction.commit()


@pytest.fixture(scope='module')
def server(template_database):
    "One seeded server with every addon for the module's probes."
    with shared_lock(template_key()):
        database = template_database.copy('money')
    result = subprocess.run([sys.executable, '-c',
            'import sys; from tests.test_security_rpc_money import '
            'seed_in_process; seed_in_process(sys.argv[1])', database.name],
        env=database.env(), cwd=ROOT, capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-6000:]
    with running_server(database) as server:
        yield server
    database.drop()


@pytest.fixture(scope='module')
def records(server):
    """{model: (id of the own household's record, id of the other's)},
    as the administrator finds them; and the households' ids."""
    admin = server.login()

    def search(model, domain):
        return server.call(f'model.{model}.search',
            [domain, 0, None, [['id', 'ASC']], {}], session=admin)
    own, = search('party.party', [('name', '=', "Own household")])
    other, = search('party.party', [('name', '=', "Fletcher household")])
    found = {'party.party': (own, other)}
    for model in MODELS:
        found[model] = tuple(
            search(model, [('registrant', '=', party)])[0]
            for party in (own, other))
    return found


_sessions = {}


def call(server, login, method, *args):
    key = (id(server), login)
    if key not in _sessions:
        _sessions[key] = server.login(login, PASSWORDS[login])
    return server.call(f'model.{method}', [*args, {}],
        session=_sessions[key], login=login)


def refusal(server, login, method, *args):
    with pytest.raises(ServerError) as info:
        call(server, login, method, *args)
    return str(info.value)


@pytest.mark.parametrize('login, models', [
        ('view_a', MODELS[:3]),
        ('officer_a', MODELS)])
def test_other_areas_records_not_found(server, records, login, models):
    "Search, count, read and export find only the own area's records"
    for model in models:
        own, other = records[model]
        assert call(server, login, f'{model}.search',
            [], 0, None, None) == [own], model
        assert call(server, login, f'{model}.search_count',
            [('registrant', '=', records['party.party'][1])]) == 0, model
        # A hidden record is answered as a missing one.
        missing = other + 100000
        hidden = refusal(server, login, f'{model}.read', [other], ['id'])
        absent = refusal(server, login, f'{model}.read', [missing], ['id'])
        assert hidden.replace(f'"{other}"', '"N"') == absent.replace(
            f'"{missing}"', '"N"'), model
        assert "areas" not in hidden
        answer = refusal(server, login, f'{model}.export_data',
            [other], ['registrant/name'])
        assert 'Fletcher' not in answer
        assert call(server, login, f'{model}.export_data',
            [own], ['registrant/name']) == [["Own household"]]


def test_payee_data_not_found(server, records):
    "No payee phone or name of another area answers a payment officer"
    own, other = records['spp.payment']
    for domain in [[('payee_phone', '=', '+63 917 555 0001')],
            [('payee_name', 'ilike', '%Fletcher%')]]:
        assert call(server, 'officer_a', 'spp.payment.search_count',
            domain) == 0
    answer = refusal(server, 'officer_a', 'spp.payment.read', [other],
        ['payee_name', 'payee_phone', 'payee_account'])
    assert '555 0001' not in answer and 'Fletcher' not in answer


def test_registrant_form_tabs(server, records):
    "The own household's tabs list its records; the other's are refused"
    own, other = records['party.party']
    tabs = ['program_memberships', 'entitlements']
    record, = call(server, 'view_a', 'party.party.read', [own], tabs)
    assert record['program_memberships'] == [
        records['spp.program.membership'][0]]
    assert record['entitlements'] == [records['spp.entitlement'][0]]
    refusal(server, 'view_a', 'party.party.read', [other], tabs)
    record, = call(server, 'officer_a', 'party.party.read', [own],
        ['payments'])
    assert record['payments'] == [records['spp.payment'][0]]
    # Without a payment group the registry viewer reads no payment.
    refusal(server, 'view_a', 'spp.payment.search', [], 0, None, None)
