"""The registrant fields an edit request may change: how each is read,
checked, shown and written.

A field is a key of the request's proposed values (a Dict). Each key has a
spec: its label, Dict type, the registrants it applies to, and where it
lives: a column of party.party (`party`), a coded link of party.party
(`coded`: the gender by its code), the registrant's first phone number
(`phone`), or, with spp_custom_field, a custom value (`custom`)."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from sql import Column, Literal

from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

PHONE_TYPES = ('phone', 'mobile')


class ProposedValueError(ValidationError):
    pass


def party_specs():
    "The specs of the registry's own fields."
    pool = Pool()
    Party = pool.get('party.party')
    Gender = pool.get('spp.gender')
    ContactMechanism = pool.get('party.contact_mechanism')

    def field(name, type_, target, **extra):
        return {'string': Party._fields[name].string, 'type': type_,
            'target': target, 'source': 'party', 'column': name, **extra}
    genders = Gender.search([], order=[('code', 'ASC')])
    civil = [(k, v) for k, v in Party.civil_status.selection if k]
    specs = {
        'family_name': field('family_name', 'char', 'individual'),
        'given_name': field('given_name', 'char', 'individual'),
        'additional_name': field('additional_name', 'char', 'individual'),
        'birth_date': field('birth_date', 'date', 'individual'),
        'birth_date_approximate': field(
            'birth_date_approximate', 'boolean', 'individual'),
        'gender': field('gender', 'selection', 'individual',
            source='coded', model='spp.gender',
            selection='\n'.join(f'{g.code}:{g.name}' for g in genders)),
        'civil_status': field('civil_status', 'selection', 'individual',
            selection='\n'.join(f'{k}:{v}' for k, v in civil)),
        'occupation': field('occupation', 'char', 'individual'),
        'income': field('income', 'numeric', 'individual', digits=2),
        'disability': field('disability', 'boolean', 'individual'),
        'name': field('name', 'char', 'group'),
        'phone': {'string': dict(ContactMechanism.type.selection).get(
                'phone', "Phone"), 'type': 'char', 'target': 'both',
            'source': 'phone'},
        }
    return specs


def selection_keys(spec):
    return [line.split(':', 1)[0]
        for line in (spec.get('selection') or '').splitlines() if line]


def coerce(key, spec, value):
    """The value of `key` as the registry stores it, from what a client
    sent (sao sends typed values, JSON text and numbers); a clear error
    when it cannot be one."""
    if value is None or value == '':
        return None
    type_ = spec['type']

    def refuse():
        raise ProposedValueError(gettext(
                'spp_change_request.msg_proposed_value_type',
                field=spec['string'], value=str(value)[:60],
                type=type_))
    if type_ == 'char':
        if not isinstance(value, str):
            refuse()
        return value.strip() or None
    if type_ == 'boolean':
        if not isinstance(value, bool):
            refuse()
        return value
    if type_ == 'integer':
        if isinstance(value, bool) or not isinstance(value, int):
            refuse()
        return value
    if type_ == 'numeric':
        if isinstance(value, bool):
            refuse()
        try:
            return Decimal(str(value))
        except InvalidOperation:
            refuse()
    if type_ == 'date':
        if isinstance(value, dt.datetime):
            refuse()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            refuse()
    if type_ == 'selection':
        if value not in selection_keys(spec):
            raise ProposedValueError(gettext(
                    'spp_change_request.msg_proposed_value_option',
                    field=spec['string'], value=str(value)[:60],
                    options=', '.join(selection_keys(spec))))
        return value
    refuse()


def display(spec, value):
    "A value as the preview shows it."
    if value is None or value == '':
        return ''
    if spec['type'] == 'boolean':
        return gettext('ir.msg_dict_yes') if value else gettext(
            'ir.msg_dict_no')
    if spec['type'] == 'selection':
        labels = dict(line.split(':', 1)
            for line in (spec.get('selection') or '').splitlines()
            if ':' in line)
        return labels.get(value, str(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_current(parties, specs):
    """{party id: {key: value}} of the registrants now, in a few queries
    for the whole batch, coded links as codes."""
    pool = Pool()
    Party = pool.get('party.party')
    ContactMechanism = pool.get('party.contact_mechanism')
    ids = [p.id for p in parties]
    result = {i: {} for i in ids}
    columns = {s['column'] for s in specs.values()
        if s['source'] in {'party', 'coded'}}
    custom = [k for k, s in specs.items() if s['source'] == 'custom']
    if custom:
        columns.add('custom_values')
    rows = {r['id']: r for r in Party.read(ids, sorted(columns))} \
        if columns else {}
    codes = {}
    for key, spec in specs.items():
        if spec['source'] == 'coded':
            Target = pool.get(spec['model'])
            targets = {r[spec['column']] for r in rows.values()
                if r[spec['column']] is not None}
            codes[key] = {t.id: t.code for t in Target.browse(targets)}
    phones = {}
    if any(s['source'] == 'phone' for s in specs.values()):
        for mechanism in ContactMechanism.search([
                    ('party', 'in', ids), ('type', 'in', PHONE_TYPES)],
                order=[('sequence', 'DESC'), ('id', 'DESC')]):
            # Ordered so that the first one is written last.
            phones[mechanism.party.id] = mechanism.value
    for party_id in ids:
        row = rows.get(party_id, {})
        for key, spec in specs.items():
            source = spec['source']
            if source == 'party':
                value = row.get(spec['column'])
            elif source == 'coded':
                value = codes[key].get(row.get(spec['column']))
            elif source == 'phone':
                value = phones.get(party_id)
            else:
                value = (row.get('custom_values') or {}).get(spec['name'])
            result[party_id][key] = value
    return result


def write_proposed(changes):
    """Write proposed values: changes is [(party, {key: value}, request)];
    one call of the registry's write for all the registrants, so that its
    rules, history and audit apply as to any edit."""
    pool = Pool()
    Party = pool.get('party.party')
    ContactMechanism = pool.get('party.contact_mechanism')
    ChangeRequest = pool.get('spp.change_request')
    specs = ChangeRequest.editable_fields()
    args, phones = [], []
    custom_parties = [p for p, values, _ in changes
        if any(specs[k]['source'] == 'custom' for k in values)]
    stored_custom = {p.id: dict(p.custom_values or {})
        for p in custom_parties}
    for party, values, request in changes:
        party_values = {'change_request': request.id}
        custom = {}
        for key, value in values.items():
            spec = specs[key]
            if spec['source'] == 'party':
                party_values[spec['column']] = value
            elif spec['source'] == 'coded':
                Target = pool.get(spec['model'])
                targets = Target.search([('code', '=', value)], limit=1) \
                    if value else []
                party_values[spec['column']] = (
                    targets[0].id if targets else None)
            elif spec['source'] == 'phone':
                phones.append((party, value))
            else:
                custom[spec['name']] = value
        if custom:
            merged = {**stored_custom[party.id], **custom}
            party_values['custom_values'] = {
                k: v for k, v in merged.items() if v is not None} or None
        args.extend(([party], party_values))
    if args:
        Party.write(*args)
    if phones:
        write_phones(ContactMechanism, phones)


def write_phones(ContactMechanism, phones):
    "Set the first phone of each registrant (created when it has none)."
    existing = {}
    for mechanism in ContactMechanism.search([
                ('party', 'in', [p.id for p, _ in phones]),
                ('type', 'in', PHONE_TYPES)],
            order=[('sequence', 'DESC'), ('id', 'DESC')]):
        existing[mechanism.party.id] = mechanism
    to_write, to_create, to_delete = [], [], []
    for party, value in phones:
        mechanism = existing.get(party.id)
        if mechanism and value:
            to_write.extend(([mechanism], {'value': value}))
        elif mechanism:
            to_delete.append(mechanism)
        elif value:
            to_create.append(
                {'party': party.id, 'type': 'phone', 'value': value})
    if to_write:
        ContactMechanism.write(*to_write)
    if to_create:
        ContactMechanism.create(to_create)
    if to_delete:
        ContactMechanism.delete(to_delete)


# -- the set-based path ---------------------------------------------------

def set_based(specs, values):
    "Whether proposed values are all columns of party.party."
    return all(specs[k]['source'] in {'party', 'coded'} for k in values)


def update_columns(changes):
    """Apply edits of party.party columns in SQL, for batches: changes is
    [(party, {key: value}, request)] whose keys are all columns (see
    `set_based`). What the registry's write does for such an edit is done
    once per batch instead of once per registrant: the same columns (the
    name and its key recomputed from the name parts), one history row per
    registrant, the group indicators of the members whose birth date, sex
    or disability changed, and the ORM's cache forgotten. The proposals
    were checked with the registry's rules at submission and the
    registrants are unchanged since (staleness), which is what the write's
    validation would check again.

    Returns {party id: {column: [old, new]}} (what the audit trail
    records)."""
    from trytond.modules.spp_registry.bulk import invalidate_cache
    from trytond.modules.spp_registry.indicator import INDICATOR_SOURCES
    from trytond.modules.spp_registry.registrant import normalise_name
    pool = Pool()
    Party = pool.get('party.party')
    Membership = pool.get('spp.group.membership')
    ChangeRequest = pool.get('spp.change_request')
    specs = ChangeRequest.editable_fields()
    keys = {k for _, values, _ in changes for k in values}
    name_parts = ['family_name', 'given_name', 'additional_name']
    read_keys = keys | set(name_parts) | {'name'}
    current = read_current([p for p, _, _ in changes],
        {k: specs[k] for k in read_keys})
    codes = {}
    for key in keys:
        if specs[key]['source'] == 'coded':
            Target = pool.get(specs[key]['model'])
            codes[key] = {t.code: t.id for t in Target.search([])}
    user, now = Transaction().user, dt.datetime.now()
    by_columns, edits = {}, {}
    for party, values, request in changes:
        old = current[party.id]
        row = {}
        for key, value in values.items():
            spec = specs[key]
            row[spec['column']] = (codes[key].get(value) if value else None) \
                if spec['source'] == 'coded' else value
        if party.registrant_type == 'individual' and set(values) & set(
                name_parts):
            parts = {n: values.get(n, old.get(n)) for n in name_parts}
            row['name'] = Party.compose_name(**parts)
        if 'name' in row:
            row['name_key'] = normalise_name(row['name'])
        row.update(change_request=request.id, write_uid=user,
            write_date=now)
        columns = tuple(sorted(row))
        by_columns.setdefault(columns, []).append(
            [row[c] for c in columns] + [party.id])
        before = {specs[k]['column']: (codes[k].get(old.get(k))
                if specs[k]['source'] == 'coded' else old.get(k))
            for k in values}
        before['name'] = old.get('name')
        edits[party.id] = {c: [before[c], row[c]] for c in before
            if c in row and before[c] != row[c]}
    table = Party.__table__()
    cursor = Transaction().connection.cursor()
    for columns, rows in by_columns.items():
        query = table.update([Column(table, c) for c in columns],
            [Literal(None) for _ in columns],
            where=table.id == Literal(0))
        sql, _ = tuple(query)
        cursor.executemany(sql, rows)
    ids = [p.id for p, _, _ in changes]
    for sub_ids in grouped_slice(ids):
        Party._insert_history(list(sub_ids))
    invalidate_cache(Party)
    if INDICATOR_SOURCES & {specs[k]['column'] for k in keys}:
        groups = set()
        for sub_ids in grouped_slice(ids):
            groups.update(m.group.id for m in Membership.search([
                        ('individual', 'in', list(sub_ids))]))
        if groups:
            Party.recompute_indicators(groups)
    return edits
