"Helpers of the change request tests: users of each group, requests."
from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.transaction import Transaction

GROUPS = {
    'user': 'group_user',
    'local': 'group_local_validator',
    'hq': 'group_hq_validator',
    'admin': 'group_admin',
    }


def create_user(login, groups, areas=(), registry_groups=('group_registrar',)):
    "A user of change request groups (short names) and registry groups."
    User = Pool().get('res.user')
    group_ids = [get_ref('spp_change_request', GROUPS[g]) for g in groups]
    group_ids += [get_ref('spp_registry', g) for g in registry_groups]
    user, = User.create([{
                'name': login.title(), 'login': login,
                'groups': [('add', group_ids)],
                'spp_areas': [('add', [a.id for a in areas])],
                }])
    return user


def setup_people():
    """Areas, a household in district A and one in district B, and the
    users: a requester and a local validator of A, a local validator of
    B, an HQ validator and an administrator."""
    areas = create_areas()
    female = get_ref('spp_registry', 'gender_female')
    male = get_ref('spp_registry', 'gender_male')
    household, (ana, juan) = create_household("Santos", [
            {'family_name': "Santos", 'given_name': "Ana",
                'birth_date': years_ago(35), 'gender': female,
                'roles': ['head']},
            {'family_name': "Santos", 'given_name': "Juan",
                'birth_date': years_ago(10), 'gender': male},
            ], area=areas['TL-N-A'])
    other, (eva,) = create_household("Lima", [
            {'family_name': "Lima", 'given_name': "Eva",
                'birth_date': years_ago(50), 'gender': female,
                'roles': ['head']},
            ], area=areas['TL-N-B'])
    users = {
        'requester': create_user('requester', ['user'],
            [areas['TL-N-A']]),
        'validator_a': create_user('validator_a', ['local'],
            [areas['TL-N-A']]),
        'validator_b': create_user('validator_b', ['local'],
            [areas['TL-N-B']]),
        'hq': create_user('hq', ['hq'], registry_groups=[
                'group_registry_validator']),
        'admin': create_user('cradmin', ['admin'], registry_groups=[]),
        }
    return {'areas': areas, 'household': household, 'ana': ana,
        'juan': juan, 'other': other, 'eva': eva, 'users': users}


def kind(code):
    return Pool().get('spp.change_request.kind')(
        get_ref('spp_change_request', f'kind_{code}'))


def new_request(code, registrant=None, user=None, **values):
    "A draft request of kind `code`, created as `user`."
    ChangeRequest = Pool().get('spp.change_request')
    with Transaction().set_user(user.id if user else 0), \
            Transaction().set_context(_check_access=bool(user)):
        request, = ChangeRequest.create([{
                    'kind': kind(code).id,
                    'registrant': registrant.id if registrant else None,
                    'reason': "Tested", **values}])
    return ChangeRequest(request.id)


def as_user(user):
    "Act as `user` with access checks, as through JSON-RPC."
    return _AsUser(user)


class _AsUser:
    def __init__(self, user):
        self.user = user

    def __enter__(self):
        transaction = Transaction()
        self._user = transaction.set_user(self.user.id)
        self._context = transaction.set_context(_check_access=True)
        self._user.__enter__()
        self._context.__enter__()
        return self.user

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
        self._user.__exit__(*exc)


def attach(request, document_code):
    "Attach a document of a type to a request."
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    DocumentType = pool.get('spp.change_request.document.type')
    document_type, = DocumentType.search([('code', '=', document_code)])
    Attachment.create([{'resource': str(request), 'name': f'{document_code}.pdf',
                'type': 'data', 'data': b'%PDF-1.4 test',
                'document_type': document_type.id}])


__all__ = ['as_user', 'attach', 'create_user', 'get_ref', 'kind',
    'new_request', 'setup_people', 'years_ago']
