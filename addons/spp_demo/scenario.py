"""The demo's programs and money, after the population is loaded.

Three programs of different kinds, their cycles in every state, posted
funds, a payment batch sent and reconciled (a few payments failed), and
duplicates to review. Every step goes through the models' workflow
methods and the functions behind the wizards, as the demo user whose job
it is (`acting_as`, with the web client's access checks), so the demo
shows what the roles can really do and the four-eyes rules hold: the
approver never approves what they submitted.

    cycle states        Family Cash Grant: 1 distributed, 2 approved
                        (entitlements waiting for the finance validator),
                        3 to approve, 4 draft
                        Senior Citizens Pension: 1 approved, entitlements
                        approved, a draft payment batch to approve and export
                        Food Voucher: 1 approved, vouchers issued, a few
                        redeemed

    program targets     the cash grant's standing plan and its first
                        cycle's own, the pension's standing plan
"""
import csv
import datetime as dt
import io
from contextlib import contextmanager
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Cast
from sql.aggregate import Max
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Concat, Exists

from trytond.modules.spp_registry.bulk import BulkWriter, insert_select, typed
from trytond.pool import Pool
from trytond.transaction import Transaction

from .grievances import load_grievances

# The demo country is the Philippines-like generated one.
CURRENCY = {'code': 'PHP', 'name': "Philippine Peso", 'symbol': '₱',
    'digits': 2, 'rounding': Decimal('0.01')}
COMPANY = "Department of Social Welfare (demo)"
CASH_GRANT = 'FCG'
PENSION = 'SCP'
VOUCHER = 'FV'
# Every FAILED_EVERY-th payment of the reconciled batch failed.
FAILED_EVERY = 20


@contextmanager
def acting_as(user):
    "Run as `user`, with the access checks the web client's calls get."
    transaction = Transaction()
    with transaction.set_user(user.id), \
            transaction.set_context(_check_access=True):
        yield


def ensure_currency():
    "The demo's currency (created when activation made none)."
    Currency = Pool().get('currency.currency')
    currencies = Currency.search([('code', '=', CURRENCY['code'])], limit=1)
    if currencies:
        return currencies[0]
    currency, = Currency.create([CURRENCY])
    return currency


def ensure_company(currency, users):
    """The paying agency as the company (the company module comes with
    product, which in-kind entitlements use), with the demo's currency;
    admin and the demo users work in it."""
    pool = Pool()
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    User = pool.get('res.user')
    companies = Company.search([], limit=1)
    if companies:
        return companies[0]
    # Not a registrant: no registrant type, so no registry list shows it.
    party, = Party.create([{'name': COMPANY}])
    company, = Company.create([{'party': party.id,
                'currency': currency.id}])
    User.write(User.search([('login', 'in',
                    ['admin', *(u.login for u in users.values())])]), {
            'companies': [('add', [company.id])],
            'company': company.id,
            })
    return company


def load_scenario(users, today):
    """Programs, cycles, funds, payments and duplicates of the demo, made
    by `users` ({login: res.user}, see users.py)."""
    currency = ensure_currency()
    ensure_company(currency, users)
    register_accounts()
    start = today.replace(day=1) - relativedelta(months=3)
    plant_shared_member(users['registrar'])
    grant = cash_grant(users, currency, start)
    senior = pension(users, currency, start + relativedelta(months=2))
    voucher(users, currency, start + relativedelta(months=2), today)
    program_targets(users['manager'], grant, senior)
    change_requests(users['registrar'])
    with acting_as(users['validator']):
        Pool().get('spp.registry.duplicate').detect()
    load_grievances(users, today, acting_as)


def register_accounts():
    """Where payments go (a payment without an account is blocked):
    everyone with a mobile number has a mobile wallet on it, and household
    heads without one a bank account. Two INSERT ... SELECT, then the
    history rows the ORM would write. Older members without either (many
    pensioners) stay without: their payments show as blocked."""
    pool = Pool()
    Identifier = pool.get('party.identifier')
    Contact = pool.get('party.contact_mechanism')
    Membership = pool.get('spp.group.membership')
    Relation = pool.get('spp.group.membership-role')
    Role = pool.get('spp.group.membership.role')
    identifier = Identifier.__table__()
    contact = Contact.__table__()
    membership = Membership.__table__()
    relation = Relation.__table__()
    role = Role.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*identifier.select(Coalesce(Max(identifier.id), 0)))
    last, = cursor.fetchone()
    user = typed(Identifier, 'create_uid', Transaction().user)
    active = typed(Identifier, 'active', True)
    columns = [identifier.party, identifier.type, identifier.code,
        identifier.code_compact, identifier.active, identifier.create_uid,
        identifier.create_date]
    mobile = (contact.type == 'mobile') & contact.active
    insert_select(Identifier, identifier.insert(columns, contact.select(
                contact.party, typed(Identifier, 'type', 'mobile_wallet'),
                contact.value_compact, contact.value_compact, active, user,
                CurrentTimestamp(), where=mobile,
                order_by=[contact.id.asc])))
    account = Concat('LBP', Cast(membership.individual, 'VARCHAR'))
    insert_select(Identifier, identifier.insert(columns,
            membership.join(relation,
                condition=relation.membership == membership.id).join(role,
                condition=(role.id == relation.role) & (role.code == 'head'))
            .select(membership.individual,
                typed(Identifier, 'type', 'bank_account'), account, account,
                active, user, CurrentTimestamp(),
                where=~Exists(contact.select(contact.id,
                        where=mobile
                        & (contact.party == membership.individual))),
                order_by=[membership.individual.asc])))
    cursor.execute(*identifier.select(identifier.id,
            where=identifier.id > last))
    BulkWriter()._history('party_identifier', Identifier, cursor.fetchall())


def plant_shared_member(registrar):
    """The registrar adds Tess Santos, already in the Villanueva household,
    to the Mendoza household too: a person in two households, for the
    duplicate review."""
    pool = Pool()
    Party = pool.get('party.party')
    Membership = pool.get('spp.group.membership')
    Role = pool.get('spp.group.membership.role')
    with acting_as(registrar):
        tess, = Party.search([('registrant_type', '=', 'individual'),
                ('given_name', '=', 'Tess'), ('family_name', '=', 'Santos')],
            limit=1)
        mendoza, = Party.search([('registrant_type', '=', 'group'),
                ('name', '=', 'Mendoza Household')], limit=1)
        other, = Role.search([('code', '=', 'other')], limit=1)
        Membership.create([{'group': mendoza.id, 'individual': tess.id,
                    'roles': [('add', [other.id])]}])


def new_program(manager, values, items):
    "Create, activate and enrol a program as the program manager."
    Program = Pool().get('spp.program')
    with acting_as(manager):
        program, = Program.create([{**values,
                    'entitlement_items': [('create', items)]}])
        Program.activate([program])
        Program.import_eligible([program])
        Program.enrol([program])
    return program


def new_cycle(manager, program):
    "The program's next cycle, in draft."
    pool = Pool()
    Program = pool.get('spp.program')
    Cycle = pool.get('spp.cycle')
    with acting_as(manager):
        Program.new_cycle([Program(program.id)])
        cycle, = Cycle.search([('program', '=', program.id)],
            order=[('sequence', 'DESC')], limit=1)
    return cycle


def submit(manager, cycle, entitlements=True):
    """The manager prepares the cycle's beneficiaries (and entitlements,
    so that the approver sees their total) and submits it."""
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Entitlement = pool.get('spp.entitlement')
    with acting_as(manager):
        Cycle.prepare([Cycle(cycle.id)])
        if entitlements:
            Entitlement.prepare(Cycle(cycle.id))
        Cycle.submit([Cycle(cycle.id)])


def approve(approver, cycle):
    Cycle = Pool().get('spp.cycle')
    with acting_as(approver):
        Cycle.approve([Cycle(cycle.id)])


def approve_entitlements(users, cycle):
    "The manager submits the entitlements, the finance validator approves."
    Cycle = Pool().get('spp.cycle')
    with acting_as(users['manager']):
        Cycle.submit_entitlements([Cycle(cycle.id)])
    with acting_as(users['finance']):
        Cycle.approve_entitlements([Cycle(cycle.id)])


def approved_cycle(users, program):
    """The program's next cycle prepared and submitted by the manager,
    approved by the approver, its entitlements approved by finance."""
    cycle = new_cycle(users['manager'], program)
    submit(users['manager'], cycle)
    approve(users['approver'], cycle)
    approve_entitlements(users, cycle)
    return cycle


def post_fund(finance, program, amount, reference, date, post=True):
    Fund = Pool().get('spp.program.fund')
    with acting_as(finance):
        fund, = Fund.create([{'program': program.id, 'amount': amount,
                    'reference': reference, 'date': date}])
        if post:
            Fund.post([fund])
    return fund


def cash_grant(users, currency, start):
    """Households with children: 500.00 plus 150.00 a child (up to 3),
    monthly. Four cycles, one in each state before ended."""
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    manager, approver = users['manager'], users['approver']
    program = new_program(manager, {
            'name': "Family Cash Grant", 'code': CASH_GRANT,
            'target_type': 'group', 'currency': currency.id,
            'start_date': start, 'recurrence': 'monthly',
            'eligibility_rule': 'child_count >= 1',
            'description': "Monthly cash for households with children.",
            'fee_percentage': Decimal('1.5'),
            }, [
            {'name': "Base amount", 'sequence': 1,
                'amount': Decimal('500.00')},
            {'name': "Per child", 'sequence': 2, 'amount': Decimal('150.00'),
                'condition': 'child_count >= 1',
                'multiplier_field': 'child_count', 'max_multiplier': 3},
            ])
    post_fund(users['finance'], program, Decimal('1000000.00'),
        'DBM-2026-FCG-Q1', start)
    post_fund(users['finance'], program, Decimal('250000.00'),
        'DBM-2026-FCG-Q2 top-up', start + relativedelta(months=3),
        post=False)

    paid = approved_cycle(users, program)
    pay_and_reconcile(users, Cycle(paid.id))

    waiting_finance = new_cycle(manager, program)
    submit(manager, waiting_finance)
    approve(approver, waiting_finance)
    with acting_as(manager):
        Cycle.submit_entitlements([Cycle(waiting_finance.id)])

    submit(manager, new_cycle(manager, program))
    new_cycle(manager, program)
    return program


def program_targets(manager, grant, senior):
    """The plans the dashboards compare the cycles to: the cash grant's
    standing target and its first cycle's own, the pension's standing
    target; set by the program manager, one create."""
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Target = pool.get('spp.program.target')
    first, = Cycle.search([('program', '=', grant.id), ('sequence', '=', 1)],
        limit=1)
    with acting_as(manager):
        Target.create([
                {'program': grant.id, 'beneficiaries': 150,
                    'budget': Decimal('150000.00'),
                    'note': "Standing plan of every monthly cycle."},
                {'program': grant.id, 'cycle': first.id,
                    'beneficiaries': 120, 'budget': Decimal('120000.00'),
                    'note': "First cycle: the registered households only."},
                {'program': senior.id, 'beneficiaries': 80,
                    'budget': Decimal('80000.00')},
                ])


def change_requests(registrar):
    """The registrar drafts corrections of the Dela Cruz household and of
    its head (for the checker once submitted, and for the reports)."""
    pool = Pool()
    Party = pool.get('party.party')
    Kind = pool.get('spp.change_request.kind')
    Request = pool.get('spp.change_request')
    kinds = {k.code: k for k in Kind.search(
            [('code', 'in', ['edit_individual', 'edit_group'])])}
    with acting_as(registrar):
        household, = Party.search([('registrant_type', '=', 'group'),
                ('name', '=', "Dela Cruz Household")], limit=1)
        juan, = Party.search([('registrant_type', '=', 'individual'),
                ('given_name', '=', 'Juan'),
                ('family_name', '=', 'Dela Cruz')], limit=1)
        Request.create([
                {'kind': kinds['edit_individual'].id, 'registrant': juan.id,
                    'reason': "New mobile number given at the office."},
                {'kind': kinds['edit_group'].id,
                    'registrant': household.id,
                    'reason': "The household moved within the barangay."},
                ])


def pay_and_reconcile(users, cycle):
    """The payment officer issues the cycle's payments into a batch,
    approves it, exports its file and sends it, then imports the
    provider's reconciliation file (a few payments failed); the batch is
    closed and the manager marks the cycle distributed."""
    pool = Pool()
    Batch = pool.get('spp.payment.batch')
    Cycle = pool.get('spp.cycle')
    from trytond.modules.spp_payment.export import export_csv
    from trytond.modules.spp_payment.reconcile import import_reconciliation
    with acting_as(users['payments']):
        batches = Batch.create_for_cycle(Cycle(cycle.id), provider='file')
        Batch.approve(batches)
        answer = io.StringIO()
        writer = csv.writer(answer)
        writer.writerow(['reference', 'status', 'paid_amount', 'date',
                'provider_reference'])
        for batch in batches:
            exported = export_csv(Batch(batch.id))
            rows = csv.DictReader(io.StringIO(
                    exported.decode('utf-8-sig')
                    if isinstance(exported, bytes) else exported))
            for number, row in enumerate(rows, start=1):
                failed = number % FAILED_EVERY == 0
                writer.writerow([row['reference'],
                        'failed' if failed else 'paid',
                        '' if failed else row['amount'],
                        cycle.end_date.isoformat(),
                        f'GCX-{batch.number}-{number:06d}'])
        Batch.send(batches)
        import_reconciliation(answer.getvalue().encode('utf-8'),
            batches=batches)
        Batch.close([Batch(b.id) for b in batches])
    with acting_as(users['manager']):
        Cycle.distribute([Cycle(cycle.id)])


def pension(users, currency, start):
    """Everyone aged 60 or more: 1,000.00 a month. Its first cycle is
    approved with its entitlements; its payment batch waits for the
    payment officer's approval and export."""
    pool = Pool()
    Batch = pool.get('spp.payment.batch')
    Cycle = pool.get('spp.cycle')
    program = new_program(users['manager'], {
            'name': "Senior Citizens Pension", 'code': PENSION,
            'target_type': 'individual', 'currency': currency.id,
            'start_date': start, 'recurrence': 'monthly',
            'eligibility_rule': 'age >= 60',
            'description': "Monthly social pension for people aged 60 "
            "and over.",
            }, [{'name': "Monthly pension", 'amount': Decimal('1000.00')}])
    post_fund(users['finance'], program, Decimal('500000.00'),
        'DBM-2026-SCP', start)
    cycle = approved_cycle(users, program)
    with acting_as(users['payments']):
        Batch.create_for_cycle(Cycle(cycle.id), provider='file')
    return program


def voucher(users, currency, start, today):
    """Households with a disabled member: a 1,200.00 food voucher valid
    60 days, redeemed at partner shops; a few are redeemed already."""
    pool = Pool()
    Entitlement = pool.get('spp.entitlement')
    program = new_program(users['manager'], {
            'name': "Food Voucher", 'code': VOUCHER,
            'target_type': 'group', 'currency': currency.id,
            'start_date': start, 'recurrence': 'quarterly',
            'eligibility_rule': 'disabled_member_count >= 1',
            'entitlement_kind': 'voucher',
            'entitlement_validity_days': 60,
            'description': "Food vouchers for households with a member "
            "living with a disability.",
            }, [{'name': "Food voucher", 'amount': Decimal('1200.00')}])
    post_fund(users['finance'], program, Decimal('200000.00'),
        'DSWD-2026-FV', start)
    cycle = approved_cycle(users, program)
    vouchers = Entitlement.search([('cycle', '=', cycle.id)],
        order=[('id', 'ASC')], limit=3)
    redeemed = min(today, start + dt.timedelta(days=10))
    with acting_as(users['finance']):
        for number, entitlement in enumerate(vouchers):
            amount = Decimal('1200.00') if number else Decimal('450.00')
            Entitlement.redeem(entitlement.code, amount,
                vendor="Sari-Sari Store Poblacion", date=redeemed)
    return program
