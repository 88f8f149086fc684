"""Helpers of the consent tests: areas, a household in each district,
users of the registry groups, and consents."""
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool

# Every unit test of spp_consent runs on one set of addons (one set-up,
# then restored from the database cache): what its optional parts need.
MODULES = ['spp_consent', 'spp_programs', 'spp_entitlement', 'spp_payment',
    'spp_grievance', 'spp_custom_field', 'spp_change_request', 'spp_audit']


def create_user(login, groups, areas=()):
    "A user of (module, group xml id) pairs, limited to `areas`."
    User = Pool().get('res.user')
    user, = User.create([{
                'name': login.title(), 'login': login,
                'groups': [('add', [get_ref(m, g) for m, g in groups])],
                'spp_areas': [('add', [a.id for a in areas])],
                }])
    User._get_groups_cache.clear()
    return user


REGISTRAR = ('spp_registry', 'group_registrar')
VIEWER = ('spp_registry', 'group_registry_viewer')
DPO = ('spp_consent', 'group_dpo')


def setup_registry():
    """District A and B; the Santos household in A, the Lima one in B;
    a registrar of A, a registrar of B, a viewer of A, a data protection
    officer and a user without a registry group."""
    areas = create_areas()
    santos, (ana,) = create_household("Santos", [
            {'family_name': "Santos", 'given_name': "Ana",
                'birth_date': years_ago(35), 'roles': ['head']}],
        area=areas['TL-N-A'])
    lima, (eva,) = create_household("Lima", [
            {'family_name': "Lima", 'given_name': "Eva",
                'birth_date': years_ago(50), 'roles': ['head']}],
        area=areas['TL-N-B'])
    return {
        'areas': areas,
        'santos': santos, 'ana': ana, 'lima': lima, 'eva': eva,
        'registrar_a': create_user('registrar_a', [REGISTRAR],
            [areas['TL-N-A']]),
        'registrar_b': create_user('registrar_b', [REGISTRAR],
            [areas['TL-N-B']]),
        'viewer_a': create_user('viewer_a', [VIEWER], [areas['TL-N-A']]),
        'dpo': create_user('dpo', [DPO]),
        'nobody': create_user('nobody', []),
        }


def ref(model, xml_id):
    return Pool().get(model)(get_ref('spp_consent', xml_id))


def consent_values(registrant, purpose='purpose_referral', **values):
    "Values of a requested consent to share identity with health insurers."
    return {
        'registrant': registrant.id,
        'purpose': get_ref('spp_consent', purpose),
        'data_categories': [('add', [
                    get_ref('spp_consent', 'data_category_identifying')])],
        'recipient_types': [('add', [
                    get_ref('spp_consent', 'recipient_type_health_insurer')])],
        'collection_method': 'signed_form',
        **values,
        }


__all__ = ['MODULES', 'create_user', 'setup_registry', 'consent_values', 'ref',
    'get_ref', 'years_ago', 'create_household']
