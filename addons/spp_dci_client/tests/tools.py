"""Helpers of the DCI client tests: an external registry record pointing
at a fake registry."""
from trytond import config
from trytond.pool import Pool

from .fake_registry import FakeRegistry

# The addons most of the client's tests run with (one database set-up,
# restored from trytond's DB cache for each test module): the addon with
# everything it acts on.
MODULES = ['spp_dci_client', 'spp_programs', 'spp_entitlement',
    'spp_change_request', 'spp_audit']


def no_retry_pause():
    if not config.has_section('spp_dci_client'):
        config.add_section('spp_dci_client')
    config.set('spp_dci_client', 'retry_pause', '0')


def registry_values(fake, kind='crvs', code='crvs', **values):
    "The values of an external registry of `kind` served by `fake`."
    return {'name': f"Test {kind}", 'code': code, 'kind': kind,
        'base_url': fake.url, 'auth_method': 'oauth2',
        'client_id': fake.client_id, 'client_secret': fake.client_secret,
        'sender_id': 'spmis.test', 'receiver_id': fake.sender_id,
        'public_key': fake.public_pem, 'timeout': 5, **values}


def create_registry(fake, kind='crvs', code='crvs', **values):
    "An active external registry of `kind` served by `fake`."
    Registry = Pool().get('spp.dci.registry')
    no_retry_pause()
    registry, = Registry.create([registry_values(fake, kind, code,
                **{'signature_required': True, 'attempts': 3, **values})])
    return registry


def fake_registry():
    return FakeRegistry()
