"""Helpers of the grievance tests: areas, registrants, categories with
deadlines, teams of two levels, and users of each group."""
import contextlib

from trytond.modules.spp_registry.tests.tools import (
    create_areas, create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.transaction import Transaction

GROUPS = {
    'officer': 'group_officer',
    'manager': 'group_manager',
    'sensitive': 'group_sensitive',
    'admin': 'group_admin',
    }


def create_user(login, groups, areas=()):
    "A user of grievance groups (short names) limited to `areas`."
    User = Pool().get('res.user')
    user, = User.create([{
                'name': login.title(), 'login': login,
                'groups': [('add', [get_ref('spp_grievance', GROUPS[g])
                            for g in groups])],
                'spp_areas': [('add', [a.id for a in areas])],
                }])
    User._get_groups_cache.clear()
    return user


def setup_grievances():
    """District A and B under a region; a household in each; users: an
    officer of A, an officer of B, a regional manager, a sensitive cases
    officer; teams: A's local team (managed by the manager) escalating to
    the regional team; categories: payment (2 working days to acknowledge,
    10 to resolve) with a subcategory 'missed', exclusion (48 hours / 72
    hours) and misconduct (sensitive)."""
    pool = Pool()
    Category = pool.get('spp.grievance.category')
    Team = pool.get('spp.grievance.team')
    areas = create_areas()
    female = get_ref('spp_registry', 'gender_female')
    household, (ana,) = create_household("Santos", [
            {'family_name': "Santos", 'given_name': "Ana",
                'birth_date': years_ago(35), 'gender': female,
                'roles': ['head']}], area=areas['TL-N-A'])
    other, (eva,) = create_household("Lima", [
            {'family_name': "Lima", 'given_name': "Eva",
                'birth_date': years_ago(50), 'gender': female,
                'roles': ['head']}], area=areas['TL-N-B'])
    users = {
        'officer_a': create_user('officer_a', ['officer'],
            [areas['TL-N-A']]),
        'officer_b': create_user('officer_b', ['officer'],
            [areas['TL-N-B']]),
        'manager': create_user('manager', ['manager']),
        'sensitive': create_user('sensitive', ['sensitive']),
        }
    regional, = Team.create([{'name': "Regional", 'code': 'REG',
                'level': '2', 'manager': users['manager'].id}])
    local_a, = Team.create([{'name': "District A", 'code': 'DA',
                'level': '1', 'manager': users['manager'].id,
                'members': [('add', [users['officer_a'].id])],
                'areas': [('add', [areas['TL-N-A'].id])],
                'escalation_team': regional.id}])
    integrity, = Team.create([{'name': "Integrity", 'code': 'INT',
                'level': '3', 'members': [('add', [users['sensitive'].id])]}])
    payment, exclusion, misconduct = Category.create([
            {'name': "Payment", 'code': 'payment', 'severity': 'medium',
                'ack_amount': 2, 'ack_unit': 'working_days',
                'resolution_amount': 10, 'resolution_unit': 'working_days',
                'team': regional.id},
            {'name': "Exclusion", 'code': 'exclusion', 'severity': 'high',
                'ack_amount': 48, 'ack_unit': 'hours',
                'resolution_amount': 72, 'resolution_unit': 'hours',
                'team': regional.id},
            {'name': "Staff Misconduct", 'code': 'misconduct',
                'severity': 'critical', 'sensitive': True,
                'ack_amount': 24, 'ack_unit': 'hours',
                'resolution_amount': 30, 'resolution_unit': 'working_days',
                'team': integrity.id},
            ])
    missed, = Category.create([{'name': "Missed Payment", 'code': 'missed',
                'parent': payment.id, 'severity': 'high'}])
    # District A's team handles payments and exclusions; misconduct goes
    # to the integrity team wherever it happens.
    Team.write([local_a], {'categories': [('add', [payment.id,
                        exclusion.id])]})
    Team.write([integrity], {'categories': [('add', [misconduct.id])]})
    return {'areas': areas, 'household': household, 'ana': ana,
        'other': other, 'eva': eva, 'users': users,
        'teams': {'regional': regional, 'local_a': local_a,
            'integrity': integrity},
        'categories': {'payment': payment, 'exclusion': exclusion,
            'misconduct': misconduct, 'missed': missed}}


def channel(code='walk_in'):
    Channel = Pool().get('spp.grievance.channel')
    found, = Channel.search([('code', '=', code)])
    return found


def file_grievance(category, area, user=None, **values):
    "A new grievance, filed as `user` (with access checks) or as root."
    Grievance = Pool().get('spp.grievance')
    values.setdefault('description', "The payment of May did not come.")
    values.setdefault('channel', channel().id)
    if 'complainant' not in values and 'complainant_kind' not in values:
        values['complainant_kind'] = 'anonymous'
    with as_user(user):
        grievance, = Grievance.create([{
                    'category': category.id, 'area': area.id, **values}])
    return Grievance(grievance.id)


@contextlib.contextmanager
def as_user(user):
    "Act as `user` with access checks, as through JSON-RPC (None: root)."
    if user is None:
        yield None
        return
    transaction = Transaction()
    with transaction.set_user(user.id), \
            transaction.set_context(_check_access=True):
        yield user


__all__ = ['create_user', 'setup_grievances', 'channel', 'file_grievance',
    'as_user', 'get_ref', 'create_household', 'years_ago']
