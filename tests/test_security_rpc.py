"""The probes of issue 18 over JSON-RPC, as a registrar of another area
sends them to a live trytond (D1, D2, D3, D5, D13)."""
import pytest

from .server import ServerError, running_server, shared_lock, template_key

PASSWORD = 'spp-test-Registrar-2024'


@pytest.fixture(scope='module')
def server(template_database):
    "One server with every addon for the module's probes."
    with shared_lock(template_key()):
        database = template_database.copy('security')
    with running_server(database) as server:
        yield server
    database.drop()


@pytest.fixture(scope='module')
def registry(server):
    """Areas A and B, a person in each, a household in A, and reg_a
    (Registrar of area A) logged in: (server, reg_a session, ids)."""
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)
    country, = call('spp.area.create', [{'name': "Testland", 'code': 'TL'}])
    area_a, area_b = call('spp.area.create', [
            {'name': "District A", 'code': 'TL-A', 'parent': country},
            {'name': "District B", 'code': 'TL-B', 'parent': country}])
    own, other = call('party.party.create', [
            {'registrant_type': 'individual', 'name': "Own, Person",
                'area': area_a},
            {'registrant_type': 'individual',
                'name': "Fletcher, Danielle Fox", 'area': area_b,
                'identifiers': [('create', [{'type': 'national_id',
                                'code': '4659694105'}])],
                'contact_mechanisms': [('create', [{'type': 'phone',
                                'value': '+63 917 555 0101'}])]}])
    household, = call('party.party.create', [
            {'registrant_type': 'group', 'name': "Own household",
                'area': area_a}])
    registrar, = call('res.group.search',
        [('name', '=', 'Registrar')], 0, 1, None)
    reg_a, = call('res.user.create', [{
                'name': "Registrar A", 'login': 'reg_a',
                'password': PASSWORD,
                'groups': [('add', [registrar])],
                'spp_areas': [('add', [area_a])]}])
    session = server.login('reg_a', PASSWORD)
    return server, session, {'own': own, 'other': other,
        'household': household, 'area_b': area_b}


def as_registrar(registry, method, *args):
    server, session, _ = registry
    return server.call(f'model.{method}', [*args, {}], session=session,
        login='reg_a')


def refusal(registry, method, *args):
    with pytest.raises(ServerError) as info:
        as_registrar(registry, method, *args)
    return str(info.value)


def test_export_refused_as_read(registry):
    "Export of another area's person is refused like a read (D1)"
    ids = registry[2]
    names = ['name', 'birth_date', 'identifiers/code',
        'contact_mechanisms/value']
    answer = refusal(registry, 'party.party.export_data',
        [ids['other']], names)
    assert '4659694105' not in answer and 'Fletcher' not in answer
    assert as_registrar(registry, 'party.party.export_data',
        [ids['own']], ['name']) == [["Own, Person"]]


def test_hidden_answered_as_missing(registry):
    "A hidden person and a missing one get the same answer (D13)"
    ids = registry[2]
    missing = ids['other'] + 100000
    hidden = refusal(registry, 'party.party.read', [ids['other']], ['name'])
    absent = refusal(registry, 'party.party.read', [missing], ['name'])
    assert hidden.replace(f'"{ids["other"]}"', '"N"') == absent.replace(
        f'"{missing}"', '"N"')
    assert "areas" not in hidden


def test_matching_count_not_for_registrars(registry):
    "Matching Now is no count oracle for a registrar (D2)"
    values = {'eligibility_method': 'rule', 'target_type': 'individual',
        'eligibility_rule': 'area in "TL-B"'}
    try:
        answer = as_registrar(registry, 'spp.program.on_change_with',
            values, ['eligible_count'])
    except ServerError as error:
        assert 'eligible_count' not in str(error)
    else:
        assert answer.get('eligible_count') is None, answer


def test_password_hash_not_searchable(registry):
    "No domain on password hashes, plain, dotted or through where (D3)"
    for model, domain in [
            ('res.user', [('login', '=', 'admin'),
                    ('password_hash', 'like', '$argon2id$v=19$m=%')]),
            ('party.party', [('create_uid.password_hash', 'like', '$%')]),
            ('party.party', [('create_uid', 'where',
                        [('password_hash', 'like', '$%')])]),
            ]:
        answer = refusal(registry, f'{model}.search_count', domain)
        assert 'not allowed' in answer, answer


def test_no_membership_with_another_areas_person(registry):
    "A person of another area cannot be put into an own household (D5)"
    ids = registry[2]
    refusal(registry, 'spp.group.membership.create',
        [{'group': ids['household'], 'individual': ids['other']}])
    membership, = as_registrar(registry, 'spp.group.membership.create',
        [{'group': ids['household'], 'individual': ids['own']}])
    assert membership > 0
