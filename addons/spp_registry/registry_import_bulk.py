"""The bulk write path of the registry import.

Once the rows are validated (registry_import_plan.validate), the households
are written with set-based SQL instead of ORM creates: parties, their
language rows, identifiers, contact mechanisms, memberships and roles go
into the real tables through COPY (PostgreSQL) or batched executemany
INSERTs (SQLite), with their `__history` rows copied by INSERT … SELECT,
then the indicators of the new groups are recomputed by one UPDATE per
indicator.

Each table gets the columns ModelSQL.create would fill: the values the
import gives after the model's own preprocess_values (composed names and
their key, unique codes, group kind…), every other stored field's default
(from default_get, once), create_uid and create_date, and for parties the
codes drawn from the party sequence with the code columns and write stamps
of the compute write that follows the ORM's INSERT. The test
test_import_bulk compares the rows with those of the ORM field by field.

The checks of the ORM that rows cannot pass by construction still run:
model access for creating each model, the record rules on the records
written (a registrar's areas), the unique roles of the groups, and the
database's own constraints. Models with ir.trigger on creation keep the
ORM path (registry_import_write.create_households_orm), which runs
them."""
import time

from trytond.model import fields
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from . import registry_import_write as write
from .bulk import BulkWriter, code_columns

# Fields the ORM never takes from values or defaults.
MAGIC = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}
# A party's first history row is the state right after the ORM's INSERT:
# its code columns and write stamps come with the compute write after it.
PARTY_FIRST_PASS_BLANK = {'write_uid', 'write_date', 'code_alnum',
    'code_digit'}
MODELS = ['party.party', 'party.identifier', 'party.contact_mechanism',
    'spp.group.membership', 'spp.group.membership-role']


def bulk_supported():
    "Whether the bulk path may write (no creation trigger to run)."
    Trigger = Pool().get('ir.trigger')
    with without_check_access():
        return not any(Trigger.get_triggers(m, 'create') for m in MODELS)


class TableRows:
    "The rows ModelSQL.create would insert for a list of values."

    def __init__(self, Model, vlist):
        self.Model = Model
        keys = set().union(*vlist) - MAGIC if vlist else set()
        # Defaults of every field: the ORM fills those a record's values
        # lack, record by record.
        missing = [name for name, field in Model._fields.items()
            if name not in MAGIC
            and not (isinstance(field, fields.Function)
                and not field.setter)]
        with without_check_access():
            defaults = Model._clean_defaults(
                Model.default_get(missing, with_rec_name=False))
        self.defaults = defaults
        self.columns = sorted(name for name in keys | defaults.keys()
            if not hasattr(Model._fields[name], 'set'))
        self.setters = sorted(name for name in keys | defaults.keys()
            if hasattr(Model._fields[name], 'set'))
        self.vlist = vlist

    def rows(self, ids, user, now, written=False):
        "(id, create_uid, create_date, [write stamps], *columns) rows."
        formats = [self.Model._fields[c].sql_format for c in self.columns]
        defaults = self.defaults
        columns = self.columns
        stamps = (user, now, user, now) if written else (user, now)
        for id_, values in zip(ids, self.vlist):
            yield (id_, *stamps, *(
                    format_(values[c] if c in values else defaults.get(c))
                    for c, format_ in zip(columns, formats)))

    def names(self, written=False):
        stamps = ['create_uid', 'create_date']
        if written:
            stamps += ['write_uid', 'write_date']
        return ['id', *stamps, *self.columns]


class ImportWriter(BulkWriter):
    "Write validated households of an import, in bulk."

    def __init__(self, reference):
        super().__init__()
        self.reference = reference
        self.pool = Pool()

    def check_access(self, models_values):
        "Model and field access of the user, as ModelStorage.create checks."
        ModelAccess = self.pool.get('ir.model.access')
        ModelFieldAccess = self.pool.get('ir.model.field.access')
        for name, vlist in models_values:
            ModelAccess.check(name, 'create')
            ModelFieldAccess.check(name, list(set().union(*vlist)), 'write')

    def check_rules(self, Model, ids):
        "Refuse records the user's create rules (their areas) exclude."
        if ids:
            # The very check ModelSQL.create ends with.
            getattr(Model, '_ModelSQL__check_domain_rule')(ids, 'create')

    def write(self, households):
        """Store the households; return the ids of their groups."""
        pool = self.pool
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        ContactMechanism = pool.get('party.contact_mechanism')
        Membership = pool.get('spp.group.membership')
        MembershipRole = pool.get('spp.group.membership-role')
        transaction = Transaction()
        reference = self.reference
        started = time.perf_counter()

        groups = [write.group_values(h, reference) for h in households]
        members = [(i, m, h) for i, h in enumerate(households)
            for m in h.members]
        individuals = [write.individual_values(m, h, reference)
            for _, m, h in members]
        parties = groups + individuals
        identifiers = [{'party': n, 'type': type_, 'code': code}
            for n, (_, m, _) in enumerate(members)
            for _, type_, code in m.identifiers]
        contacts = [{'party': n, **contact}
            for n, (_, m, _) in enumerate(members)
            for contact in m.contacts]
        memberships = [{'group': g, 'individual': n}
            for n, (g, _, _) in enumerate(members)]
        roles = [{'membership': n, 'role': reference.roles[code][0]}
            for n, (_, m, _) in enumerate(members) for code in m.roles]
        self.check_access([
                ('party.party', parties),
                ('party.identifier', identifiers),
                ('party.contact_mechanism', contacts),
                ('spp.group.membership', memberships),
                ('spp.group.membership-role', roles),
                ])
        transaction.counter += 1

        now = self._now()
        user = self.user
        party_ids = list(self._ids('party_party', len(parties)))
        group_ids = party_ids[:len(groups)]
        individual_ids = party_ids[len(groups):]
        for values, code in zip(parties, [
                    *self._party_codes(len(groups), 'group'),
                    *self._party_codes(len(parties) - len(groups))]):
            if code is not None:
                values['code'] = code
        with without_check_access():
            parties = [Party.preprocess_values('create', v) for v in parties]
        self._account('preprocess party.party', 0, started)

        # Parties: the INSERT's values plus those of the compute write
        # (code columns, write stamps) that the ORM makes right after it.
        party_rows = TableRows(Party, parties)
        for values in parties:
            code = values.get('code')
            values['code_alnum'], values['code_digit'] = (
                code_columns(code) if code else (None, None))
        party_rows.columns = sorted(
            {*party_rows.columns, 'code_alnum', 'code_digit'})
        self._insert('party_party', party_rows.names(written=True), None,
            party_rows.rows(party_ids, user, now, written=True))
        history = [(i,) for i in party_ids]
        self._history('party_party', Party, history,
            blank=PARTY_FIRST_PASS_BLANK)
        self._history('party_party', Party, history)
        self._write_party_setters(party_rows, party_ids, user, now)

        for values in identifiers:
            values['party'] = individual_ids[values['party']]
        self._create(Identifier, identifiers, user, now)
        for values in contacts:
            values['party'] = individual_ids[values['party']]
        self._create(ContactMechanism, contacts, user, now)
        for values in memberships:
            values['group'] = group_ids[values['group']]
            values['individual'] = individual_ids[values['individual']]
        membership_ids = self._create(Membership, memberships, user, now)
        for values in roles:
            values['membership'] = membership_ids[values['membership']]
        self._create(MembershipRole, roles, user, now)

        started = time.perf_counter()
        self.check_rules(Party, party_ids)
        Membership.check_unique_roles(set(group_ids))
        self._account('checks', 0, started)

        started = time.perf_counter()
        Party.recompute_indicators(group_ids)
        self._account('recompute_indicators', 0, started)
        for Model in [Party, Identifier, ContactMechanism, Membership,
                MembershipRole]:
            Model._count_cache.set(Model.__name__, None)
        transaction.create_records[Party.__name__].extend(party_ids)
        Party._invalidate_cache()
        return group_ids

    def _write_party_setters(self, party_rows, party_ids, user, now):
        """The rows the ORM's setters write for the parties: only the
        language (a MultiValue) among the fields the import fills."""
        PartyLang = self.pool.get('party.party.lang')
        defaults = party_rows.defaults
        # Other setters would write rows this path does not know about.
        unexpected = {name for name in party_rows.setters
            if name != 'lang' and any(v.get(name, defaults.get(name))
                for v in party_rows.vlist)}
        assert not unexpected, unexpected
        if 'lang' not in party_rows.setters:
            return
        lang_ids = self._ids(PartyLang._table, len(party_ids))
        default = party_rows.defaults.get('lang')
        self._insert(PartyLang._table,
            ['id', 'create_uid', 'create_date', 'party', 'lang'], None, (
                (i, user, now, p, v.get('lang', default))
                for i, p, v in zip(lang_ids, party_ids, party_rows.vlist)))

    def _create(self, Model, vlist, user, now):
        "Insert the records of `vlist` of Model; return their ids."
        if not vlist:
            return []
        started = time.perf_counter()
        with without_check_access():
            vlist = [Model.preprocess_values('create', v) for v in vlist]
        self._account(f'preprocess {Model.__name__}', 0, started)
        rows = TableRows(Model, vlist)
        unexpected = {name for name in rows.setters
            if any(v.get(name, rows.defaults.get(name)) for v in vlist)}
        assert not unexpected, (Model.__name__, unexpected)
        ids = list(self._ids(Model._table, len(vlist)))
        self._insert(Model._table, rows.names(), None,
            rows.rows(ids, user, now))
        self._history(Model._table, Model, [(i,) for i in ids])
        self.check_rules(Model, ids)
        Transaction().create_records[Model.__name__].extend(ids)
        return ids


def write_households(households, reference):
    """Write validated households with set-based SQL; return the ids of
    their groups and the writer (its counts and seconds per table)."""
    writer = ImportWriter(reference)
    return writer.write(households), writer
