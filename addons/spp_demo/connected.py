"""The demo's connected registries: a national social registry, a civil
registry (CRVS) and an integrated beneficiary registry, as an
administrator sets them up (example addresses: nothing answers there, so
a pull or a subscription in the demo reports the registry unreachable),
the CRVS subscriptions to deaths and births of the demo country, active,
and two notified events that wait for a caseworker of the first region:
the death of a person we do not hold and a birth whose parents we do not
hold."""
import datetime as dt

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from trytond.pool import Pool

from .users import COUNTRY, REGION

MAPPINGS = [
    ('identifier_type', 'UIN', 'national_id'),
    ('identifier_type', 'NIN', 'national_id'),
    ('identifier_type', 'BRN', 'birth_certificate'),
    ('identifier_type', 'MOBILE', 'phone'),
    ('marital_status', 'S', 'single'),
    ('marital_status', 'M', 'married'),
    ('marital_status', 'W', 'widowed'),
    ('marital_status', 'D', 'divorced'),
    ('event_type', 'death', 'death'),
    ('event_type', 'live_birth', 'live_birth'),
    ]
REGISTRIES = [
    ('nsr', "National Social Registry", 'social_registry',
        'https://socialregistry.example.gov/api/v1'),
    ('crvs', "Civil Registry (CRVS)", 'crvs',
        'https://crvs.example.gov/api/v1'),
    ('ibr', "Integrated Beneficiary Registry", 'ibr',
        'https://ibr.example.gov/api/v1'),
    ]


def example_public_key():
    "A public key for the demo registries (its private half is dropped)."
    key = ed25519.Ed25519PrivateKey.generate()
    return key.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_connected_registries():
    pool = Pool()
    Registry = pool.get('spp.dci.registry')
    Subscription = pool.get('spp.dci.client.subscription')
    Area = pool.get('spp.area')
    country, = Area.search([('code', '=', COUNTRY)], limit=1)
    registries = Registry.create([{
                'code': code, 'name': name, 'kind': kind, 'base_url': url,
                'auth_method': 'oauth2', 'client_id': 'spmis-demo',
                'sender_id': 'spmis.demo', 'receiver_id': f'{code}.example',
                'public_key': example_public_key(),
                'signature_required': True,
                'callback_base': 'https://spmis.example.gov/demo',
                'areas': [('add', [country.id])],
                'mappings': [('create', [{'category': c,
                                'external_code': e, 'internal_code': i}
                            for c, e, i in MAPPINGS])],
                } for code, name, kind, url in REGISTRIES])
    crvs = {r.kind: r for r in registries}['crvs']
    deaths, births = Subscription.create([
            {'registry': crvs.id, 'event_type': 'death'},
            {'registry': crvs.id, 'event_type': 'live_birth'}])
    # Confirmed by the CRVS (as its on-subscribe callback would).
    Subscription.write([deaths], {'state': 'active', 'code': 'DEMO-DEATHS'})
    Subscription.write([births], {'state': 'active', 'code': 'DEMO-BIRTHS'})
    today = pool.get('ir.date').today()
    address = [{'region_code': REGION, 'country_code': COUNTRY}]
    Subscription.receive_notification(deaths, None, [{
                '@type': 'CRVS_Person',
                'identifier': [{'identifier_type': 'UIN',
                        'identifier_value': '9990000017'}],
                'name': {'surname': "Reyes", 'given_name': "Lorna"},
                'sex': 'female', 'birth_date': '1941-05-02',
                'death_date': (today - dt.timedelta(days=3)).isoformat(),
                'address': address}])
    Subscription.receive_notification(births, None, [{
                '@type': 'CRVS_Person',
                'identifier': [{'identifier_type': 'BRN',
                        'identifier_value': 'BC-DEMO-0001'}],
                'name': {'surname': "Bautista", 'given_name': "Mika"},
                'sex': 'female',
                'birth_date': (today - dt.timedelta(days=9)).isoformat(),
                'parent1_identifier': {'identifier_type': 'UIN',
                    'identifier_value': '9990000025'},
                'address': address}])
