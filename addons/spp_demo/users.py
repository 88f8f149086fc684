"""Demo users: one per role, so that every step of the demo scenario (and
of a visitor's tour) is done by the user whose job it is, and the
four-eyes rules hold (the approver never submitted what they approve).

Passwords are never in the repository: tools/demo.py generates them and
keeps them in var/demo_users (mode 0600); `ensure_users()` creates the
users that are missing and sets the passwords it is given."""
import secrets

from trytond.pool import Pool

# (login, name, groups as module.xml_id, area limit): 'district' limits the
# user to the first district of the demo country's first region, 'region'
# to that region, 'country' to the whole country;
# None leaves the user without registry areas (the roles with no area rule).
DEMO_USERS = [
    # Registers people, so sees their ID numbers and birth dates.
    ('registrar', "Registrar (one region)", ['spp_registry.group_registrar',
            'spp_change_request.group_user', 'spp_consent.group_sensitive'],
        'region'),
    # Decides the registrar's change requests (never their own).
    ('checker', "Local Validator (one region)",
        ['spp_change_request.group_local_validator',
            'spp_registry.group_registry_viewer'], 'region'),
    # Receives complaints at the region's desk; their team's manager gets
    # the tickets the SLA pass escalates.
    ('grievance', "Grievance Officer (one region)",
        ['spp_grievance.group_officer', 'spp_registry.group_registry_viewer'],
        'region'),
    ('grm', "Grievance Manager",
        ['spp_grievance.group_manager', 'spp_registry.group_registry_viewer'],
        'country'),
    ('validator', "Registry Validator",
        ['spp_registry.group_registry_validator',
            'spp_consent.group_sensitive'], None),
    # Purposes, recipients, retention, sensitive fields, personal data
    # reports: the registry of the whole country, unmasked.
    ('dpo', "Data Protection Officer",
        ['spp_consent.group_dpo', 'spp_consent.group_sensitive',
            'spp_registry.group_registry_viewer'], 'country'),
    # Runs the programs and reads the dashboards of every area.
    ('manager', "Program Manager", ['spp_programs.group_program_manager',
            'spp_reporting.group_reporting_manager'], None),
    ('approver', "Cycle Approver", ['spp_programs.group_cycle_approver'],
        None),
    ('finance', "Finance Validator",
        ['spp_entitlement.group_finance_validator'], None),
    ('payments', "Payment Officer", ['spp_payment.group_payment_officer'],
        None),
    ('viewer', "Registry Viewer (read only)",
        ['spp_registry.group_registry_viewer'], 'country'),
    # The audit log, and the registry of the whole country to open a
    # registrant's audit entries from its form.
    ('auditor', "Auditor",
        ['spp_audit.group_auditor', 'spp_registry.group_registry_viewer'],
        'country'),
    # Monitoring and evaluation in one district: its dashboards and
    # reports, and the registry behind their figures.
    ('monitoring', "M&E Officer (one district)",
        ['spp_reporting.group_reporting_officer',
            'spp_registry.group_registry_viewer'], 'district'),
    ]
DEMO_LOGINS = [login for login, *_ in DEMO_USERS]
# The demo country's code (population.plan_areas) and its first region.
COUNTRY = 'PH'
REGION = f'{COUNTRY}-01'
DISTRICT = f'{REGION}-01'


def new_password():
    return secrets.token_urlsafe(12)


def read_passwords(path):
    "{login: password} of a demo users file (`login password` lines)."
    passwords = {}
    for line in path.read_text().splitlines():
        login, _, password = line.strip().partition(' ')
        if login and password:
            passwords[login] = password.strip()
    return passwords


def ensure_users(passwords=None):
    """Create the demo users that are missing, with their groups and
    areas, and set the passwords given ({login: password}; a missing one
    is generated, so that no user is left with an empty password).
    Return {login: user}."""
    pool = Pool()
    User = pool.get('res.user')
    Area = pool.get('spp.area')
    ModelData = pool.get('ir.model.data')
    passwords = passwords or {}
    areas = {a.code: a.id for a in Area.search(
            [('code', 'in', [COUNTRY, REGION, DISTRICT])])}
    existing = {u.login: u for u in User.search([
                ('login', 'in', DEMO_LOGINS),
                ('active', 'in', [True, False]),
                ])}
    to_create, to_save = [], []
    for login, name, groups, limit in DEMO_USERS:
        password = passwords.get(login)
        if login in existing:
            user = existing[login]
            if password:
                user.password = password
                to_save.append(user)
            continue
        area = {'district': DISTRICT, 'region': REGION,
            'country': COUNTRY}.get(limit)
        to_create.append({
                'login': login,
                'name': name,
                'password': password or new_password(),
                'groups': [('add', [ModelData.get_id(*g.split('.'))
                            for g in groups])],
                'spp_areas': [('add', [areas[area]])] if area in areas
                else [],
                })
    if to_save:
        User.save(to_save)
    created = User.create(to_create) if to_create else []
    users = dict(existing)
    users.update((u.login, u) for u in created)
    return users
