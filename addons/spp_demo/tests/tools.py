"Snapshots of what households leave in the database, comparable across runs."
from trytond.transaction import Transaction

# Table -> column holding the party id it hangs from (None: party itself).
TABLES = {
    'party_party': 'id',
    'party_party__history': 'id',
    'party_identifier': 'party',
    'party_identifier__history': 'party',
    'party_contact_mechanism': 'party',
    'spp_group_membership': 'group',
    'spp_group_membership__history': 'group',
    }
# Never compared: row ids; timestamps and the party code (which comes from a
# sequence) are compared on whether they are set only.
VOLATILE = {'id', '__id'}
TIMESTAMPS = {'create_date', 'write_date', 'code', 'code_alnum', 'code_digit'}
PARTY_REFERENCES = {'party', 'group', 'individual'}


def table_counts():
    "Rows of every table of the database."
    from trytond import backend
    cursor = Transaction().connection.cursor()
    if backend.name == 'sqlite':
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        cursor.execute("SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema()")
    counts = {}
    for table in sorted(r[0] for r in cursor.fetchall()):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def snapshot(party_ids):
    """{table: sorted rows} for the parties, with party ids replaced by
    their rank (creation order) and membership ids likewise."""
    cursor = Transaction().connection.cursor()
    party_rank = {p: i for i, p in enumerate(sorted(party_ids))}
    ids = ','.join(map(str, party_rank)) or '0'
    result = {}
    membership_rank = {}
    for table, column in TABLES.items():
        cursor.execute(f'SELECT * FROM "{table}" WHERE "{column}" IN ({ids})'
            f' ORDER BY {"__id" if table.endswith("__history") else "id"}')
        names = [d[0] for d in cursor.description]
        rows = []
        for row in cursor:
            values = dict(zip(names, row))
            if table == 'spp_group_membership':
                membership_rank[values['id']] = len(membership_rank)
            rows.append(_normalise(values, party_rank, table))
        result[table] = sorted(rows, key=repr)
    if membership_rank:
        cursor.execute('SELECT membership, role, create_uid, write_uid, '
            'write_date FROM "spp_group_membership-role" WHERE membership IN '
            f'({",".join(map(str, membership_rank))})')
        result['spp_group_membership-role'] = sorted(
            (membership_rank[m], r, c, w, d is None)
            for m, r, c, w, d in cursor)
    return result


def _normalise(values, party_rank, table):
    row = {}
    for name, value in values.items():
        if name in TIMESTAMPS and not (
                name == 'code' and table.startswith('party_identifier')):
            row[name] = value is not None
        elif name in VOLATILE and not (
                name == 'id' and table == 'party_party__history'):
            # A history row names its record by id: only parties' ids are
            # comparable (by rank); the others hang from their party.
            continue
        elif name in PARTY_REFERENCES or (
                name == 'id' and table == 'party_party__history'):
            row[name] = party_rank.get(value, value)
        elif hasattr(value, 'isoformat'):
            row[name] = value.isoformat()
        else:
            row[name] = value
        if isinstance(row.get(name), int) and name in {
                'active', 'disability', 'birth_date_approximate',
                'female_head', 'multiple_groups'}:
            row[name] = bool(row[name])
    return tuple(sorted(row.items()))
