"""Memberships and groups read with SQL for the API's answers (handlers.py,
dci_record.py): a page of groups with their members is a handful of
queries, not ORM records per group and member.

The rows are found by the ORM (`search(domain, query=True)`, with the
acting user's record rules as the ORM applies them); when the call checks
access, the parties named are also read through the ORM once, so that its
access and record-rule checks answer as they did."""
from sql import Column, Null

from trytond.pool import Pool
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

GROUP_COLUMNS = ['code', 'name', 'member_count', 'child_count',
    'elderly_count', 'disabled', 'create_date', 'write_date']


def check_read(Model, ids, names):
    "The ORM's read checks of `ids` when the call checks access."
    if ids and Transaction().check_access:
        Model.read(list(ids), names)


def group_rows(ids):
    """Rows (dicts) of the groups `ids`, in that order, with their kind
    and area codes."""
    pool = Pool()
    Party = pool.get('party.party')
    check_read(Party, set(ids), ['group_kind', 'area', *GROUP_COLUMNS])
    party = Party.__table__()
    area = pool.get('spp.area').__table__()
    kind = pool.get('spp.group.kind').__table__()
    cursor = Transaction().connection.cursor()
    rows = {}
    for sub_ids in grouped_slice(list(set(ids)), 1000):
        cursor.execute(*party
            .join(area, 'LEFT', condition=area.id == party.area)
            .join(kind, 'LEFT', condition=kind.id == party.group_kind)
            .select(party.id, kind.code, area.code,
                *[Column(party, c) for c in GROUP_COLUMNS],
                where=reduce_ids(party.id, sub_ids)))
        for id_, kind_code, area_code, *values in cursor:
            rows[id_] = dict(zip(GROUP_COLUMNS, values), id=id_,
                kind=kind_code, area=area_code)
    return [rows[i] for i in ids]


def role_codes():
    """{role id: (rank, code)}: the order in which a membership's roles
    are listed (the ORM's order of the Many2Many, by role)."""
    Role = Pool().get('spp.group.membership.role')
    with Transaction().set_context(active_test=False):
        roles = Role.search([], order=[('name', 'ASC'), ('id', 'ASC')])
        return {r.id: (rank, r.code) for rank, r in enumerate(roles)}


def membership_rows(query):
    """Rows (dicts, with the private keys _id, _group and _individual) of
    the memberships selected by `query` (an ORM search query), in id
    order, with their group's code, their member's code and name and
    their roles' codes."""
    pool = Pool()
    Party = pool.get('party.party')
    Membership = pool.get('spp.group.membership')
    MembershipRole = pool.get('spp.group.membership-role')
    membership = Membership.__table__()
    group = Party.__table__()
    individual = Party.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*membership
        .join(group, condition=group.id == membership.group)
        .join(individual, condition=individual.id == membership.individual)
        .select(membership.id, membership.group, membership.individual,
            group.code, individual.code, individual.name,
            membership.start_date, membership.end_date,
            where=membership.id.in_(query),
            order_by=[membership.id.asc]))
    rows = cursor.fetchall()
    check_read(Party, {r[1] for r in rows} | {r[2] for r in rows},
        ['code', 'name'])
    roles = {r[0]: [] for r in rows}
    if roles:
        ranks = role_codes()
        relation = MembershipRole.__table__()
        for sub_ids in grouped_slice(list(roles), 1000):
            sub_ids = list(sub_ids)
            visible = MembershipRole.search([
                    ('membership', 'in', sub_ids),
                    ('role', '!=', None),
                    ], order=[], query=True)
            cursor.execute(*relation.select(relation.membership,
                    relation.role,
                    where=reduce_ids(relation.membership, sub_ids)
                    & (relation.role != Null)
                    & relation.id.in_(visible)))
            for membership_id, role in cursor:
                roles[membership_id].append(ranks[role])
    return [{
            '_id': id_,
            '_group': group_id,
            '_individual': individual_id,
            'group': group_code,
            'individual': individual_code,
            'name': name or '',
            'roles': [code for _, code in sorted(roles[id_])],
            'start_date': start_date,
            'end_date': end_date,
            } for (id_, group_id, individual_id, group_code,
            individual_code, name, start_date, end_date) in rows]
