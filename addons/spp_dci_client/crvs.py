"""Processing CRVS life events (process flows 2 to 6 of the DCI CRVS
use cases) and checking birth dates with the civil registry (flow 2).

A notification's records become life events in one pass: the people are
matched by identifier in one query per batch, then deaths are applied
set-based over the event rows themselves (UPDATE ... FROM the events):

1. the person marked deceased (date, the registry) and disabled, with a
   row of the registrant's history;
2. extensions act on the same events (`_deaths_applied`): programs exit
   the person's memberships, entitlements hold the unpaid ones;
3. the surviving spouse (head or spouse of a household of the deceased)
   becomes widowed, so a rule on civil status finds them (flow 4);
4. the indicators of their households are recomputed.

Births are few and each creates records: the child is proposed to the
household of a parent (`_add_child`: a change request where
spp_change_request is installed, else registered directly).

Birth dates are checked with the civil registry by
`party.party.verify_birth_dates()` (crvs_party.py)."""
import datetime as dt

from sql import Column, Literal, Null
from sql.aggregate import Min
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .person import Reader

SPOUSE_ROLES = ['head', 'spouse']
# Civil statuses a spouse's death turns into widowed.
MARRIED = ['married', 'partnered']
BATCH = 1000


class LifeEventProcessingMixin:
    __slots__ = ()

    # -- receiving ---------------------------------------------------------
    @classmethod
    def receive(cls, subscription, exchange, records):
        """Create and process the life events of a notification's records;
        return how many were taken."""
        registry = subscription.registry
        default_type = subscription.event_type
        reader = cls.reader(registry)
        people = [reader.person(r) for r in records]
        matches = cls.match_individuals(
            [k for p in people for k in p.identifiers])
        allowed = cls.allowed_areas(subscription)
        kept, values = [], []
        seen = set()
        for person in people:
            event_type = 'death' if person.death_date else default_type
            if event_type not in {'death', 'live_birth'}:
                continue
            event = cls.event_values(registry, person, event_type)
            event.update(subscription=subscription.id,
                exchange=exchange.id if exchange else None)
            party = next((matches[k] for k in person.identifiers
                    if k in matches), None)
            if event_type == 'death':
                cls.triage_death(event, person, party, allowed, seen)
            else:
                cls.triage_birth(event, person, party)
            kept.append(person)
            values.append(event)
        ids = cls.insert_events(values)
        applied = [(i, v, p) for i, v, p in zip(ids, values, kept)
            if v['state'] == 'applied']
        cls.apply_deaths(cls.browse([i for i, v, _ in applied
                    if v['event_type'] == 'death']), registry)
        births = {i: p for i, v, p in applied
            if v['event_type'] == 'live_birth'}
        cls.apply_births(cls.browse(list(births)), people=births)
        return len(ids)

    @classmethod
    def insert_events(cls, values):
        """Insert the events' rows, a multi-row INSERT per batch: their
        values are ours (read and matched above), not a user's, and the
        ORM's create of each row (defaults, domain checks) took half the
        time of a notification. The ids, in order."""
        transaction = Transaction()
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        names = sorted({k for v in values for k in v})
        columns = [Column(table, n) for n in names] + [
            table.create_uid, table.create_date]
        now = dt.datetime.now()
        ids = []
        for sub_values in grouped_slice(values, BATCH):
            rows = [[v.get(n) for n in names] + [transaction.user, now]
                for v in sub_values]
            if transaction.database.has_returning():
                cursor.execute(*table.insert(columns, rows,
                        returning=[table.id]))
                ids.extend(i for i, in cursor)
            else:
                for row in rows:
                    cursor.execute(*table.insert(columns, [row]))
                    ids.append(cursor.lastrowid)
        return ids

    @classmethod
    def reader(cls, registry):
        IdType = Pool().get('spp.id.type')
        return Reader(registry, IdType.by_code().keys())

    @classmethod
    def event_values(cls, registry, person, event_type):
        "The values of a life event of a Person (no match yet)."
        Gender = Pool().get('spp.gender')
        genders = Transaction().get_cache().setdefault(
            '_spp_dci_genders', {})
        if not genders:
            genders.update({g.code: g.id for g in Gender.search([])})
        key = person.key
        parent = person.parents[0] if person.parents else (None, None)
        values = {
            'registry': registry.id,
            'received': dt.datetime.now(),
            'event_type': event_type,
            'event_date': (person.death_date if event_type == 'death'
                else person.birth_date),
            'id_type': key[0] if key else None,
            'id_number': key[1] if key else None,
            'family_name': person.family_name,
            'given_name': person.given_name,
            'gender': genders.get(person.gender),
            'parent_id_type': parent[0],
            'parent_id_number': parent[1],
            'area_code': person.area_code,
            'memberships_exited': 0,
            'entitlements_held': 0,
            }
        if person.problems:
            values.update(state='review', review_reason='unreadable',
                problem='; '.join(person.problems)[:200])
        return values

    @classmethod
    def triage_death(cls, event, person, party, allowed, seen):
        "Decide what a death event does (its state) before it is created."
        if event.get('state') == 'review':
            pass
        elif party is None:
            event.update(state='review', review_reason='unknown_person',
                area=cls.area_of_code(person.area_code))
        elif not event['event_date']:
            event.update(state='review', review_reason='unreadable',
                problem=gettext('spp_dci_client.msg_crvs_event_no_date'))
        if party is None:
            return
        event.update(registrant=party['id'], area=party['area'])
        if event.get('state') == 'review':
            return
        if party['death_date'] or party['id'] in seen:
            event.update(state='ignored',
                changes=gettext(
                    'spp_dci_client.msg_crvs_event_already_deceased'))
        elif allowed is not None and party['area'] not in allowed:
            event.update(state='review', review_reason='outside_areas')
        else:
            event['state'] = 'applied'
        seen.add(party['id'])

    @classmethod
    def triage_birth(cls, event, person, child):
        """Decide what a birth does: ignored when the child is registered
        already; the household is looked for when it is applied."""
        if event.get('state') == 'review':
            return
        if child is not None:
            event.update(state='ignored', registrant=child['id'],
                area=child['area'],
                changes=gettext('spp_dci_client.msg_crvs_event_child_known'))
        else:
            event['state'] = 'applied'

    # -- matching ----------------------------------------------------------
    @classmethod
    def match_individuals(cls, keys):
        """{(our ID type, number): {id, area, death_date}} of the
        individuals holding those identifiers, one query per batch."""
        pool = Pool()
        IdType = pool.get('spp.id.type')
        Identifier = pool.get('party.identifier')
        Party = pool.get('party.party')
        types = IdType.by_code()
        wanted = {}
        for type_, number in keys:
            id_type = types.get(type_)
            compact = id_type.compact(number) if id_type else number
            wanted.setdefault((type_, compact), []).append((type_, number))
        identifier, party = Identifier.__table__(), Party.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        codes = sorted({c for _, c in wanted})
        for sub_codes in grouped_slice(codes, BATCH):
            cursor.execute(*identifier.join(party,
                    condition=party.id == identifier.party).select(
                    identifier.type, identifier.code_compact, party.id,
                    party.area, party.death_date,
                    where=identifier.code_compact.in_(list(sub_codes))
                    & (identifier.active == Literal(True))
                    & (party.registrant_type == 'individual'),
                    order_by=[party.id.asc]))
            for type_, compact, id_, area, death_date in cursor:
                for key in wanted.get((type_, compact), []):
                    result.setdefault(key, {'id': id_, 'area': area,
                            'death_date': death_date})
        return result

    @classmethod
    def allowed_areas(cls, subscription):
        "Ids of the areas the subscription covers, or None for all."
        Area = Pool().get('spp.area')
        roots = subscription.areas or subscription.registry.areas
        if not roots:
            return None
        with without_check_access():
            return set(map(int, Area.search(
                        [('parent', 'child_of', [a.id for a in roots])])))

    @classmethod
    def area_of_code(cls, code):
        Area = Pool().get('spp.area')
        if not code:
            return None
        with without_check_access():
            areas = Area.search([('code', '=', code)], limit=1)
        return areas[0].id if areas else None

    # -- deaths ------------------------------------------------------------
    @classmethod
    def apply_deaths(cls, events, registry=None):
        """Apply death events (state applied, a registrant each) in SQL:
        deceased and disabled, memberships exited, entitlements held,
        spouses widowed, household indicators recomputed."""
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        if not events:
            return
        ids = [e.id for e in events]
        # Read of one event would read all of them: the caller knows.
        registry = registry or events[0].registry
        today = pool.get('ir.date').today()
        table, party = cls.__table__(), Party.__table__()
        cursor = Transaction().connection.cursor()
        user, now = Transaction().user, CurrentTimestamp()
        reason = gettext('spp_dci_client.msg_crvs_deceased_reason',
            registry=registry.rec_name)
        people = []
        for sub_ids in grouped_slice(ids, BATCH):
            sub_ids = list(sub_ids)
            cursor.execute(*party.update(
                    [party.death_date, party.death_source, party.disabled,
                        party.disabled_reason, party.disabled_by,
                        party.write_uid, party.write_date],
                    [table.event_date, table.registry,
                        Coalesce(party.disabled, now),
                        Coalesce(party.disabled_reason, reason),
                        Coalesce(party.disabled_by, user), user, now],
                    from_=[table],
                    where=table.id.in_(sub_ids)
                    & (party.id == table.registrant)
                    & (party.death_date == Null)))
            cursor.execute(*table.update([table.changes],
                    [gettext('spp_dci_client.msg_crvs_event_deceased')],
                    where=table.id.in_(sub_ids)))
            cursor.execute(*table.select(table.registrant,
                    where=table.id.in_(sub_ids)))
            people.extend(r for r, in cursor)
        for sub_people in grouped_slice(people, BATCH):
            Party._insert_history(list(sub_people))
        cls._deaths_applied(ids, today)
        cls._widow_spouses(ids, today)
        membership = Membership.__table__()
        groups = set()
        for sub_people in grouped_slice(people, BATCH):
            cursor.execute(*membership.select(membership.group,
                    where=membership.individual.in_(list(sub_people)),
                    group_by=[membership.group]))
            groups.update(g for g, in cursor)
        Party.recompute_indicators(groups)
        invalidate_cache(Party, cls)
        cls._record_applied(ids, 'deceased_marked', {
                'registry': registry.code, 'deaths': len(ids)})

    @classmethod
    def _deaths_applied(cls, event_ids, today):
        """Act on applied death events (ids) after the people are marked
        deceased: extended by the addons holding what a death ends."""

    @classmethod
    def _widow_spouses(cls, event_ids, today):
        """The other head or spouse of a household of each deceased, if
        married or partnered, becomes widowed: one UPDATE of the events
        (who was widowed), one of the people, with their history."""
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        MembershipRole = pool.get('spp.group.membership-role')
        Role = pool.get('spp.group.membership.role')
        roles = [r.id for r in Role.search(
                [('code', 'in', SPOUSE_ROLES)])]
        if not roles:
            return
        table, party = cls.__table__(), Party.__table__()
        m1, m2 = Membership.__table__(), Membership.__table__()
        r1, r2 = MembershipRole.__table__(), MembershipRole.__table__()
        survivor = Party.__table__()
        cursor = Transaction().connection.cursor()
        spouse = (m1
            .join(r1, condition=(r1.membership == m1.id)
                & r1.role.in_(roles))
            .join(m2, condition=(m2.group == m1.group)
                & (m2.individual != m1.individual))
            .join(r2, condition=(r2.membership == m2.id)
                & r2.role.in_(roles))
            .join(survivor, condition=survivor.id == m2.individual)
            .select(Min(m2.individual),
                where=(m1.individual == table.registrant)
                & Membership.active_condition(m1, today)
                & Membership.active_condition(m2, today)
                & (survivor.death_date == Null)
                & (survivor.disabled == Null)
                & ((survivor.civil_status == Null)
                    | survivor.civil_status.in_(MARRIED))))
        widowed = []
        for sub_ids in grouped_slice(event_ids, BATCH):
            sub_ids = list(sub_ids)
            cursor.execute(*table.update([table.widowed], [spouse],
                    where=table.id.in_(sub_ids)))
            cursor.execute(*table.select(table.widowed,
                    where=table.id.in_(sub_ids) & (table.widowed != Null)))
            ids = [i for i, in cursor]
            if ids:
                cursor.execute(*party.update(
                        [party.civil_status, party.write_uid,
                            party.write_date],
                        ['widowed', Transaction().user, CurrentTimestamp()],
                        where=party.id.in_(ids)))
                Party._insert_history(ids)
                widowed.extend(ids)
        if widowed:
            cls._record_applied(event_ids, 'spouse_widowed',
                {'widowed': len(widowed)})

    @classmethod
    def _record_applied(cls, event_ids, action, details):
        "An audit entry of a set-based step (with spp_audit)."

    # -- births ------------------------------------------------------------
    @classmethod
    def apply_births(cls, events, people=None):
        """Add each born child to the household of a parent we hold, or
        send the event to review."""
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        if not events:
            return
        today = pool.get('ir.date').today()
        for event in events:
            person = (people or {}).get(event.id)
            parents = person.parents if person else [
                (event.parent_id_type, event.parent_id_number)]
            household = event.household
            if household is None:
                matches = cls.match_individuals(
                    [p for p in parents if p[0] and p[1]])
                for parent in parents:
                    found = matches.get(parent)
                    if not found or found['death_date']:
                        continue
                    with without_check_access():
                        memberships = Membership.search([
                                ('individual', '=', found['id']),
                                ('current', '=', True),
                                ('group.disabled', '=', None),
                                ], order=[('start_date', 'DESC')], limit=1)
                    if memberships:
                        household = memberships[0].group
                        break
            if household is None:
                cls.send_to_review([event], 'unknown_household',
                    cls.area_of_code(event.area_code))
                continue
            allowed = (cls.allowed_areas(event.subscription)
                if event.subscription and not event.reviewed_by else None)
            area = household.area.id if household.area else None
            if allowed is not None and area not in allowed:
                cls.send_to_review([event], 'outside_areas', area,
                    household=household)
                continue
            cls._add_child(event, household, person, today)

    @classmethod
    def send_to_review(cls, events, reason, area, **values):
        with without_check_access():
            cls.write(events, {'state': 'review', 'review_reason': reason,
                    'area': area,
                    **{k: v.id for k, v in values.items()}})

    @classmethod
    def child_values(cls, event, household, person):
        "The values of the child's individual record."
        values = {
            'registrant_type': 'individual',
            'family_name': event.family_name,
            'given_name': event.given_name,
            'birth_date': event.event_date,
            'gender': event.gender.id if event.gender else None,
            'area': household.area.id if household.area else None,
            }
        identifiers = person.identifiers if person else (
            [(event.id_type, event.id_number)] if event.id_type else [])
        if identifiers:
            values['identifiers'] = [('create', [
                        {'type': t, 'code': c} for t, c in identifiers])]
        return values

    @classmethod
    def _add_child(cls, event, household, person, today):
        """Register the child and make it a member of the household (the
        change requests' extension proposes it instead)."""
        pool = Pool()
        Party = pool.get('party.party')
        Role = pool.get('spp.group.membership.role')
        if not (event.family_name or event.given_name):
            # A registrant needs a name: the caseworker asks the registry.
            cls.send_to_review([event], 'unreadable',
                household.area.id if household.area else None,
                household=household)
            return
        roles = Role.search([('code', '=', 'child')], limit=1)
        with without_check_access():
            child, = Party.create(
                [cls.child_values(event, household, person)])
            Pool().get('spp.group.membership').create([{
                        'group': household.id, 'individual': child.id,
                        'start_date': event.event_date or today,
                        'roles': [('add', [r.id for r in roles])]}])
            cls.write([event], {'state': 'applied',
                    'registrant': child.id, 'household': household.id,
                    'area': household.area.id if household.area else None,
                    'changes': gettext(
                        'spp_dci_client.msg_crvs_event_child_added',
                        household=household.rec_name)})
        cls._record_applied([event.id], 'birth_applied',
            {'household': household.id})

    # -- review ------------------------------------------------------------
    @classmethod
    def apply_after_review(cls, events):
        """Apply reviewed events with the person (death) or household
        (birth) the caseworker chose; others stay under review."""
        deaths, births = [], []
        for event in events:
            if event.event_type == 'death':
                if not event.registrant or not event.event_date:
                    raise ValidationError(gettext(
                            'spp_dci_client.msg_crvs_event_review_missing',
                            event=event.rec_name))
                if event.registrant.death_date:
                    with without_check_access():
                        cls.write([event], {'state': 'ignored',
                                'changes': gettext('spp_dci_client.'
                                    'msg_crvs_event_already_deceased')})
                    continue
                deaths.append(event)
            else:
                births.append(event)
        with without_check_access():
            for event in deaths:
                cls.write([event], {'state': 'applied',
                        'review_reason': None,
                        'area': (event.registrant.area.id
                            if event.registrant.area else None)})
            cls.apply_deaths(deaths)
            if births:
                cls.write(births, {'review_reason': None})
                cls.apply_births(births)

