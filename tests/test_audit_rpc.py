"""The audit trail on a live trytond (issue 20): what a caseworker reads and
changes over JSON-RPC is found by an auditor, nobody rewrites the log, the
file copy holds ids only, and the chain verifies from the command line."""
import json

import pytest

from .server import ServerError, running_server, shared_lock, template_key

PASSWORD = 'spp-test-Audit-2024'
ID_NUMBER = '4659694105'
NAME = "Fletcher, Danielle Fox"


@pytest.fixture(scope='module')
def server(template_database, tmp_path_factory):
    "One server with every addon, its audit copy in a file."
    with shared_lock(template_key()):
        database = template_database.copy('audit')
    audit_dir = tmp_path_factory.mktemp('audit')
    with running_server(database, extra_config=(
                f'[spp_audit]\nfile = {audit_dir / "audit.jsonl"}\n')
            ) as server:
        server.audit_files = lambda: sorted(audit_dir.glob('audit-*.jsonl'))
        yield server
    database.drop()


@pytest.fixture(scope='module')
def people(server):
    "A registrar of area A, an auditor, and a person of area A."
    admin = server.login()

    def call(method, *args):
        return server.call(f'model.{method}', [*args, {}], session=admin)
    area, = call('spp.area.create', [{'name': "District A", 'code': 'AU-A'}])
    person, = call('party.party.create', [
            {'registrant_type': 'individual', 'name': NAME, 'area': area,
                'identifiers': [('create', [{'type': 'national_id',
                                'code': ID_NUMBER}])]}])
    groups = {name: call('res.group.search', [('name', '=', name)],
            0, 1, None)[0] for name in ['Registrar', 'Auditor']}
    call('res.user.create', [{
                'name': "Registrar A", 'login': 'audit_reg',
                'password': PASSWORD,
                'groups': [('add', [groups['Registrar']])],
                'spp_areas': [('add', [area])]}, {
                'name': "Auditor", 'login': 'audit_auditor',
                'password': PASSWORD,
                'groups': [('add', [groups['Auditor']])]}])
    return {
        'person': person,
        'registrar': server.login('audit_reg', PASSWORD),
        'auditor': server.login('audit_auditor', PASSWORD),
        }


def as_user(server, people, login, method, *args):
    session = people['registrar' if login == 'audit_reg' else 'auditor']
    return server.call(f'model.{method}', [*args, {}], session=session,
        login=login)


def audit_entries(server, people, domain, fields=None):
    return as_user(server, people, 'audit_auditor', 'spp.audit.log.search_read',
        domain, 0, None, [('position', 'ASC')], fields or [
            'position', 'user', 'channel', 'action', 'model', 'record_id',
            'records', 'count', 'query', 'details', 'changes'])


def test_form_read_is_found_by_the_auditor(server, people):
    "A registrar opening a person's form is an access entry, with the fields"
    person = people['person']
    as_user(server, people, 'audit_reg', 'party.party.read', [person],
        ['name', 'birth_date'])
    found = audit_entries(server, people, [('action', '=', 'access'),
            ('model', '=', 'party.party'), ('record', '=', person)])
    read = [e for e in found if e['details'] and 'birth_date' in e['details']]
    assert read, found
    assert read[-1]['channel'] == 'rpc'
    assert json.loads(read[-1]['details'])['fields'] == ['birth_date', 'name']


def test_search_is_one_entry_with_count_and_query(server, people):
    "A search is one entry: the query and how many, not one per person"
    as_user(server, people, 'audit_reg', 'party.party.search',
        [('registrant_type', '=', 'individual')], 0, None, None)
    found = audit_entries(server, people, [('action', '=', 'access'),
            ('model', '=', 'party.party'), ('query', 'like', '%individual%')])
    assert found
    assert found[-1]['count'] == 1
    assert found[-1]['records'] is None


def test_export_is_recorded_as_export(server, people):
    person = people['person']
    as_user(server, people, 'audit_reg', 'party.party.export_data',
        [person], ['name'], False)
    found = audit_entries(server, people, [('channel', '=', 'export'),
            ('record', '=', person)])
    assert found and found[-1]['action'] == 'access'


def test_write_keeps_old_and_new_value(server, people):
    person = people['person']
    as_user(server, people, 'audit_reg', 'party.party.write', [person],
        {'given_name': "Dani"})
    entry, = audit_entries(server, people, [('action', '=', 'write'),
            ('model', '=', 'party.party'), ('record', '=', person)])
    assert json.loads(entry['changes'])['given_name'] == [None, "Dani"]


@pytest.mark.parametrize('method, args', [
        ('spp.audit.log.write', lambda ids: [ids, {'action': 'x'}]),
        ('spp.audit.log.delete', lambda ids: [ids]),
        ('spp.audit.log.create', lambda ids: [[{'action': 'x'}]]),
        ])
def test_entries_cannot_be_rewritten_over_rpc(server, people, method, args):
    "Not even the administrator writes or deletes an entry"
    admin = server.login()
    ids = server.call('model.spp.audit.log.search', [[], 0, 1, None, {}],
        session=admin)
    assert ids
    with pytest.raises(ServerError):
        server.call(f'model.{method}', [*args(ids), {}], session=admin)


def test_registrar_cannot_read_the_log(server, people):
    with pytest.raises(ServerError):
        as_user(server, people, 'audit_reg', 'spp.audit.log.search',
            [], 0, None, None)


def test_file_copy_holds_ids_only(server, people):
    "The file copy names the records by id: no names, no ID numbers"
    as_user(server, people, 'audit_reg', 'party.party.read',
        [people['person']], ['name'])
    files = server.audit_files()
    assert files, "one file per day"
    text = ''.join(f.read_text() for f in files)
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(e['action'] == 'access' and people['person'] in e['records']
        for e in lines)
    assert NAME.split(',')[0] not in text and "Danielle" not in text
    assert ID_NUMBER not in text


def test_chain_verifies_from_the_command_line(server, people):
    output = server.database.sppdb(
        'audit-verify', server.database.name, '--file',
        *map(str, server.audit_files()))
    assert 'the audit chain holds' in output, output


def tamper(database, statement):
    "Run `statement` on the database behind the application's back."
    if database.uri.startswith('postgresql'):
        import psycopg
        with psycopg.connect(database.conninfo, autocommit=True) as conn:
            # As a superuser could: with the triggers off.
            conn.execute("SET session_replication_role = replica")
            conn.execute(statement)
    else:
        import sqlite3
        conn = sqlite3.connect(database.path / f'{database.name}.sqlite')
        with conn:
            conn.execute(statement)
        conn.close()


def test_tampering_is_found_with_its_position(server, people):
    "Changed behind the application's back, the chain names the entry (last)"
    database = server.database
    tamper(database, "UPDATE spp_audit_log SET changes = "
        "'{\"given_name\":[null,\"Eve\"]}' WHERE position = 3")
    with pytest.raises(ServerError) as broken:
        database.sppdb('audit-verify', database.name)
    assert 'broken at entry 3' in str(broken.value), broken.value
    assert 'the 2 entries before it hold' in str(broken.value)
