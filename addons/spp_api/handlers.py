"""What each REST operation does, given validated input.

Handlers run inside the request's transaction as the client's acting user.
Every registrant search goes through `Scope.area_domain()`, which adds the
client's area restriction and what the client may receive (a hook for
addons, `Client.sharing_domain()`), so a record outside them is not found
(404), exactly like a missing one."""
import base64
import datetime as dt
import re

from sql import Column, Literal

from trytond.pool import Pool
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

from .custom_values import has_custom_fields, read_custom
from .declarations import DEFAULT_PAGE_SIZE
from .membership_rows import group_rows, membership_rows
from .validation import ValidationFailure

# An ID number that is its own compact form (see registrant_domain).
COMPACT = re.compile(r'[0-9A-Z]+')


class ApiError(Exception):
    "An answer other than success: status, error code and message."

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(what):
    return ApiError(404, 'not_found', f"No {what} matches this handle.")


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(
        f'v1:{last_id}'.encode()).decode().rstrip('=')


def decode_cursor(cursor):
    "The last id of the previous page; 400 for a cursor we did not make."
    try:
        raw = base64.urlsafe_b64decode(cursor + '=' * (-len(cursor) % 4))
        version, last_id = raw.decode('ascii').split(':')
        if version != 'v1' or not last_id.isdigit() or len(last_id) > 18:
            raise ValueError
        return int(last_id)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, 'bad_cursor',
            "cursor: not a cursor given by this API.")


def _iso(value, datetime=False):
    if value is None:
        return None
    if isinstance(value, str):
        # SQLite may hand raw text back from plain SQL.
        value = (dt.datetime.fromisoformat(value) if datetime
            else dt.date.fromisoformat(value[:10]))
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + 'Z'
    return value.isoformat()


class Scope:
    "The calling client's view of the registry."

    def __init__(self, client):
        self.client = client
        pool = Pool()
        self.Party = pool.get('party.party')
        self.Identifier = pool.get('party.identifier')
        self.Area = pool.get('spp.area')
        self.Membership = pool.get('spp.group.membership')
        self.Client = pool.get('spp.api.client')
        # The records the answer holds, by model: spp.api.log.served()
        # is told once per call (the audit trail's access entry).
        self.served = {}

    def serve(self, model, ids):
        "Note that the answer holds these records of `model`."
        self.served.setdefault(model, []).extend(ids)

    # -- restriction ---------------------------------------------------
    def area_domain(self, field='area', registrant=None, optional=False):
        """Domain of the records the client may read: `field` is the area
        tested; `registrant` the path of the registrant the records are
        about (by default 'id' for 'area', 'group' for 'group.area'...),
        whom the client must be allowed to receive (Client.sharing_domain),
        unless the record has none and `optional`."""
        domain = []
        if self.client['areas']:
            domain.append((field, 'child_of', self.client['areas'], 'parent'))
        if registrant is None:
            registrant = field.rpartition('.')[0] or 'id'
        sharing = self.Client.sharing_domain(self.client, registrant)
        if sharing and optional:
            sharing = [['OR', (registrant, '=', None), sharing]]
        return domain + sharing

    def check_search(self, fields):
        "Refuse (an ApiError) a search of registrants by `fields`."
        self.Client.check_search(self.client, set(fields))

    def areas_domain(self):
        "Domain on spp.area: the client's areas and the areas below them."
        if not self.client['areas']:
            return []
        # Nested set: an area is below another when inside its interval.
        bounds = self.Area.read(self.client['areas'], ['left', 'right'])
        return [['OR', *[[('left', '>=', b['left']),
                        ('right', '<=', b['right'])] for b in bounds]]]

    def check_area_allowed(self, area_id):
        "403 when writing a registrant into an area outside the client's."
        if not self.client['areas']:
            return
        if area_id is None or not self.Area.search([
                    ('id', '=', area_id)] + self.areas_domain(), limit=1):
            raise ApiError(403, 'forbidden_area',
                "This client may not write registrants in this area.")

    # -- lookups ---------------------------------------------------------
    def code_map(self, model, ids):
        ids = [i for i in set(ids) if i]
        if not ids:
            return {}
        Model = Pool().get(model)
        with Transaction().set_context(active_test=False):
            return {r['id']: r['code'] for r in Model.read(ids, ['code'])}

    def by_code(self, model, code, what):
        "Id of the record of `model` with `code`; 422 when unknown."
        if code is None:
            return None
        Model = Pool().get(model)
        records = Model.search([('code', '=', code)], limit=1)
        if not records:
            raise ValidationFailure(f"{what}: unknown code {code!r}.")
        return records[0].id

    def id_type(self, code, where):
        IdType = Pool().get('spp.id.type')
        if code not in IdType.by_code():
            raise ValidationFailure(f"{where}: unknown ID type {code!r}.")
        return code

    def registrant_domain(self, registrant_type, filters=None,
            after=None):
        """Domain of the registrants of a type (or of a tuple of types)
        visible to the client."""
        if isinstance(registrant_type, tuple):
            domain = [('registrant_type', 'in', list(registrant_type))]
        else:
            domain = [('registrant_type', '=', registrant_type)]
        domain += self.area_domain()
        filters = filters or {}
        if filters.get('id'):
            self.check_search({'identifiers'})
            type_, value = filters['id'].split('|', 1)
            # Compared as stored: compact (no spaces or separators). A
            # number of digits and capitals is taken as compact already,
            # which spares the frequent look-up a read of the ID types.
            if not COMPACT.fullmatch(value):
                value = self.Identifier.compact_code(type_, value)
            # One query: the identifier is joined, not fetched first.
            domain.append(('identifiers', 'where', [
                        ('type', '=', type_),
                        ('code_compact', '=', value),
                        ]))
        if filters.get('area'):
            area = self.Area.search([('code', '=', filters['area'])],
                limit=1)
            domain.append(('area', 'child_of', [a.id for a in area],
                    'parent'))
        if filters.get('modified_since'):
            since = filters['modified_since']
            domain.append(['OR',
                    ('write_date', '>=', since),
                    [('write_date', '=', None), ('create_date', '>=', since)],
                    ])
        if after:
            domain.append(('id', '>', after))
        return domain

    def registrants(self, registrant_type, filters=None, limit=None,
            after=None):
        "Ids of registrants of a type visible to the client, keyset paged."
        filters = filters or {}
        domain = self.registrant_domain(registrant_type, filters, after)
        ids = search_ids(self.Party, domain, limit)
        if not ids and filters.get('id'):
            # An unknown ID type is the caller's mistake, not "no match";
            # checked only when nothing matched, to spare lookups a query.
            self.id_type(filters['id'].split('|', 1)[0], 'id')
        return ids

    def handle_domain(self, handle, registrant_type):
        "Domain of the visible registrants of a handle (code or type|value)."
        if '|' in handle:
            return self.registrant_domain(registrant_type, {'id': handle})
        return [('registrant_type', '=', registrant_type),
            ('code', '=', handle)] + self.area_domain()

    def resolve(self, handle, registrant_type, what):
        "The visible registrant of a handle (code or type|value), or 404."
        found = search_ids(self.Party,
            self.handle_domain(handle, registrant_type), 2)
        if len(found) != 1:
            raise not_found(what)
        return self.Party(found[0])

    def individual_of(self, handle):
        """The visible individual of a handle as an API dict, or 404: the
        search (with the acting user's record rules) and the read in one
        query, as a lookup is the API's most frequent call."""
        query = self.Party.search(self.handle_domain(handle, 'individual'),
            limit=2, order=[('id', 'ASC')], query=True)
        party = self.Party.__table__()
        rows = self.individual_rows(party, party.id.in_(query))
        if len(rows) != 1:
            raise not_found("individual")
        return self.individual_dicts(list(rows.values()))[0]

    # -- serialisation ---------------------------------------------------
    def identifiers_of(self, party_ids):
        result = {i: [] for i in party_ids}
        table = self.Identifier.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(list(party_ids), 1000):
            cursor.execute(*table.select(
                    table.party, table.type, table.code,
                    where=reduce_ids(table.party, sub_ids)
                    & (table.active == Literal(True)),
                    order_by=[table.id.asc]))
            for party, type_, code in cursor:
                result[party].append({'type': type_, 'value': code})
        return result

    def individuals(self, parties):
        """Individuals as API dicts, in the order given, read with SQL (the
        ORM's per-row dict building dominates a 200-row page otherwise)."""
        ids = [getattr(p, 'id', p) for p in parties]
        if not ids:
            return []
        party = self.Party.__table__()
        rows = {}
        for sub_ids in grouped_slice(ids, 1000):
            rows.update(self.individual_rows(party,
                    reduce_ids(party.id, sub_ids)))
        return self.individual_dicts([rows[i] for i in ids])

    INDIVIDUAL_COLUMNS = ['registrant_type', 'code', 'name', 'family_name',
        'given_name', 'additional_name', 'birth_date', 'civil_status',
        'occupation', 'disability', 'registration_date', 'disabled',
        'create_date', 'write_date']

    def individual_rows(self, party, where):
        """{id: row} of the individuals matching `where` (on the table
        `party`), with their area and gender codes and active IDs: one
        query, the IDs joined (one row per ID)."""
        pool = Pool()
        area = self.Area.__table__()
        gender = pool.get('spp.gender').__table__()
        identifier = self.Identifier.__table__()
        columns = self.INDIVIDUAL_COLUMNS
        cursor = Transaction().connection.cursor()
        cursor.execute(*party
            .join(area, 'LEFT', condition=area.id == party.area)
            .join(gender, 'LEFT', condition=gender.id == party.gender)
            .join(identifier, 'LEFT',
                condition=(identifier.party == party.id)
                & (identifier.active == Literal(True)))
            .select(party.id, area.code, gender.code, identifier.type,
                identifier.code, *[Column(party, c) for c in columns],
                where=where,
                order_by=[party.id.asc, identifier.id.asc]))
        rows = {}
        for id_, area_code, gender_code, id_type, id_code, *values in cursor:
            row = rows.get(id_)
            if row is None:
                row = rows[id_] = dict(zip(columns, values), id=id_,
                    area=area_code, gender=gender_code, identifiers=[])
            if id_type is not None:
                row['identifiers'].append({'type': id_type, 'value': id_code})
        return rows

    def individual_dicts(self, rows):
        "API dicts of rows of `individual_rows()`."
        self.serve('party.party', [r['id'] for r in rows])
        custom = (read_custom([r['id'] for r in rows])
            if has_custom_fields() else None)
        result = []
        for r in rows:
            result.append({
                    'code': r['code'],
                    'name': r['name'] or '',
                    'family_name': r['family_name'],
                    'given_name': r['given_name'],
                    'additional_name': r['additional_name'],
                    'birth_date': _iso(r['birth_date']),
                    'gender': r['gender'],
                    'civil_status': r['civil_status'],
                    'occupation': r['occupation'],
                    'disability': bool(r['disability']),
                    'area': r['area'],
                    'registration_date': _iso(r['registration_date']),
                    'disabled': bool(r['disabled']),
                    'identifiers': r['identifiers'],
                    'modified': _iso(r['write_date'] or r['create_date'],
                        datetime=True),
                    })
            if custom is not None:
                result[-1]['custom_fields'] = custom[r['id']]
        self.Client.shape_records(self.client, 'individual', result)
        return result

    def groups(self, parties, member_ids=False):
        """Groups as API dicts, in the order given, with their members:
        read with SQL (membership_rows.py). With `member_ids`, each
        member keeps its party id as `_individual`."""
        ids = [getattr(p, 'id', p) for p in parties]
        if not ids:
            return []
        rows = group_rows(ids)
        identifiers = self.identifiers_of(ids)
        members = {i: [] for i in ids}
        for membership in self.memberships([('group', 'in', ids)]):
            members[membership.pop('_group')].append(membership)
        # Their members' names and codes are in the answer too.
        self.serve('party.party', ids + [m['_individual']
                for group in members.values() for m in group])
        keys = ('individual', 'name', 'roles', 'start_date', 'end_date')
        if member_ids:
            keys += ('_individual',)
        custom = read_custom(ids) if has_custom_fields() else None
        result = [{
                'code': r['code'],
                'name': r['name'] or '',
                'kind': r['kind'],
                'area': r['area'],
                'member_count': r['member_count'] or 0,
                'child_count': r['child_count'] or 0,
                'elderly_count': r['elderly_count'] or 0,
                'disabled': bool(r['disabled']),
                'identifiers': identifiers[r['id']],
                'members': [{k: m[k] for k in keys}
                    for m in members[r['id']]],
                'modified': _iso(r['write_date'] or r['create_date'],
                    datetime=True),
                } for r in rows]
        if custom is not None:
            for row, r in zip(result, rows):
                row['custom_fields'] = custom[r['id']]
        self.Client.shape_records(self.client, 'group', result)
        return result

    def memberships(self, domain, limit=None, after=None):
        """Memberships as dicts (with the private keys _id, _group and
        _individual): found by the ORM's search (record rules), read with
        SQL."""
        if after:
            domain = domain + [('id', '>', after)]
        query = self.Membership.search(domain, limit=limit,
            order=[('id', 'ASC')], query=True)
        rows = membership_rows(query)
        for row in rows:
            row['start_date'] = _iso(row['start_date'])
            row['end_date'] = _iso(row['end_date'])
        return rows


def search_ids(Model, domain, limit=None):
    "Ids matching domain in id order, without the ORM filling its cache."
    query = Model.search(domain, limit=limit, order=[('id', 'ASC')],
        query=True)
    cursor = Transaction().connection.cursor()
    cursor.execute(*query)
    return [id_ for id_, in cursor]


def page(records, limit, serialise, last_id=None):
    "The list body: data and the cursor of the next page (or null)."
    more = len(records) > limit
    records = records[:limit]
    next_cursor = None
    if more and records:
        next_cursor = encode_cursor(
            last_id(records[-1]) if last_id else getattr(
                records[-1], 'id', records[-1]))
    return {'data': serialise(records), 'next_cursor': next_cursor}


def page_args(query):
    limit = query.get('limit', DEFAULT_PAGE_SIZE)
    after = decode_cursor(query['cursor']) if query.get('cursor') else None
    return limit, after
