"""A registry pull between two live instances of this project over DCI: a
real client against a real server.

Server A (spp_api) is the external social registry: households, a DCI
sender for B bound to an API client with registry:search, answers signed
with A's key. Server B (spp_dci_client) has A as an external registry
(OAuth2 client credentials: the sender id and the API key; A's public
key) and pulls the households of an area from it, page by page, then
pulls again (nothing changes), refreshes after A changed a person, and is
read by users of other areas."""
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .server import ServerError, TestDatabase, running_server
from .test_api_support import Api, household_body

PASSWORD = 'spp-test-Pull-2024'
SENDER = 'spmis.b'
REGISTRY_SENDER = 'registry.a'


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope='module')
def instances(backend_uri, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('spp-dci-pull')
    key = ed25519.Ed25519PrivateKey.generate()
    key_path = workdir / 'registry_a.pem'
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    key_path.chmod(0o600)
    database_a = TestDatabase.create(workdir / 'a', 'pull_a',
        modules=['spp_api'], uri=backend_uri)
    database_b = TestDatabase.create(workdir / 'b', 'pull_b',
        modules=['spp_dci_client'], uri=backend_uri)
    config_a = ("[spp_dci]\n"
        f"signing_key = {key_path}\n"
        f"sender_id = {REGISTRY_SENDER}\n")
    config_b = "[spp_dci_client]\nretry_pause = 0\n"
    try:
        with running_server(database_a, extra_config=config_a) as server_a, \
                running_server(database_b, extra_config=config_b) \
                as server_b:
            a = Api(server_a, server_a.login())
            a.make_areas()
            a.make_client('full')
            a.make_client('registry_b', scopes=['registry:search'])
            a.rpc('model.spp.dci.sender.create', [{'sender_id': SENDER,
                        'name': "SP-MIS B",
                        'client': a.clients['registry_b']}])
            a.rpc('model.spp.id.type.create', [{'name': "Tax Number",
                        'code': 'tax_number', 'pattern': r'T\d{6}'}])
            households = {}
            for number in range(5):
                response = a.post('/groups', json=household_body(
                        f"North{number}", 7000 + 10 * number))
                assert response.status_code == 201, response.text
                households[f'north{number}'] = response.json()
            south = household_body("South", 7100, area='TL-S')
            households['south'] = a.post('/groups', json=south).json()
            taxed = household_body("Taxed", 7200, size=2)
            taxed['members'][1]['individual']['identifiers'] = [
                {'type': 'tax_number', 'value': 'T123456'}]
            response = a.post('/groups', json=taxed)
            assert response.status_code == 201, response.text
            households['taxed'] = response.json()

            b = Api(server_b, server_b.login())
            b.make_areas()
            registry, = b.rpc('model.spp.dci.registry.create', [{
                        'name': "Registry A", 'code': 'registry-a',
                        'kind': 'social_registry',
                        'base_url': a.base,
                        'auth_method': 'oauth2',
                        'client_id': SENDER,
                        'client_secret': a.keys['registry_b'],
                        'sender_id': SENDER,
                        'receiver_id': REGISTRY_SENDER,
                        'public_key': pem_public(key),
                        'signature_required': True,
                        'timeout': 30, 'attempts': 2, 'page_size': 2,
                        'mappings': [('create', [
                                    {'category': 'identifier_type',
                                        'external_code': 'UIN',
                                        'internal_code': 'national_id'},
                                    {'category': 'identifier_type',
                                        'external_code': 'BRN',
                                        'internal_code': 'birth_certificate'},
                                    ])],
                        }])
            yield {'a': a, 'b': b, 'registry': registry,
                'households': households}
    finally:
        database_a.drop()
        database_b.drop()


def read_pull(b, pull):
    row, = b.rpc('model.spp.dci.pull.read', [pull], [
            'state', 'error', 'total', 'pages', 'households_read',
            'created', 'updated', 'unchanged', 'refused', 'individuals',
            'lines'])
    return row


def lines_of(b, row):
    return b.rpc('model.spp.dci.pull.line.read', row['lines'],
        ['kind', 'record', 'reason'])


def individuals_b(b):
    ids = b.rpc('model.party.party.search',
        [('registrant_type', '=', 'individual')])
    return b.rpc('model.party.party.read', ids, ['given_name',
            'family_name', 'dci_ref', 'dci_registry', 'write_date'])


@pytest.fixture(scope='module')
def pulled(instances):
    "B pulls the households of TL-N from A (the queued job runs at once)."
    b = instances['b']
    pull, = b.rpc('model.spp.dci.pull.create', [{
                'registry': instances['registry'],
                'area': b.areas['TL-N']}])
    b.rpc('model.spp.dci.pull.pull', [pull])
    return {**instances, 'pull': pull}


def test_pull_from_live_instance(pulled):
    "Households of the area created in B, the unmapped one refused"
    b, pull = pulled['b'], pulled['pull']
    row = read_pull(b, pull)
    assert row['state'] == 'done', (row['error'], b.server.log_tail())
    assert (row['total'], row['pages'], row['households_read']) == (6, 3, 6)
    assert (row['created'], row['individuals'], row['refused'],
        row['updated'], row['unchanged']) == (5, 15, 1, 0, 0)
    taxed = pulled['households']['taxed']
    line, = lines_of(b, row)
    assert line['kind'] == 'refused'
    assert line['record'] == taxed['members'][1]['individual']
    assert 'TAX_NUMBER' in line['reason'].upper()
    people = individuals_b(b)
    assert len(people) == 15
    assert {p['dci_registry'] for p in people} == {pulled['registry']}
    names = {p['family_name'] for p in people}
    assert names == {f"North{n}" for n in range(5)}
    # Households carry A's codes as their record at the source.
    north = pulled['households']['north0']
    group_ids = b.rpc('model.party.party.search',
        [('dci_ref', '=', north['code'])])
    group, = b.rpc('model.party.party.read', group_ids,
        ['name', 'member_count', 'registrant_type'])
    assert (group['name'], group['member_count'],
        group['registrant_type']) == ("North0 household", 3, 'group')
    # Every call is in B's exchange log, signed answers checked.
    ids = b.rpc('model.spp.dci.exchange.search', [])
    exchanges = b.rpc('model.spp.dci.exchange.read', ids,
        ['state', 'http_status', 'records'])
    assert len(exchanges) == 3
    assert {(e['state'], e['http_status']) for e in exchanges} == {
        ('done', 200)}


def test_pull_again_changes_nothing(pulled):
    "The same pull again: all unchanged (the refused one refused again)"
    b, pull = pulled['b'], pulled['pull']
    before = sorted((p['id'], p['write_date']) for p in individuals_b(b))
    b.rpc('model.spp.dci.pull.pull', [pull])
    row = read_pull(b, pull)
    assert row['state'] == 'done', row['error']
    assert (row['created'], row['updated'], row['unchanged'],
        row['refused']) == (0, 0, 5, 1)
    assert sorted((p['id'], p['write_date'])
        for p in individuals_b(b)) == before


def test_refresh_applies_changes(pulled):
    "A changes a person; B's refresh re-reads by identifier and updates"
    a, b, pull = pulled['a'], pulled['b'], pulled['pull']
    member = pulled['households']['north2']['members'][1]['individual']
    response = a.patch(f'/individuals/{member}',
        json={'given_name': "Renamed"})
    assert response.status_code == 200, response.text
    b.rpc('model.spp.dci.pull.refresh', [pull])
    row = read_pull(b, pull)
    assert row['state'] == 'done', row['error']
    assert (row['total'], row['updated'], row['unchanged'],
        row['created']) == (5, 1, 4, 0)
    ids = b.rpc('model.party.party.search', [('dci_ref', '=', member)])
    person, = b.rpc('model.party.party.read', ids, ['given_name'])
    assert person['given_name'] == "Renamed"


def test_registry_refuses_wrong_key(pulled):
    "A's key does not verify: the pull fails, nothing is written"
    b = pulled['b']
    other = ed25519.Ed25519PrivateKey.generate()
    registry, = b.rpc('model.spp.dci.registry.copy', [pulled['registry']],
        {'code': 'registry-forged', 'client_secret': pulled['a'].keys[
                'registry_b'], 'public_key': pem_public(other)})
    # No area: a pull only registry administrators see.
    pull, = b.rpc('model.spp.dci.pull.create', [{'registry': registry,
                'conditions': '{"group_size": {"$gte": 1}}'}])
    b.rpc('model.spp.dci.pull.pull', [pull])
    row = read_pull(b, pull)
    assert row['state'] == 'failed'
    assert 'err.signature.invalid' in row['error']
    assert row['created'] == 0
    assert b.rpc('model.party.party.search_count',
        [('dci_registry', '=', registry)]) == 0


def test_read_paths_of_other_users(pulled):
    "Registrars of another area and users without the group read nothing"
    b, pull = pulled['b'], pulled['pull']
    group_of = {}
    for name in ['Registrar', 'Registry Viewer']:
        group_of[name], = b.rpc('model.res.group.search',
            [('name', '=', name)], 0, 1, None)
    b.rpc('model.res.user.create', [
            {'name': "Registrar South", 'login': 'reg_south',
                'password': PASSWORD,
                'groups': [('add', [group_of['Registrar']])],
                'spp_areas': [('add', [b.areas['TL-S']])]},
            {'name': "Viewer North", 'login': 'view_north',
                'password': PASSWORD,
                'groups': [('add', [group_of['Registry Viewer']])],
                'spp_areas': [('add', [b.areas['TL-N']])]},
            {'name': "Nobody", 'login': 'nobody', 'password': PASSWORD,
                'spp_areas': [('add', [b.areas['TL-N']])]}])
    server = b.server

    def as_user(login):
        session = server.login(login, PASSWORD)

        def call(method, *args):
            return server.call(f'model.{method}', [*args, {}],
                session=session, login=login)
        return call
    viewer = as_user('view_north')
    assert viewer('spp.dci.pull.search', []) == [pull]
    assert viewer('spp.dci.pull.search_count', []) == 1
    assert viewer('spp.dci.pull.export_data', [pull], ['lines/reason'])
    with pytest.raises(ServerError):
        viewer('spp.dci.pull.pull', [pull])
    south = as_user('reg_south')
    assert south('spp.dci.pull.search', []) == []
    assert south('spp.dci.pull.search_count', []) == 0
    assert south('spp.dci.pull.line.search', []) == []
    for method, args in [('spp.dci.pull.read', ([pull], ['created'])),
            ('spp.dci.pull.export_data', ([pull], ['lines/reason']))]:
        with pytest.raises(ServerError):
            south(method, *args)
    nobody = as_user('nobody')
    for method, args in [('spp.dci.pull.search', ([],)),
            ('spp.dci.pull.search_count', ([],)),
            ('spp.dci.pull.read', ([pull], ['created'])),
            ('spp.dci.pull.line.search', ([],)),
            ('spp.dci.pull.export_data', ([pull], ['lines/reason']))]:
        with pytest.raises(ServerError):
            nobody(method, *args)
