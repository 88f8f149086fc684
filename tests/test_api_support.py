"""Shared set-up of the API tests (no tests here): a live trytond serving a
copy of the all-addons database, with areas, API clients and their keys.

    def test_x(api):
        response = api.get('/individuals', key='full')
"""
import datetime as dt
import urllib.parse

import pytest
import requests
from stdnum import luhn

from .server import TestDatabase, running_server

ALL_SCOPES = [
    'area:read', 'change_request:create', 'change_request:read',
    'cycle:read', 'entitlement:read', 'group:create',
    'grievance:create', 'grievance:read',
    'group:read', 'group:update', 'identifier:read', 'individual:create', 'individual:read',
    'individual:update', 'membership:read', 'payment:read', 'payment:write',
    'program:read', 'program_membership:create', 'program_membership:read',
    'registry:search']


def national_id(seed):
    "A valid national ID (10 digits, Luhn check digit)."
    body = f'{seed:09d}'[-9:]
    return body + luhn.calc_check_digit(body)


class Api:
    "A live server with the API's test clients."

    def __init__(self, server, admin_session):
        self.server = server
        self.session = requests.Session()
        self.admin_session = admin_session
        self.keys = {}
        self.areas = {}
        self.clients = {}
        self.base = (f'{server.url.rstrip("/")}/'
            f'{server.database.name}/api/v1')

    def rpc(self, method, *params):
        return self.server.call(method, [*params, {}],
            session=self.admin_session)

    def url(self, path):
        return self.base + path

    def request(self, method, path, key='full', headers=None, **kwargs):
        headers = dict(headers or {})
        if key:
            headers['Authorization'] = f'Bearer {self.keys.get(key, key)}'
        return self.session.request(method, self.url(path), headers=headers,
            timeout=60, **kwargs)

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, **kwargs):
        return self.request('POST', path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request('PATCH', path, **kwargs)

    # -- set-up helpers --------------------------------------------------
    def make_areas(self):
        "TL > TL-N > (TL-N-A, TL-N-B); TL > TL-S."
        create = 'model.spp.area.create'
        country, = self.rpc(create, [{'name': "Testland", 'code': 'TL'}])
        north, south = self.rpc(create, [
                {'name': "North", 'code': 'TL-N', 'parent': country},
                {'name': "South", 'code': 'TL-S', 'parent': country}])
        a, b = self.rpc(create, [
                {'name': "District A", 'code': 'TL-N-A', 'parent': north},
                {'name': "District B", 'code': 'TL-N-B', 'parent': north}])
        self.areas = {'TL': country, 'TL-N': north, 'TL-S': south,
            'TL-N-A': a, 'TL-N-B': b}

    def make_client(self, name, scopes=ALL_SCOPES, areas=(), **values):
        client, = self.rpc('model.spp.api.client.create', [{
                    'name': name, 'scopes': list(scopes),
                    'areas': [['add', [self.areas[a] for a in areas]]],
                    **self.sharing_defaults(), **values}])
        key, = self.rpc('model.spp.api.client.issue_key', [client])
        self.keys[name] = key
        self.clients[name] = client
        return client


    def sharing_defaults(self):
        """With spp_consent, which binds every client to an organisation
        and a purpose: a test organisation on a public task, so that the
        tests of other features see every registrant (the sharing itself
        is tests/test_api_consent.py's)."""
        if not hasattr(self, '_sharing'):
            self._sharing = {}
            if self.rpc('model.ir.module.search', [
                        ('name', '=', 'spp_consent'),
                        ('state', '=', 'activated')]):
                type_, = self.rpc('model.spp.consent.recipient_type.search',
                    [('code', '=', 'MINISTRY')])
                purpose, = self.rpc('model.spp.consent.purpose.search',
                    [('code', '=', 'SERVICE')])
                organisation, = self.rpc(
                    'model.spp.consent.recipient.create', [{
                            'code': 'TEST-ORG', 'name': "Test Ministry",
                            'type': type_}])
                self._sharing = {'organisation': organisation,
                    'purpose': purpose, 'lawful_basis': 'public_task',
                    'lawful_basis_reason': "Tests of other features"}
        return self._sharing


def household_body(name, seed, area='TL-N-A', size=3):
    "A valid household creation body with `size` members."
    members = [{
            'individual': {
                'family_name': name,
                'given_name': f"Member {i}",
                'birth_date': f'{1960 + 10 * i}-03-0{i + 1}',
                'gender': 'female' if i % 2 else 'male',
                'identifiers': [
                    {'type': 'national_id', 'value': national_id(seed + i)}],
                },
            'roles': ['head'] if i == 0 else ['child'],
            } for i in range(size)]
    return {'name': f"{name} household", 'area': area, 'members': members}


def start_api(workdir, tag, uri, modules=('spp_api',), seed=None):
    """A live server on a new database with `modules`; by default spp_api
    and what it depends on only: the API must work on a registry-only
    deployment. `seed(database)` runs before the server starts."""
    database = TestDatabase.create(workdir, tag, modules=list(modules),
        uri=uri)
    if seed:
        seed(database)
    context = running_server(database)
    server = context.__enter__()
    api = Api(server, server.login())
    api.make_areas()
    api.make_client('full')
    api.make_client('reader', scopes=['individual:read'])
    api.make_client('north_a', areas=['TL-N-A'])
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    api.make_client('expired', expires={'__class__': 'datetime',
            'year': past.year, 'month': past.month, 'day': past.day,
            'hour': past.hour, 'minute': past.minute, 'second': 0,
            'microsecond': 0})
    revoked = api.make_client('revoked')
    api.rpc('model.spp.api.client.revoke', [revoked])
    api.make_client('limited', rate_limit=3)

    def stop():
        context.__exit__(None, None, None)
        database.drop()
    return api, stop


@pytest.fixture(scope='module')
def api(backend_uri, tmp_path_factory):
    api, stop = start_api(tmp_path_factory.mktemp('spp-api'), 'api',
        backend_uri)
    yield api
    stop()


def quote(handle):
    return urllib.parse.quote(handle, safe='')
