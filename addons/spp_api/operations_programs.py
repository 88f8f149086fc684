"""The REST operations of programs, program memberships, cycles,
entitlements and payments (see `resources_programs`).

They run only where their addons are activated (the routes answer 404
elsewhere), so the models are looked up in the pool, never imported. A
record of a registrant outside the client's areas is not found, exactly
like a missing one."""
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool

from .handlers import ApiError, _iso, not_found, page, page_args
from .validation import ValidationFailure


def _modified(record):
    return _iso(record.write_date or record.create_date, datetime=True)


def _decimal(value):
    "Decimal text with at least two decimals: '100.00', '12.3456'."
    if value is None:
        return None
    value = Decimal(value)
    cents = value.quantize(Decimal('0.01'))
    return str(cents if cents == value else value.normalize())


def _plain_filters(query):
    "Domain of the state and modified_since filters."
    domain = []
    if query.get('state'):
        domain.append(('state', '=', query['state']))
    if query.get('modified_since'):
        since = query['modified_since']
        domain.append(['OR',
                ('write_date', '>=', since),
                [('write_date', '=', None), ('create_date', '>=', since)],
                ])
    return domain


def _common_filters(scope, query, registrant_field='registrant'):
    """Domain of the filters of records about registrants, restricted to
    the client's areas; None when a registrant filter matches no visible
    registrant (an empty page)."""
    domain = scope.area_domain(f'{registrant_field}.area')
    domain += _plain_filters(query)
    if query.get('registrant'):
        party = _registrant(scope, query['registrant'])
        if party is None:
            return None
        domain.append((registrant_field, '=', party.id))
    return domain


def _registrant(scope, handle):
    "The visible registrant of a handle, of either type, or None."
    for kind in ['individual', 'group']:
        try:
            return scope.resolve(handle, kind, kind)
        except ApiError:
            continue
    return None


def _listing(scope, Model, domain, query, serialise):
    limit, after = page_args(query)
    if domain is None:
        return 200, {'data': [], 'next_cursor': None}
    if after:
        domain = domain + [('id', '>', after)]
    records = Model.search(domain, limit=limit + 1, order=[('id', 'ASC')])
    return 200, page(records, limit,
        lambda rows: serialise(_served(scope, rows)))


def _served(scope, records):
    "The records, noted as held by the answer (Scope.serve)."
    if records:
        scope.serve(records[0].__name__, [r.id for r in records])
    return records


def _cycle_ref(cycle):
    return f'{cycle.program.code}:{cycle.sequence}'


def _cycle_domain(value, field='cycle'):
    code, sequence = value.rsplit(':', 1)
    return [(f'{field}.program.code', '=', code),
        (f'{field}.sequence', '=', int(sequence))]


# -- programs -------------------------------------------------------------

def _programs(records):
    return [{
            'code': p.code,
            'name': p.name,
            'target_type': p.target_type,
            'state': p.state,
            'currency': p.currency.code if p.currency else None,
            'start_date': _iso(p.start_date),
            'end_date': _iso(p.end_date),
            'modified': _modified(p),
            } for p in records]


def list_programs(scope, query, body):
    Program = Pool().get('spp.program')
    return _listing(scope, Program, _plain_filters(query), query, _programs)


def get_program(scope, query, body, code):
    Program = Pool().get('spp.program')
    records = Program.search([('code', '=', code)], limit=1)
    if not records:
        raise not_found("program")
    return 200, _programs(records)[0]


# -- program memberships ---------------------------------------------------

def _memberships(records):
    return [{
            'program': m.program.code,
            'registrant': m.registrant.code,
            'registrant_type': m.registrant.registrant_type,
            'state': m.state,
            'enrolment_date': _iso(m.enrolment_date),
            'state_date': _iso(m.state_date),
            'exit_date': _iso(m.exit_date),
            'modified': _modified(m),
            } for m in records]


def list_program_memberships(scope, query, body):
    Membership = Pool().get('spp.program.membership')
    domain = _common_filters(scope, query)
    if domain is not None and query.get('program'):
        domain.append(('program.code', '=', query['program']))
    return _listing(scope, Membership, domain, query, _memberships)


def get_program_membership(scope, query, body, code, handle):
    "404 alike for an unknown program, registrant or membership."
    Membership = Pool().get('spp.program.membership')
    party = _registrant(scope, handle)
    records = Membership.search([('program.code', '=', code),
            ('registrant', '=', party.id)], limit=1) if party else []
    if not records:
        raise not_found("program membership")
    return 200, _memberships(_served(scope, records))[0]


def enrol(scope, query, body):
    """Enrol a registrant: 201 when enrolled by this call, 200 when it
    already was. The program's eligibility rule applies (no forcing
    through the API)."""
    pool = Pool()
    Program = pool.get('spp.program')
    Membership = pool.get('spp.program.membership')
    programs = Program.search([('code', '=', body['program'])], limit=1)
    if not programs:
        raise ValidationFailure(
            f"body.program: unknown program {body['program']!r}.")
    program, = programs
    try:
        registrant = scope.resolve(body['registrant'], program.target_type,
            program.target_type)
    except ApiError:
        raise ValidationFailure(
            f"body.registrant: no {program.target_type} matches this "
            "handle.")
    existing = Membership.search([
            ('program', '=', program.id),
            ('registrant', '=', registrant.id),
            ('state', '=', 'enrolled'),
            ], limit=1)
    if existing:
        return 200, _memberships(_served(scope, existing))[0]
    membership = Membership.add_manually(program, registrant)
    return 201, _memberships(_served(scope,
            [Membership(membership.id)]))[0]


# -- cycles ---------------------------------------------------------------

def _cycles(records):
    return [{
            'ref': _cycle_ref(c),
            'program': c.program.code,
            'sequence': c.sequence,
            'name': c.name,
            'start_date': _iso(c.start_date),
            'end_date': _iso(c.end_date),
            'state': c.state,
            'modified': _modified(c),
            } for c in records]


def list_cycles(scope, query, body):
    Cycle = Pool().get('spp.cycle')
    domain = _plain_filters(query)
    if query.get('program'):
        domain.append(('program.code', '=', query['program']))
    return _listing(scope, Cycle, domain, query, _cycles)


def get_cycle(scope, query, body, ref):
    Cycle = Pool().get('spp.cycle')
    code, sequence = ref.rsplit(':', 1)
    records = Cycle.search([('program.code', '=', code),
            ('sequence', '=', int(sequence))], limit=1)
    if not records:
        raise not_found("cycle")
    return 200, _cycles(records)[0]


# -- entitlements ---------------------------------------------------------

def _entitlement_ref(entitlement):
    """`PROGRAM:sequence:REGISTRANT:kind`, with `:item` for the
    entitlements of an item (in kind, basket vouchers): a beneficiary has
    one of each per cycle (item_key 0 is the cash or voucher total)."""
    ref = (f'{_cycle_ref(entitlement.cycle)}:{entitlement.registrant.code}'
        f':{entitlement.kind}')
    if entitlement.item_key:
        ref += f':{entitlement.item_key}'
    return ref


def _entitlements(records):
    return [{
            'ref': _entitlement_ref(e),
            'cycle': _cycle_ref(e.cycle),
            'program': e.cycle.program.code,
            'registrant': e.registrant.code,
            'kind': e.kind,
            'amount': _decimal(e.amount),
            'fee': _decimal(e.fee),
            'currency': e.currency.code if e.currency else None,
            'code': e.code,
            'valid_from': _iso(e.valid_from),
            'valid_until': _iso(e.valid_until),
            'state': e.state,
            'modified': _modified(e),
            } for e in records]


def _cycle_record_filters(scope, query):
    "The common filters and those by program and cycle of a cycle's records."
    domain = _common_filters(scope, query)
    if domain is not None:
        if query.get('program'):
            domain.append(('cycle.program.code', '=', query['program']))
        if query.get('cycle'):
            domain += _cycle_domain(query['cycle'])
    return domain


def list_entitlements(scope, query, body):
    Entitlement = Pool().get('spp.entitlement')
    return _listing(scope, Entitlement, _cycle_record_filters(scope, query),
        query, _entitlements)


def get_entitlement(scope, query, body, ref):
    """The entitlement of a reference: the live one (a correction
    replaces the entitlement it corrects), else the latest rejected or
    cancelled one. 404 alike for an unknown reference and a registrant
    outside the client's areas."""
    Entitlement = Pool().get('spp.entitlement')
    program, sequence, registrant, kind, *item = ref.split(':')
    records = Entitlement.search([
            ('cycle.program.code', '=', program),
            ('cycle.sequence', '=', int(sequence)),
            ('registrant.code', '=', registrant),
            ('kind', '=', kind),
            ('item_key', '=', int(item[0]) if item else 0),
            ] + scope.area_domain('registrant.area'),
        order=[('id', 'DESC')], limit=100)
    if not records:
        raise not_found("entitlement")
    live = [e for e in records if e.slot]
    return 200, _entitlements(_served(scope, [(live or records)[0]]))[0]


# -- payments -------------------------------------------------------------

def _payments(records):
    return [{
            'reference': p.reference,
            'cycle': _cycle_ref(p.cycle),
            'registrant': p.registrant.code,
            'amount': _decimal(p.amount),
            'currency': p.currency.code if p.currency else None,
            'state': p.state,
            'paid_amount': _decimal(p.paid_amount),
            'paid_date': _iso(p.paid_date),
            'provider_reference': p.provider_reference,
            'failure_reason': p.failure_reason,
            'modified': _modified(p),
            } for p in records]


def list_payments(scope, query, body):
    Payment = Pool().get('spp.payment')
    return _listing(scope, Payment, _cycle_record_filters(scope, query), query,
        _payments)


def _payment(scope, reference):
    "The visible payment of a reference, or 404 (also when hidden)."
    Payment = Pool().get('spp.payment')
    records = Payment.search([('reference', '=', reference)]
        + scope.area_domain('registrant.area'), limit=1)
    if not records:
        raise not_found("payment")
    return records[0]


def get_payment(scope, query, body, reference):
    return 200, _payments(_served(scope, [_payment(scope, reference)]))[0]


def record_payment_status(scope, query, body, reference):
    """Apply a provider's outcome with the reconciliation rules: the same
    outcome twice changes nothing (200 both times); a different outcome
    for a settled payment, or a wrong amount, is refused (409/422)."""
    from trytond.modules.spp_payment.gateway import apply_outcomes
    Payment = Pool().get('spp.payment')
    payment = _payment(scope, reference)
    status = body['status']
    amount = body.get('paid_amount')
    if status == 'paid' and amount is None:
        raise ValidationFailure("body.paid_amount: required when paid.")
    paid_date = body.get('paid_date')
    if status == 'paid' and paid_date is None:
        paid_date = Pool().get('ir.date').today()
    if paid_date and paid_date > dt.date.today() + dt.timedelta(days=1):
        raise ValidationFailure("body.paid_date: in the future.")
    report = apply_outcomes([(payment.reference, status,
                Decimal(amount) if amount is not None else None,
                paid_date if status == 'paid' else None,
                body.get('provider_reference'))])
    if report.errors:
        _, _, reason = report.errors[0]
        if 'already' in reason:
            raise ApiError(409, 'conflict', f"{reference}: {reason}.")
        raise ValidationFailure(f"{reference}: {reason}.")
    return 200, _payments(_served(scope, [Payment(payment.id)]))[0]
