"""The demo's grievance redress: categories with deadlines, the region's
team (the grievance officer, managed by the grievance manager) escalating
to the national team, and complaints in every state — one late and
escalated by the SLA pass, one resolved and appealed, one sensitive."""
import datetime as dt

from trytond.pool import Pool

from .users import REGION

# (code, name, parent code, severity, ack, resolution, unit, sensitive)
CATEGORIES = [
    ('exclusion', "Exclusion", None, 'high', 3, 15, 'working_days', False),
    ('wrongly_excluded', "Wrongly Excluded", 'exclusion', None, None, None,
        None, False),
    ('payment', "Payment", None, 'medium', 2, 10, 'working_days', False),
    ('missed_payment', "Missed Payment", 'payment', 'high', 48, 120,
        'hours', False),
    ('wrong_amount', "Wrong Amount", 'payment', None, None, None, None,
        False),
    ('misconduct', "Staff Misconduct", None, 'critical', 24, 30,
        'working_days', True),
    ('information', "Information Request", None, 'low', 5, 10,
        'working_days', False),
    ]


def ensure_configuration(users):
    """The categories and teams, once; return ({code: category},
    {code: team})."""
    pool = Pool()
    Category = pool.get('spp.grievance.category')
    Team = pool.get('spp.grievance.team')
    Area = pool.get('spp.area')
    categories = {c.code: c for c in Category.search([])}
    if not categories:
        for code, name, parent, severity, ack, resolution, unit, sensitive \
                in CATEGORIES:
            category, = Category.create([{'code': code, 'name': name,
                        'parent': categories[parent].id if parent else None,
                        'severity': severity, 'ack_amount': ack,
                        'ack_unit': unit if ack else None,
                        'resolution_amount': resolution,
                        'resolution_unit': unit if resolution else None,
                        'sensitive': sensitive}])
            categories[code] = category
    teams = {t.code: t for t in Team.search([])}
    if not teams:
        region, = Area.search([('code', '=', REGION)])
        national, integrity = Team.create([
                {'name': "National Grievance Unit", 'code': 'NAT',
                    'level': '3', 'manager': users['grm'].id},
                {'name': "Integrity Unit", 'code': 'INT', 'level': '3',
                    'manager': users['grm'].id,
                    'categories': [('add', [categories['misconduct'].id])]},
                ])
        local, = Team.create([{'name': f"{region.name} Grievance Desk",
                    'code': 'REG1', 'level': '1',
                    'manager': users['grm'].id,
                    'members': [('add', [users['grievance'].id])],
                    'areas': [('add', [region.id])],
                    'escalation_team': national.id}])
        Category.write([c for c in categories.values() if not c.parent
                and not c.sensitive], {'team': national.id})
        Category.write([categories['misconduct']], {'team': integrity.id})
        teams = {t.code: t for t in [national, integrity, local]}
    return categories, teams


def load_grievances(users, today, acting_as):
    """Complaints received at the region's desk over the last weeks, in
    each state; then the SLA pass."""
    pool = Pool()
    Grievance = pool.get('spp.grievance')
    Party = pool.get('party.party')
    Channel = pool.get('spp.grievance.channel')
    categories, _ = ensure_configuration(users)
    if Grievance.search([], limit=1):
        return
    channels = {c.code: c.id for c in Channel.search([])}
    now = dt.datetime.combine(today, dt.time(10, 0))
    officer = users['grievance']
    with acting_as(officer):
        heads = Party.search([('registrant_type', '=', 'individual')],
            order=[('id', 'ASC')], limit=3)

        def file(days_ago, category, channel, complainant, description,
                **values):
            subcategory = categories[category]
            parent = subcategory.parent or subcategory
            grievance, = Grievance.create([{
                        'received_on': now - dt.timedelta(days=days_ago),
                        'channel': channels[channel],
                        'category': parent.id,
                        'subcategory': (subcategory.id
                            if subcategory.parent else None),
                        'complainant_kind': ('registrant' if complainant
                            else 'other'),
                        'complainant': (complainant.id
                            if complainant else None),
                        'registrant': (complainant.id
                            if complainant else None),
                        'area': (complainant.area.id if complainant
                            else heads[0].area.id),
                        'description': description, **values}])
            return grievance

        missed = file(12, 'missed_payment', 'walk_in', heads[0],
            "The payment of last month did not arrive at the pay point.")
        excluded = file(9, 'wrongly_excluded', 'phone', heads[1],
            "Our household was not enrolled although we have three "
            "children under five.")
        amount = file(6, 'wrong_amount', 'sms', heads[2],
            "I received 1,500 instead of 2,000.")
        file(1, 'information', 'web', None,
            "When is the next registration in our barangay?",
            complainant_name="Liza Cruz",
            complainant_contact="liza.cruz@example.org")
        file(2, 'misconduct', 'volunteer', None,
            "A staff member asked for money to add a family to the list.",
            complainant_kind='anonymous', confidential=True)
        Grievance.take([missed, excluded, amount])
        Grievance.acknowledge([excluded, amount])
        Grievance.investigate([excluded])
        Grievance.write([amount], {'decision': 'not_upheld',
                'resolution': "The amount follows the number of children "
                "enrolled: two. Enrol your third child to receive more."})
        Grievance.resolve([amount])
        Grievance.close([amount])
        Grievance.appeal([amount], "My third child was enrolled before "
            "the cycle started.")
    Grievance.run_sla()
