"""The demo scenario of `make demo` (spp_demo/scenario.py, users.py), loaded
the way `make demo` loads it (`sppdb.py load-demo --users-file`) into a
database with every addon, on the run's backend (SQLite and PostgreSQL):
cycles in every state, the approved cycle's entitlements and amounts, the
distributed cycle's batch with paid and failed payments, posted funds,
duplicates to review, one user per role with the password of the users
file, and the registrar limited to one region. Also tools/demo.py's users
file and banner, and spp_programs' default currency (currency.py)."""
import importlib.util
import stat
from collections import Counter
from decimal import Decimal

import pytest

from .server import (
    DEMO_PASSWORDS, TOOLS, ServerError, TestDatabase, unique_name)

PASSWORDS = DEMO_PASSWORDS


def use_database(database):
    """Load the pool of `database` in this process. trytond read the
    environment at start-up: the SQLite directory is set in its
    configuration."""
    from trytond import config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    config.set('database', 'path', str(database.path))
    with Transaction().start(database.name, 0, readonly=True):
        Pool(database.name).init()
    return Pool(database.name)


@pytest.fixture(scope='module')
def demo(backend_uri, tmp_path_factory):
    "A database with every addon and the demo loaded."
    workdir = tmp_path_factory.mktemp('spp-demo')
    database = TestDatabase.demo(workdir, PASSWORDS, 'demo_scenario',
        uri=backend_uri)
    try:
        use_database(database)
        yield database
    finally:
        database.drop()


@pytest.fixture
def transaction(demo):
    from trytond.transaction import Transaction
    with Transaction().start(demo.name, 0) as transaction:
        yield transaction
        transaction.rollback()


def program_cycles(code):
    from trytond.pool import Pool
    Cycle = Pool().get('spp.cycle')
    return Cycle.search([('program.code', '=', code)],
        order=[('sequence', 'ASC')])


def test_cycles_in_every_state(transaction):
    "Draft, to approve, approved, distributed; approvers never submitters"
    from trytond.pool import Pool
    Cycle = Pool().get('spp.cycle')
    cycles = Cycle.search([])
    assert {'draft', 'to_approve', 'approved', 'distributed'} <= {
        c.state for c in cycles}
    assert [c.state for c in program_cycles('FCG')] == [
        'distributed', 'approved', 'to_approve', 'draft']
    for cycle in cycles:
        if cycle.state in {'approved', 'distributed'}:
            assert cycle.submitted_by.login == 'manager'
            assert cycle.approved_by.login == 'approver'
        if cycle.state == 'to_approve':
            assert cycle.submitted_by.login == 'manager'
            assert not cycle.approved_by
    assert {p.code: (p.state, p.target_type) for p in
        Pool().get('spp.program').search([])} == {
        'FCG': ('active', 'group'), 'SCP': ('active', 'individual'),
        'FV': ('active', 'group')}


def test_approved_cycle_entitlements(transaction):
    "500.00 plus 150.00 a child (3 at most), one per beneficiary"
    _, approved, to_approve, draft = program_cycles('FCG')
    entitlements = approved.entitlements
    assert len(entitlements) == approved.beneficiary_count > 100
    for entitlement in entitlements:
        children = min(entitlement.registrant.child_count, 3)
        assert children >= 1
        assert entitlement.amount == Decimal('500.00') + 150 * children
        assert entitlement.fee == (entitlement.amount * Decimal('0.015')
            ).quantize(Decimal('0.01'))
    assert {e.state for e in entitlements} == {'pending_validation'}
    # The cycle waiting for approval shows its prepared entitlements.
    assert len(to_approve.entitlements) == to_approve.beneficiary_count
    assert {e.state for e in to_approve.entitlements} == {'draft'}
    assert not draft.entitlements and not draft.beneficiary_count
    pension, = program_cycles('SCP')
    assert pension.state == 'approved'
    assert {(e.amount, e.state, e.registrant.registrant_type)
        for e in pension.entitlements} == {
        (Decimal('1000.00'), 'approved', 'individual')}
    assert all(e.registrant.age >= 60 for e in pension.entitlements)
    vouchers, = program_cycles('FV')
    states = Counter(e.state for e in vouchers.entitlements)
    assert states['redeemed'] == 2 and states['approved'] > 10
    assert all(e.code for e in vouchers.entitlements)


def test_distributed_cycle_payments(transaction):
    "One batch sent and reconciled: paid and a few failed payments"
    from trytond.pool import Pool
    pool = Pool()
    Payment = pool.get('spp.payment')
    Balance = pool.get('spp.program.balance')
    Fund = pool.get('spp.program.fund')
    distributed = program_cycles('FCG')[0]
    batch, = pool.get('spp.payment.batch').search(
        [('cycle', '=', distributed.id)])
    assert batch.state == 'done'
    assert batch.total_count == len(distributed.entitlements)
    payments = Payment.search([('cycle', '=', distributed.id)])
    states = Counter(p.state for p in payments)
    assert set(states) == {'paid', 'failed'}
    assert states['failed'] == len(payments) // 20 > 0
    for payment in payments:
        if payment.state == 'paid':
            assert payment.paid_amount == payment.amount
            assert payment.entitlement.state == 'distributed'
        else:
            assert payment.entitlement.state == 'approved'
    assert distributed.payment_paid_count == states['paid']
    assert distributed.payment_failed_count == states['failed']
    # The pension's batch waits for the payment officer.
    pension, = program_cycles('SCP')
    waiting, = pool.get('spp.payment.batch').search(
        [('cycle', '=', pension.id)])
    assert waiting.state == 'draft'
    # Pensioners without a wallet or bank account: blocked, with why.
    pending = Counter((p.state, p.blocked_reason) for p in waiting.payments)
    assert pending[('blocked', 'no_account')] > 0
    assert pending[('issued', None)] > 0
    assert all(p.payee_account for p in payments)
    posted = Fund.search([('state', '=', 'posted')])
    assert {f.program.code for f in posted} == {'FCG', 'SCP', 'FV'}
    assert {f.posted_by.login for f in posted} == {'finance'}
    assert Fund.search([('state', '=', 'draft')])
    balance, = Balance.search([('program.code', '=', 'FCG')])
    assert balance.posted == Decimal('1000000.00')
    # What the paid entitlements cost, their transfer fees included.
    assert balance.paid == sum(p.entitlement.amount + p.entitlement.fee
        for p in payments if p.state == 'paid') > 0


def test_demo_batch_pain001_is_valid(transaction):
    """The next batch of the demo, as the tour makes it (finance approves
    cycle 2's entitlements, the payment officer creates and approves the
    batch), exports a pain.001 that the ISO 20022 schema accepts, with an
    account in every CdtrAcct and never a payment reference there"""
    import importlib.util
    import os
    from lxml import etree
    from trytond.modules.spp_payment.export import PAIN_NS, export_pain001
    from trytond.pool import Pool
    pool = Pool()
    Cycle = pool.get('spp.cycle')
    Batch = pool.get('spp.payment.batch')
    cycle = program_cycles('FCG')[1]
    assert cycle.state == 'approved'
    Cycle.approve_entitlements([cycle])
    batches = Batch.create_for_cycle(Cycle(cycle.id), provider='file')
    Batch.approve(batches)
    spec = importlib.util.find_spec('sepaxml')
    schema = etree.XMLSchema(etree.parse(os.path.join(
                spec.submodule_search_locations[0], 'schemas',
                'pain.001.001.03.xsd')))
    for batch in batches:
        document = etree.fromstring(export_pain001(Batch(batch.id),
                "Department of Social Welfare", "PH-TREASURY-0001"))
        schema.assertValid(document)
        ns = {'p': PAIN_NS}
        references = set(document.xpath(
                '//p:CdtTrfTxInf/p:PmtId/p:EndToEndId/text()',
                namespaces=ns))
        accounts = document.xpath(
            '//p:CdtTrfTxInf/p:CdtrAcct/p:Id/p:Othr/p:Id/text()',
            namespaces=ns)
        assert len(references) == len(accounts) == batch.total_count > 0
        assert not references & set(accounts)
        payees = {p.reference: p for p in batch.payments}
        for transaction_ in document.xpath('//p:CdtTrfTxInf',
                namespaces=ns):
            reference = transaction_.xpath(
                'p:PmtId/p:EndToEndId/text()', namespaces=ns)[0]
            account = transaction_.xpath(
                'p:CdtrAcct/p:Id/p:Othr/p:Id/text()', namespaces=ns)[0]
            assert account == payees[reference].payee_account


def test_duplicates_to_review(transaction):
    "The planted near-duplicates and a person in two households wait"
    from trytond.pool import Pool
    Duplicate = Pool().get('spp.registry.duplicate')
    pending = {(d.reason, d.individual_a.name, d.individual_b.name)
        for d in Duplicate.search([('state', '=', 'to_review')])}
    assert ('probable', 'Dela Cruz, Maria Reyes',
        'Dela Cruz, Maria Reyez') in pending
    assert ('probable', 'Bautista, Rosario Garcia',
        'Bautista, Rosaria Garcia') in pending
    assert ('multiple_groups', 'Santos, Tess Cruz',
        'Santos, Tess Cruz') in pending


def test_users_and_groups(transaction):
    "One user per role, with its groups and the password of the file"
    from trytond.pool import Pool
    from trytond.modules.spp_demo.users import DEMO_USERS
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    for login, _, groups, _ in DEMO_USERS:
        user, = User.search([('login', '=', login)])
        assert {g.id for g in user.groups} == {
            ModelData.get_id(*g.split('.')) for g in groups}, login
        assert User.get_login(login, {'password': PASSWORDS[login]}) == (
            user.id)
        assert not User.get_login(login, {'password': 'wrong-password'})


def test_registrar_sees_own_region(transaction):
    "The registrar finds only the households of their region"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    User = Pool().get('res.user')
    registrar, = User.search([('login', '=', 'registrar')])
    region, = registrar.spp_areas
    everyone = Party.search([('registrant_type', '=', 'group')])
    in_region = Party.search([('registrant_type', '=', 'group'),
            ('area', 'child_of', [region.id], 'parent')])
    assert 0 < len(in_region) < len(everyone)
    with transaction.set_user(registrar.id), \
            transaction.set_context(_check_access=True):
        seen = Party.search([('registrant_type', '=', 'group')])
    assert set(seen) == set(in_region)
    # The README's tour has the registrar find this one.
    assert "Dela Cruz Household" in {p.name for p in seen}


def test_reporting_users(transaction):
    "The program manager reports on every area, the M&E officer on a district"
    from trytond.pool import Pool
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Party = pool.get('party.party')
    Report = pool.get('spp.report.registry.area')
    manager_group = ModelData.get_id('spp_reporting',
        'group_reporting_manager')
    officer_group = ModelData.get_id('spp_reporting',
        'group_reporting_officer')
    manager, = User.search([('login', '=', 'manager')])
    monitoring, = User.search([('login', '=', 'monitoring')])
    assert manager_group in {g.id for g in manager.groups}
    assert not manager.spp_areas
    assert officer_group in {g.id for g in monitoring.groups}
    district, = monitoring.spp_areas
    assert district.code == 'PH-01-01' and district.parent.code == 'PH-01'
    in_district = Party.search_count([('registrant_type', '!=', None),
            ('area', 'child_of', [district.id], 'parent')])
    assert in_district
    with transaction.set_user(monitoring.id), \
            transaction.set_context(_check_access=True):
        rows = Report.search([])
        # Rolled up to the region, counting the district's registrants.
        assert {r.area.id for r in rows} == {district.parent.id}
        assert sum(r.households + r.individuals for r in rows) == (
            in_district)
    with transaction.set_user(manager.id), \
            transaction.set_context(_check_access=True):
        assert len(Report.search([])) > 1


def test_targets_and_snapshot(transaction):
    "Program targets of the demo programs, and this month's snapshot"
    from trytond.pool import Pool
    pool = Pool()
    Target = pool.get('spp.program.target')
    Snapshot = pool.get('spp.report.snapshot')
    Plan = pool.get('spp.report.cycle.plan')
    Date = pool.get('ir.date')
    targets = Target.search([])
    assert {(t.program.code, t.cycle.sequence if t.cycle else None)
        for t in targets} == {('FCG', None), ('FCG', 1), ('SCP', None)}
    assert all(t.create_uid.login == 'manager' for t in targets)
    plans = {(p.program.code, p.cycle.sequence): p for p in Plan.search([])}
    # A cycle's own target, else the program's standing one.
    assert plans['FCG', 1].planned_beneficiaries == 120
    assert plans['FCG', 2].planned_beneficiaries == 150
    assert plans['SCP', 1].planned_budget == Decimal('80000.00')
    month = Date.today().replace(day=1)
    rows = Snapshot.search([])
    assert rows and {r.month for r in rows} == {month}
    indicators = {r.indicator for r in rows}
    assert {'households', 'individuals', 'enrolled', 'eligible'} <= (
        indicators)
    for Trend in ['spp.report.trend.registry', 'spp.report.trend.program']:
        assert pool.get(Trend).search([]), Trend


def load_demo_tool(monkeypatch, var):
    "tools/demo.py as a module, keeping its files in `var`."
    spec = importlib.util.spec_from_file_location('spp_demo_tool',
        TOOLS / 'demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, 'VAR', var)
    return module


def test_consents(transaction):
    """Every household consented to programme delivery; three in four to
    referral to health insurers, the first of these withdrawn"""
    from trytond.pool import Pool
    pool = Pool()
    Consent = pool.get('spp.consent')
    Party = pool.get('party.party')
    groups = Party.search([('registrant_type', '=', 'group')],
        order=[('id', 'ASC')])
    service = Consent.search([('purpose.code', '=', 'SERVICE')])
    assert {c.registrant for c in service} == set(groups)
    assert {(c.state, c.lawful_basis) for c in service} == {
        ('given', 'public_task')}
    referral = Consent.search([('purpose.code', '=', 'REFERRAL')])
    states = Counter(c.state for c in referral)
    assert len(referral) == len([g for g in groups if g.id % 4])
    assert states['withdrawn'] == 1 and states['given'] == len(referral) - 1
    first, = [c for c in referral if c.state == 'withdrawn']
    assert first.registrant.id == min(c.registrant.id for c in referral)
    assert [t.code for t in first.recipient_types] == ['HEALTH_INSURER']
    assert [(e.previous_state, e.state) for e in first.history] == [
        (None, 'given'), ('given', 'withdrawn')]


def test_users_file_and_banner(tmp_path, monkeypatch):
    "var/demo_users: mode 0600, passwords kept; the banner prints them"
    from trytond.modules.spp_demo.users import DEMO_LOGINS
    tool = load_demo_tool(monkeypatch, tmp_path)
    users, path, changed = tool.demo_users()
    assert changed and path == tmp_path / 'demo_users'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [login for login, _, _ in users] == DEMO_LOGINS
    assert len({password for _, _, password in users}) == len(users)
    again, _, changed = tool.demo_users()
    assert again == users and not changed
    path.chmod(0o644)
    tool.demo_users()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = tool.banner('http://127.0.0.1:8000/', 'spp', 'somewhere',
        'admin-secret', tmp_path / 'admin_password', users, path)
    assert 'admin-secret' in text
    for login, name, password in users:
        line, = [l for l in text.splitlines() if l.split()[:1] == [login]]
        assert password in line and name in line
    assert str(path) in text


def test_default_currency(backend_uri, tmp_path, monkeypatch):
    """A database without the demo gets the configured currency, and the
    Create Program wizard proposes it"""
    from trytond import config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    monkeypatch.setenv('TRYTOND_SPP_PROGRAMS__DEFAULT_CURRENCY', 'kes')
    database = TestDatabase.install(tmp_path, 'currency', ['spp_programs'],
        uri=backend_uri)
    if not config.has_section('spp_programs'):
        config.add_section('spp_programs')
    previous = config.get('spp_programs', 'default_currency', default='')
    config.set('spp_programs', 'default_currency', 'KES')
    try:
        pool = use_database(database)
        with Transaction().start(database.name, 0) as transaction:
            Currency = pool.get('currency.currency')
            Program = pool.get('spp.program')
            currency, = Currency.search([])
            assert (currency.code, currency.name, currency.digits,
                currency.rounding) == ('KES', "Kenyan Shilling", 2,
                Decimal('0.01'))
            # A second currency: the configured one stays the default.
            Currency.create([{'name': "Euro", 'code': 'EUR'}])
            CreateProgram = pool.get('spp.program.create', type='wizard')
            session_id, _, _ = CreateProgram.create()
            start = CreateProgram(session_id).default_start(None)
            assert start['currency'] == currency.id
            program, = Program.create([{'name': "First", 'code': 'FIRST',
                        'eligibility_rule': 'member_count >= 1'}])
            assert program.currency == currency
            transaction.rollback()
    finally:
        config.set('spp_programs', 'default_currency', previous)
        database.drop()


def test_unknown_default_currency(backend_uri, tmp_path, monkeypatch):
    "An unknown configured code stops the activation with a clear message"
    monkeypatch.setenv('TRYTOND_SPP_PROGRAMS__DEFAULT_CURRENCY', 'XYZ')
    with pytest.raises(ServerError) as error:
        TestDatabase.install(tmp_path, 'badcurrency', ['spp_programs'],
            uri=backend_uri)
    message = str(error.value)
    assert ("[spp_programs] default_currency = XYZ: not a currency code "
        "spp_programs knows") in message
    assert 'PHP' in message and 'USD' in message
    # Nothing is left under the database's name.
    name = unique_name('badcurrency')
    with pytest.raises(ServerError):
        TestDatabase(name, tmp_path, backend_uri).sppdb('exists', name)
