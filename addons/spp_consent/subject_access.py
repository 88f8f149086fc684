"""Subject access: the Personal Data Report of one registrant.

Everything the registry holds about them: their registry fields, their
households (or members), ID documents, contacts and addresses, and, for
the addons installed, their programs, entitlements, payments, grievances,
change requests and consents, and who read or changed their record (the
audit trail). It is read as the requesting user: the record rules apply,
so a caseworker of another area cannot get the report of a registrant
they cannot see, and a section of records the user may not read is named
as withheld rather than left out silently.

The report is a printable document (HTML) and a JSON file; the wizard on
the registrant's form offers both, and a correction through a change
request when spp_change_request is installed."""
import datetime as dt
import json
from decimal import Decimal

from sql.operators import Like

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.report import Report
from trytond.transaction import (
    Transaction, check_access, inactive_records, without_check_access)
from trytond.wizard import (
    Button, StateAction, StateReport, StateView, Wizard)

# Never part of what the registry holds about a person: the ORM's own
# bookkeeping, and keys derived for sorting and matching.
BOOKKEEPING = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date',
    'rec_name', 'code_alnum', 'code_digit', 'name_key', 'code_compact',
    'unique_code', 'slot', 'item_key'}
# (section, model, domain on the registrant id, fields left out: the
# link back to the registrant). Sections of models not installed are
# left out.
SECTIONS = [
    ('households', 'spp.group.membership',
        lambda i: [('individual', '=', i)], {'individual'}),
    ('members', 'spp.group.membership',
        lambda i: [('group', '=', i)], {'group'}),
    ('identifiers', 'party.identifier',
        lambda i: [('party', '=', i)], {'party'}),
    ('contact_mechanisms', 'party.contact_mechanism',
        lambda i: [('party', '=', i)], {'party'}),
    ('addresses', 'party.address',
        lambda i: [('party', '=', i)], {'party'}),
    ('relationships', 'spp.relationship',
        lambda i: ['OR', ('source', '=', i), ('destination', '=', i)],
        set()),
    ('programs', 'spp.program.membership',
        lambda i: [('registrant', '=', i)], {'registrant'}),
    ('entitlements', 'spp.entitlement',
        lambda i: [('registrant', '=', i)], {'registrant'}),
    ('payments', 'spp.payment',
        lambda i: ['OR', ('registrant', '=', i), ('payee', '=', i)], set()),
    ('grievances', 'spp.grievance',
        lambda i: ['OR', ('registrant', '=', i), ('complainant', '=', i)],
        set()),
    ('change_requests', 'spp.change_request',
        lambda i: [('registrant', '=', i)], {'registrant'}),
    ('consents', 'spp.consent',
        lambda i: [('registrant', '=', i)], {'registrant'}),
    ]
TITLES = {
    'registrant': "Registry Record",
    'households': "Households",
    'members': "Members",
    'identifiers': "ID Documents",
    'contact_mechanisms': "Phones and Emails",
    'addresses': "Addresses",
    'relationships': "Relationships",
    'programs': "Programs",
    'entitlements': "Entitlements",
    'payments': "Payments",
    'grievances': "Grievances",
    'change_requests': "Change Requests",
    'consents': "Consents",
    'access_log': "Who Read or Changed the Record",
    }
# The audit trail of the registrant's own records.
AUDITED_SECTIONS = {
    'identifiers': 'party.identifier',
    'contact_mechanisms': 'party.contact_mechanism',
    'addresses': 'party.address',
    }


def model_in_pool(name):
    try:
        return Pool().get(name)
    except KeyError:
        return None


def readable_fields(Model, exclude=()):
    """The stored fields of `Model` the user may read; binaries left out
    (their name fields say what is held)."""
    FieldAccess = Pool().get('ir.model.field.access')
    access = FieldAccess.get_access([Model.__name__])[Model.__name__]
    names = []
    for name, field in sorted(Model._fields.items()):
        if (name in BOOKKEEPING or name in exclude
                or isinstance(field, fields.Function)
                or field._type in {'one2many', 'binary'}
                or not access.get(name, {}).get('read', True)):
            continue
        names.append(name)
    return names


def record_names(model, ids):
    """{id: record name} of records of `model` that records the user
    read refer to: registrants as the user may see them (another one
    shows by its id), anything else (programs, items, ID types...) by its
    name whatever the user's groups, as their forms show it."""
    Target = Pool().get(model)
    ids = list(ids)
    if model == 'party.party':
        with check_access(), inactive_records():
            rows = Target.search_read([('id', 'in', ids)],
                fields_names=['rec_name'])
    else:
        with without_check_access(), inactive_records():
            rows = Target.read(ids, ['rec_name'])
    names = {r['id']: r['rec_name'] for r in rows}
    return {i: names.get(i, f'#{i}') for i in ids}


def name_relations(Model, rows, names):
    "Replace the ids of the relations of `rows` by their record names."
    wanted = {}
    for name in names:
        field = Model._fields[name]
        if field._type in {'many2one', 'many2many'}:
            target = field.get_target().__name__
            for row in rows:
                value = row.get(name)
                ids = value if isinstance(value, (list, tuple)) else [value]
                wanted.setdefault(target, set()).update(
                    i for i in ids if i is not None)
    found = {model: record_names(model, ids) for model, ids in wanted.items()
        if ids}
    for name in names:
        field = Model._fields[name]
        if field._type not in {'many2one', 'many2many'}:
            continue
        target = found.get(field.get_target().__name__, {})
        for row in rows:
            value = row.get(name)
            if isinstance(value, (list, tuple)):
                row[name] = [target.get(i, f'#{i}') for i in value]
            elif value is not None:
                row[name] = target.get(value, f'#{value}')


def plain(value):
    "A value read as JSON holds it."
    if isinstance(value, dict):
        if set(value) <= {'id', 'rec_name'}:
            return value.get('rec_name')
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def plain_row(Model, row, names):
    "A read row by field name, in the order of `names`."
    result = {}
    for name in names:
        value = row.get(name)
        if Model._fields[name]._type == 'boolean' and value is not None:
            value = bool(value)
        result[name] = plain(value)
    return result


def read_section(Model, domain, exclude):
    "The rows of `Model` matching `domain`, read as the user."
    names = readable_fields(Model, exclude)
    with inactive_records():
        rows = Model.search_read(domain, order=[('id', 'ASC')],
            fields_names=['id'] + names)
    name_relations(Model, rows, names)
    return [{'id': r['id'], **plain_row(Model, r, names)} for r in rows]


def access_log(registrant_id, data):
    """The audit entries about the registrant's record and its ID
    documents, contacts and addresses: when, who, what. The requesting
    user could read the registrant: the trail of that record is theirs
    to see whatever their audit groups."""
    Log = model_in_pool('spp.audit.log')
    if Log is None:
        return None
    table = Log.__table__()
    User = Pool().get('res.user')
    where = (table.model == 'party.party') & (
        (table.record_id == registrant_id)
        | Like(table.records, f'%,{registrant_id},%'))
    for section, model in AUDITED_SECTIONS.items():
        ids = [r['id'] for r in data.get(section) or []]
        if ids:
            where |= (table.model == model) & table.record_id.in_(ids)
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.timestamp, table.user,
            table.channel, table.model, table.record_id, table.action,
            table.count, where=where,
            order_by=[table.timestamp.asc, table.id.asc]))
    rows = cursor.fetchall()
    with without_check_access():
        names = {u.id: u.rec_name for u in User.browse(
                    {r[1] for r in rows if r[1]})}
    return [{
            'timestamp': plain(timestamp),
            'user': names.get(user, "System") if user else "System",
            'channel': channel,
            'model': model,
            'record': record_id,
            'action': action,
            'count': count,
            } for timestamp, user, channel, model, record_id, action, count
        in rows]


def personal_data(registrant_id):
    """Everything held about the registrant of `registrant_id`, read as
    the current user, as a dict of sections: `registrant` (the registry
    fields), a list of records for each other section of the addons
    installed, `access_log` with the audit addon, and `withheld`: the
    sections the user may not read. Raise AccessError when the user may
    not read the registrant."""
    pool = Pool()
    Party = pool.get('party.party')
    ModelAccess = pool.get('ir.model.access')
    User = pool.get('res.user')
    transaction = Transaction()
    with check_access(), inactive_records():
        # The record rules of the user decide, whatever the caller's
        # context: a registrant of another area reads as missing.
        names = readable_fields(Party, {'change_request'})
        rows = Party.read([registrant_id], ['id', 'registrant_type'] + names)
        if not rows or not rows[0].get('registrant_type'):
            raise AccessError(gettext(
                    'spp_consent.msg_subject_access_not_registrant'))
        name_relations(Party, rows, names)
        data = {
            'generated_on': dt.datetime.now().replace(
                microsecond=0).isoformat(),
            'generated_by': User(transaction.user).rec_name
            if transaction.user else "System",
            'registrant': plain_row(Party, rows[0], names),
            'withheld': [],
            }
        registrant_type = rows[0]['registrant_type']
        for section, model, domain, exclude in SECTIONS:
            if (section == 'households' and registrant_type != 'individual'
                    or section == 'members' and registrant_type != 'group'):
                continue
            Model = model_in_pool(model)
            if Model is None:
                continue
            if not ModelAccess.check(model, 'read', raise_exception=False):
                data['withheld'].append(section)
                continue
            try:
                data[section] = read_section(
                    Model, domain(registrant_id), exclude)
            except AccessError:
                # A related record the user may not read (a program of
                # another unit, a sensitive complaint): named, not hidden.
                data['withheld'].append(section)
    log = access_log(registrant_id, data)
    if log is not None:
        data['access_log'] = log
    return data


def report_data(registrant_id, format):
    "The report's data, and the report recorded as done by the user."
    data = personal_data(registrant_id)
    Pool().get('party.party').subject_access_reported(registrant_id, format)
    return data


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def personal_data(cls, registrant_id):
        "The Personal Data Report of a registrant as a dict (see module)."
        return personal_data(registrant_id)

    @classmethod
    def subject_access_reported(cls, registrant_id, format):
        """Called once the report of a registrant was made.

        An extension point: the audit trail records it here."""


class SubjectAccessReport(Report):
    "Personal Data Report"
    __name__ = 'spp.consent.subject_access'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['reports'] = [report_data(int(r), 'html') for r in records]
        context['titles'] = TITLES
        context['columns'] = columns
        context['show'] = show
        return context


def columns(rows):
    "The column names of a section's rows, in their first row's order."
    names = []
    for row in rows:
        for name in row:
            if name != 'id' and name not in names:
                names.append(name)
    return names


def show(value):
    "A value as the printed report shows it."
    if value is None or value == [] or value == '':
        return ''
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ', '.join(show(v) for v in value)
    if isinstance(value, dict):
        return '; '.join(f'{k}: {show(v)}' for k, v in value.items())
    return str(value)


class SubjectAccessJSON(Report):
    "Personal Data Report (JSON)"
    __name__ = 'spp.consent.subject_access.json'

    @classmethod
    def _execute(cls, records, header, data, action):
        reports = [report_data(int(r), 'json') for r in records]
        content = json.dumps(reports[0] if len(reports) == 1 else reports,
            ensure_ascii=False, indent=2, sort_keys=True, default=str)
        return 'json', content.encode('utf-8')


class StateChangeRequest(StateAction):
    "The New Change Request wizard, when spp_change_request is installed."

    def __init__(self):
        super().__init__('spp_change_request.wizard_new')

    def get_action(self):
        if model_in_pool('spp.change_request') is None:
            return None
        return super().get_action()


class PersonalDataStart(ModelView):
    "Personal Data Report"
    __string__ = "Personal Data Report"
    __name__ = 'spp.consent.personal_data.start'
    registrant = fields.Many2One('party.party', "Registrant", readonly=True)
    summary = fields.Text("Held", readonly=True,
        help="The sections of the report and how many records each holds.")
    can_request_change = fields.Boolean("Can Request a Change",
        readonly=True)


class PersonalData(Wizard):
    "Personal Data Report"
    __string__ = "Personal Data Report"
    __name__ = 'spp.consent.personal_data'
    start = StateView('spp.consent.personal_data.start',
        'spp_consent.personal_data_start_view_form', [
            Button("Close", 'end', 'tryton-close'),
            Button("Download JSON", 'json_', 'tryton-save'),
            Button("Request Correction", 'correct', 'tryton-forward',
                states={'invisible': ~Eval('can_request_change', False)}),
            Button("Print", 'print_', 'tryton-print', default=True),
            ])
    print_ = StateReport('spp.consent.subject_access')
    json_ = StateReport('spp.consent.subject_access.json')
    # Shown only with spp_change_request, whose wizard it opens.
    correct = StateChangeRequest()

    def default_start(self, fields):
        data = personal_data(self.record.id)
        lines = []
        for section, title in TITLES.items():
            if section == 'registrant':
                continue
            if isinstance(data.get(section), list):
                lines.append(f'{title}: {len(data[section])}')
        for section in data['withheld']:
            lines.append(f'{TITLES.get(section, section)}: withheld')
        return {
            'registrant': self.record.id,
            'summary': '\n'.join(lines),
            'can_request_change': can_request_change(),
            }

    def _records(self):
        return {'model': 'party.party', 'id': self.record.id,
            'ids': [self.record.id]}

    def do_print_(self, action):
        return action, self._records()

    def do_json_(self, action):
        return action, self._records()

    def do_correct(self, action):
        "The New Change Request wizard, for the registrant."
        if action:
            return action, self._records()


def can_request_change():
    "Whether change requests are installed and the user may open one."
    pool = Pool()
    if model_in_pool('spp.change_request') is None:
        return False
    ModelAccess = pool.get('ir.model.access')
    return ModelAccess.check('spp.change_request', 'create',
        raise_exception=False)

