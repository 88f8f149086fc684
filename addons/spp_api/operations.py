"""The REST operations named by `resources.OPERATIONS`.

Each takes (scope, query, body, **path) with input already checked
against its declaration and returns (status, JSON body)."""
from trytond.pool import Pool

from .custom_values import write_custom
from .handlers import ApiError, not_found, page, page_args
from .validation import ValidationFailure


def list_individuals(scope, query, body):
    limit, after = page_args(query)
    records = scope.registrants('individual', query, limit + 1, after)
    return 200, page(records, limit, scope.individuals)


def get_individual(scope, query, body, handle):
    return 200, scope.individual_of(handle)


def lookup_individual(scope, query, body):
    """The individual holding an ID sent in the body: the number stays out
    of URLs (and so out of access logs); 404 for a hidden one as for a
    missing one, as `GET /individuals/{handle}`."""
    return 200, lookup(scope, body, scope.individual_of)


def lookup_group(scope, query, body):
    "The group holding an ID sent in the body (see lookup_individual)."
    party = lookup(scope, body,
        lambda handle: scope.resolve(handle, 'group', "group"))
    return 200, scope.groups([party])[0]


def lookup(scope, body, find):
    """find(`type|value` handle) of a lookup body. An unknown ID type is
    the caller's mistake (422), checked only when nothing matched, to spare
    the frequent lookup a read of the ID types."""
    try:
        return find(f"{body['type']}|{body['value']}")
    except ApiError:
        scope.id_type(body['type'], 'body.type')
        raise


def individual_values(scope, values, where, party=None):
    """ORM values for an individual from a validated create/update body
    (`party`: the individual updated)."""
    result = {}
    for name in ['family_name', 'given_name', 'additional_name',
            'birth_date', 'civil_status', 'occupation', 'disability']:
        if name in values:
            result[name] = values[name]
    for name in ['family_name', 'given_name']:
        if name in result:
            result[name] = result[name].strip()
    if 'gender' in values:
        result['gender'] = scope.by_code(
            'spp.gender', values['gender'], f'{where}.gender')
    if 'area' in values:
        result['area'] = scope.by_code(
            'spp.area', values['area'], f'{where}.area')
        scope.check_area_allowed(result['area'])
    if values.get('identifiers'):
        result['identifiers'] = [('create', identifier_values(
                    scope, values['identifiers'], where))]
    if values.get('custom_fields') is not None:
        result['custom_values'] = write_custom(values['custom_fields'],
            'individual', f'{where}.custom_fields',
            current=party.custom_values if party else None) or None
    return result


def identifier_values(scope, identifiers, where):
    seen = set()
    result = []
    for i, identifier in enumerate(identifiers):
        scope.id_type(identifier['type'], f'{where}.identifiers[{i}].type')
        key = (identifier['type'], identifier['value'])
        if key in seen:
            raise ValidationFailure(
                f"{where}.identifiers[{i}]: repeated ID.")
        seen.add(key)
        result.append({'type': identifier['type'],
                'code': identifier['value']})
    return result


def create_individual(scope, query, body):
    values = individual_values(scope, body, 'body')
    if scope.client['areas'] and 'area' not in values:
        scope.check_area_allowed(None)
    party, = scope.Party.create([{
                'registrant_type': 'individual', **values}])
    return 201, scope.individuals([party])[0]


def update_individual(scope, query, body, handle):
    party = scope.resolve(handle, 'individual', "individual")
    if not body:
        raise ValidationFailure("body: nothing to update.")
    values = individual_values(scope, body, 'body', party)
    scope.Party.write([party], values)
    return 200, scope.individuals([party])[0]


def list_groups(scope, query, body):
    limit, after = page_args(query)
    records = scope.registrants('group', query, limit + 1, after)
    return 200, page(records, limit, scope.groups)


def get_group(scope, query, body, handle):
    party = scope.resolve(handle, 'group', "group")
    return 200, scope.groups([party])[0]


def update_group(scope, query, body, handle):
    """Update a group's own fields with the rules of an individual's
    update: a known kind and area (one of the client's when it is
    restricted), custom values merged; members are changed elsewhere."""
    party = scope.resolve(handle, 'group', "group")
    if not body:
        raise ValidationFailure("body: nothing to update.")
    values = {}
    if 'name' in body:
        values['name'] = body['name'].strip()
    if 'kind' in body:
        values['group_kind'] = scope.by_code(
            'spp.group.kind', body['kind'], 'body.kind')
    if 'area' in body:
        values['area'] = scope.by_code('spp.area', body['area'], 'body.area')
        scope.check_area_allowed(values['area'])
    if body.get('custom_fields') is not None:
        values['custom_values'] = write_custom(body['custom_fields'],
            'group', 'body.custom_fields',
            current=party.custom_values) or None
    scope.Party.write([party], values)
    return 200, scope.groups([party])[0]


def create_group(scope, query, body):
    """Create a household and its new members in one transaction: any
    error (unknown code, invalid or duplicate ID, two heads) writes
    nothing."""
    pool = Pool()
    Role = pool.get('spp.group.membership.role')
    roles = {r.code: r.id for r in Role.search([])}
    area = scope.by_code('spp.area', body.get('area'), 'body.area')
    scope.check_area_allowed(area)
    kind = scope.by_code('spp.group.kind', body.get('kind'), 'body.kind')
    members = body['members']
    individuals = []
    for i, member in enumerate(members):
        where = f'body.members[{i}].individual'
        values = individual_values(scope, member['individual'], where)
        if 'area' not in values:
            values['area'] = area
        individuals.append({'registrant_type': 'individual', **values})
        for role in member.get('roles') or []:
            if role not in roles:
                raise ValidationFailure(
                    f"body.members[{i}].roles: unknown role {role!r}.")
    created = scope.Party.create(individuals)
    group_values = {
        'registrant_type': 'group',
        'name': body['name'].strip(),
        'area': area,
        'memberships': [('create', [{
                        'individual': individual.id,
                        'roles': [('add', [roles[r]
                                    for r in member.get('roles') or []])],
                        **({'start_date': member['start_date']}
                            if member.get('start_date') else {}),
                        } for individual, member in zip(created, members)])],
        }
    if kind:
        group_values['group_kind'] = kind
    if body.get('identifiers'):
        group_values['identifiers'] = [('create', identifier_values(
                    scope, body['identifiers'], 'body'))]
    if body.get('custom_fields') is not None:
        group_values['custom_values'] = write_custom(body['custom_fields'],
            'group', 'body.custom_fields') or None
    group, = scope.Party.create([group_values])
    return 201, scope.groups([group])[0]


def list_memberships(scope, query, body):
    limit, after = page_args(query)
    domain = scope.area_domain('group.area')
    for name in ['group', 'individual']:
        if query.get(name):
            try:
                party = scope.resolve(query[name], name, name)
            except ApiError:
                # An unknown or hidden registrant: an empty page, the
                # same answer either way.
                return 200, {'data': [], 'next_cursor': None}
            domain.append((name, '=', party.id))
    if query.get('current') is not None:
        domain.append(('current', '=', query['current'] == 'true'))
    records = scope.memberships(domain, limit + 1, after)

    def serialise(rows):
        scope.serve('spp.group.membership', [r['_id'] for r in rows])
        return [{k: v for k, v in r.items() if not k.startswith('_')}
            for r in rows]
    return 200, page(records, limit, serialise, last_id=lambda r: r['_id'])


def list_identifiers(scope, query, body):
    limit, after = page_args(query)
    scope.check_search({'identifiers'})
    domain = [('party.registrant_type', 'in', ['individual', 'group'])]
    domain += scope.area_domain('party.area')
    if query.get('type'):
        scope.id_type(query['type'], 'type')
        domain.append(('type', '=', query['type']))
    if query.get('registrant'):
        party = None
        for kind in ['individual', 'group']:
            try:
                party = scope.resolve(query['registrant'], kind, kind)
                break
            except ApiError:
                continue
        if party is None:
            return 200, {'data': [], 'next_cursor': None}
        domain.append(('party', '=', party.id))
    if after:
        domain.append(('id', '>', after))
    records = scope.Identifier.search(domain, limit=limit + 1,
        order=[('id', 'ASC')])

    def serialise(rows):
        scope.serve('party.identifier', [r.id for r in rows])
        parties = {p['id']: p for p in scope.Party.read(
                list({r.party.id for r in rows}),
                ['code', 'registrant_type'])}
        return [{
                'registrant': parties[r.party.id]['code'],
                'registrant_type': parties[r.party.id]['registrant_type'],
                'type': r.type,
                'value': r.code,
                } for r in rows]
    return 200, page(records, limit, serialise)


def _areas(scope, records):
    parents = scope.code_map('spp.area',
        [a.parent.id for a in records if a.parent])
    kinds = scope.code_map('spp.area.kind',
        [a.kind.id for a in records if a.kind])
    return [{
            'code': a.code,
            'name': a.name,
            'parent': parents.get(a.parent.id) if a.parent else None,
            'kind': kinds.get(a.kind.id) if a.kind else None,
            } for a in records]


def list_areas(scope, query, body):
    limit, after = page_args(query)
    domain = scope.areas_domain()
    if query.get('parent'):
        domain.append(('parent.code', '=', query['parent']))
    if after:
        domain.append(('id', '>', after))
    records = scope.Area.search(domain, limit=limit + 1,
        order=[('id', 'ASC')])
    return 200, page(records, limit, lambda rows: _areas(scope, rows))


def get_area(scope, query, body, code):
    records = scope.Area.search(
        [('code', '=', code)] + scope.areas_domain(), limit=1)
    if not records:
        raise not_found("area")
    return 200, _areas(scope, records)[0]

from .operations_programs import (  # noqa: E402,F401 (routed by name)
    enrol, get_cycle, get_entitlement, get_payment, get_program,
    get_program_membership, list_cycles,
    list_entitlements, list_payments, list_program_memberships,
    list_programs, record_payment_status)
from .operations_change_request import (  # noqa: E402,F401 (routed by name)
    create_change_request, get_change_request, list_change_requests)
from .operations_grievance import (  # noqa: E402,F401 (routed by name)
    create_grievance, get_grievance)
