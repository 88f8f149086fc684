"""Anonymisation of registrants, in a few statements whatever their
number: their personal fields are cleared or generalised (the birth date
becomes 1 January of its year), in their record and its history; their ID
documents (with their history), phones, emails, addresses, attachments
and notes deleted; the copies other records hold (payees' names, phones
and accounts, complainants' contacts, consents' signed forms, change
requests' values) cleared. The records themselves stay."""
import datetime as dt

from sql import Null
from sql.conditionals import Case
from sql.functions import DateTrunc, Substring
from sql.operators import Concat

from trytond import backend
from trytond.pool import Pool
from trytond.transaction import Transaction

from .consent import forget_records

# What replaces a registrant's name.
LABEL = "Anonymised"
# Registrant fields cleared (those of the installed addons), and dates
# kept as their year only.
CLEARED_FIELDS = ['family_name', 'given_name', 'additional_name',
    'occupation', 'disabled_reason', 'custom_values', 'dci_ref',
    'birth_date_crvs']
GENERALISED_DATES = ['birth_date', 'death_date']


def year_of(column):
    "SQL: 1 January of the year of the date `column`."
    if backend.name == 'sqlite':
        return Concat(Substring(column, 1, 4), '-01-01')
    return DateTrunc('year', column).cast('DATE')


def in_pool(name):
    try:
        Pool().get(name)
    except KeyError:
        return False
    return True


def anonymise(registrants, date):
    """Anonymise the registrants of `registrants` (a query of ids): clear
    or generalise their personal fields and those of their history, delete
    their ID documents, contacts, addresses, attachments and notes, and
    clear the copies other records hold."""
    pool = Pool()
    Party = pool.get('party.party')
    Identifier = pool.get('party.identifier')
    ContactMechanism = pool.get('party.contact_mechanism')
    Address = pool.get('party.address')
    cursor = Transaction().connection.cursor()
    user = Transaction().user
    stamp = dt.datetime.now()

    def values(table, history=False):
        columns = [table.name, table.name_key, table.birth_date_approximate]
        # No name key: the duplicate finder skips them (all would match).
        new = [LABEL, Null,
            Case((table.birth_date != Null, True), else_=False)]
        for name in CLEARED_FIELDS:
            if name in Party._fields:
                columns.append(getattr(table, name))
                new.append(Null)
        for name in GENERALISED_DATES:
            if name in Party._fields:
                columns.append(getattr(table, name))
                new.append(year_of(getattr(table, name)))
        if not history:
            columns += [table.anonymised, table.write_uid, table.write_date]
            new += [date, user, stamp]
        return columns, new

    party = Party.__table__()
    cursor.execute(*party.update(*values(party),
            where=party.id.in_(registrants)))
    history = Party.__table_history__()
    cursor.execute(*history.update(*values(history, history=True),
            where=history.id.in_(registrants)))

    identifier = Identifier.__table__()
    identifiers = identifier.select(identifier.id,
        where=identifier.party.in_(registrants))
    clear_references(registrants, identifiers)
    identifier_history = Identifier.__table_history__()
    cursor.execute(*identifier_history.delete(
            where=identifier_history.id.in_(identifiers)
            | identifier_history.party.in_(registrants)))
    cursor.execute(*identifier.delete(
            where=identifier.party.in_(registrants)))
    contact = ContactMechanism.__table__()
    cursor.execute(*contact.delete(where=contact.party.in_(registrants)))
    address = Address.__table__()
    cursor.execute(*address.delete(where=address.party.in_(registrants)))
    for name in ['ir.attachment', 'ir.note']:
        table = pool.get(name).__table__()
        resource = party.select(
            Concat('party.party,', party.id.cast('VARCHAR')),
            where=party.id.in_(registrants))
        cursor.execute(*table.delete(where=table.resource.in_(resource)))
    forget_records(Party)
    for Model in [Identifier, ContactMechanism, Address,
            pool.get('ir.attachment'), pool.get('ir.note')]:
        forget_records(Model)


def clear_references(registrants, identifiers):
    """Clear what other records copied of the registrants (a query of
    ids) and their ID documents (a query of identifier ids): the free
    texts and the copies of names, phones, accounts and numbers; the
    records stay."""
    pool = Pool()
    cursor = Transaction().connection.cursor()

    def clear(model, column, where, **values):
        Model = pool.get(model)
        table = Model.__table__()
        columns = [getattr(table, n) for n in values]
        new = [v(table) if callable(v) else v for v in values.values()]
        cursor.execute(*table.update(columns, new,
                where=where(getattr(table, column), table)))
        forget_records(Model)

    def among(column, table):
        return column.in_(registrants)

    if in_pool('spp.program.membership'):
        clear('spp.program.membership', 'registrant', among,
            state_reason=Null, exit_reason=Null, forced_reason=Null)
    if in_pool('spp.payment'):
        clear('spp.payment', 'payee', among, payee_name=LABEL,
            payee_phone=Null, payee_account=Null)
    if in_pool('spp.grievance'):
        clear('spp.grievance', 'complainant', among,
            complainant_contact=Null)
    # The signed form goes; who witnessed or gave the consent is named
    # by the label, as the record requires a name.
    clear('spp.consent', 'registrant', among, evidence=Null,
        evidence_name=Null, note=Null,
        witness=lambda t: Case((t.witness != Null, LABEL), else_=Null),
        representative_name=lambda t: Case(
            (t.representative_name != Null, LABEL), else_=Null))
    if in_pool('spp.change_request'):
        Request = pool.get('spp.change_request')
        request = Request.__table__()
        of_registrants = request.select(request.id,
            where=request.registrant.in_(registrants))
        clear('spp.change_request', 'identifier',
            lambda column, table: column.in_(identifiers)
            | table.registrant.in_(registrants),
            identifier=Null, id_number=Null)
        clear('spp.change_request.line', 'request',
            lambda column, table: column.in_(of_registrants),
            current=Null, proposed=Null)
        clear('spp.change_request.member', 'individual', among,
            family_name=LABEL, given_name=Null, birth_date=Null,
            id_number=Null)
