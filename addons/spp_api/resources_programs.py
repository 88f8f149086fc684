"""REST resources of programs, program memberships, cycles, entitlements and
payments, declared like `resources` and routed only on databases where
their addons are activated (`requires` names the model that must exist).

Registrants are always addressed by handle (code or `type|value`),
programs by code, cycles by `PROGRAM:sequence`, payments by reference,
entitlements by `PROGRAM:sequence:REGISTRANT:kind` (`:item` added for
those of an item: in kind, basket vouchers): what they are for, never a
database id."""
from .declarations import (
    CODE_PATTERN, HANDLE_PATTERN, PAGE_PARAMS, Field, Operation, Param,
    text)

CYCLE_PATTERN = r'^[A-Za-z0-9_.\-]{1,64}:\d{1,6}$'
REFERENCE_PATTERN = r'^[A-Za-z0-9_.\-]{1,64}$'
ENTITLEMENT_REF_PATTERN = (
    r'^[A-Za-z0-9_.\-]{1,64}:\d{1,6}:[A-Za-z0-9_.\-]{1,64}'
    r':(cash|voucher|in_kind)(:\d{1,9})?$')
DECIMAL_PATTERN = r'^\d{1,12}(\.\d{1,4})?$'
MEMBERSHIP_STATES = ['draft', 'enrolled', 'paused', 'exited',
    'not_eligible', 'duplicated']
CYCLE_STATES = ['draft', 'to_approve', 'approved', 'distributed', 'ended',
    'cancelled']
ENTITLEMENT_STATES = ['draft', 'pending_validation', 'approved',
    'distributed', 'redeemed', 'rejected', 'cancelled', 'expired']
PAYMENT_STATES = ['blocked', 'issued', 'sent', 'paid', 'failed']

PROGRAM_SCHEMAS = {
    'Program': {
        'code': Field('string', "Stable program code.", required=True),
        'name': Field('string', "", required=True),
        'target_type': Field('string', "Who is enrolled.", required=True,
            enum=['individual', 'group']),
        'state': Field('string', "", required=True,
            enum=['draft', 'active', 'ended']),
        'currency': Field('string', "ISO currency code.", nullable=True),
        'start_date': Field('string', "", nullable=True, format='date'),
        'end_date': Field('string', "", nullable=True, format='date'),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'ProgramMembership': {
        'program': Field('string', "Program code.", required=True),
        'registrant': Field('string', "Registrant code.", required=True),
        'registrant_type': Field('string', "", required=True,
            enum=['individual', 'group']),
        'state': Field('string', "", required=True,
            enum=MEMBERSHIP_STATES),
        'enrolment_date': Field('string', "", nullable=True,
            format='date'),
        'state_date': Field('string', "", nullable=True, format='date'),
        'exit_date': Field('string', "", nullable=True, format='date'),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'ProgramMembershipCreate': {
        'program': Field('string', "Program code.", required=True,
            pattern=CODE_PATTERN),
        'registrant': Field('string', "Registrant handle: its code or "
            "one of its IDs as `type|value`.", required=True,
            pattern=HANDLE_PATTERN),
        },
    'Cycle': {
        'ref': Field('string', "`PROGRAM:sequence`.", required=True),
        'program': Field('string', "Program code.", required=True),
        'sequence': Field('integer', "", required=True),
        'name': Field('string', "", required=True),
        'start_date': Field('string', "", required=True, format='date'),
        'end_date': Field('string', "", required=True, format='date'),
        'state': Field('string', "", required=True, enum=CYCLE_STATES),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'Entitlement': {
        'ref': Field('string', "Stable reference: `PROGRAM:sequence:"
            "REGISTRANT:kind`, plus `:item` for the entitlements of an item "
            "(in kind, basket vouchers). It "
            "names the beneficiary's entitlement of the cycle and follows "
            "its corrections.", required=True),
        'cycle': Field('string', "Cycle `PROGRAM:sequence`.",
            required=True),
        'program': Field('string', "Program code.", required=True),
        'registrant': Field('string', "Registrant code.", required=True),
        'kind': Field('string', "", required=True,
            enum=['cash', 'in_kind', 'voucher']),
        'amount': Field('string', "Decimal amount.", required=True),
        'fee': Field('string', "Decimal fee.", required=True),
        'currency': Field('string', "", nullable=True),
        'code': Field('string', "Voucher code.", nullable=True),
        'valid_from': Field('string', "", nullable=True, format='date'),
        'valid_until': Field('string', "", nullable=True, format='date'),
        'state': Field('string', "", required=True,
            enum=ENTITLEMENT_STATES),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'Payment': {
        'reference': Field('string', "Unique payment reference.",
            required=True),
        'cycle': Field('string', "Cycle `PROGRAM:sequence`.",
            required=True),
        'registrant': Field('string', "Payee registrant code.",
            required=True),
        'amount': Field('string', "Decimal amount.", required=True),
        'currency': Field('string', "", nullable=True),
        'state': Field('string', "", required=True, enum=PAYMENT_STATES),
        'paid_amount': Field('string', "", nullable=True),
        'paid_date': Field('string', "", nullable=True, format='date'),
        'provider_reference': Field('string', "", nullable=True),
        'failure_reason': Field('string', "", nullable=True),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'PaymentStatus': {
        'status': Field('string', "The provider's outcome.", required=True,
            enum=['paid', 'failed']),
        'paid_amount': Field('string', "Amount paid (decimal text); "
            "required when paid, must equal the payment amount.",
            pattern=DECIMAL_PATTERN),
        'paid_date': Field('string', "", nullable=True, format='date'),
        'provider_reference': text("The provider's transaction id.",
            nullable=True, max_length=64),
        },
    }

MODIFIED_SINCE = Param('modified_since', "Created or changed at or after "
    "this instant (ISO 8601, UTC if no offset).", format='date-time')
PROGRAM_FILTER = Param('program', "Program code.", pattern=CODE_PATTERN)
REGISTRANT_FILTER = Param('registrant', "Registrant handle (code or "
    "`type|value`).", pattern=HANDLE_PATTERN)
CYCLE_FILTER = Param('cycle', "Cycle `PROGRAM:sequence`.",
    pattern=CYCLE_PATTERN)


def state_filter(states):
    return Param('state', "State.", enum=states)


PROGRAM = 'spp.program'
ENTITLEMENT = 'spp.entitlement'
PAYMENT = 'spp.payment'

PROGRAM_OPERATIONS = [
    Operation('GET', '/programs', 'program:read', "List programs",
        'list_programs', params=[
            state_filter(['draft', 'active', 'ended']),
            MODIFIED_SINCE] + PAGE_PARAMS,
        response='Program', list_response=True, requires=PROGRAM),
    Operation('GET', '/programs/{code}', 'program:read', "Get a program",
        'get_program', path_params=[
            Param('code', "Program code.", pattern=CODE_PATTERN)],
        response='Program', requires=PROGRAM),
    Operation('GET', '/program_memberships', 'program_membership:read',
        "List program memberships (beneficiaries)",
        'list_program_memberships', params=[
            PROGRAM_FILTER, state_filter(MEMBERSHIP_STATES),
            REGISTRANT_FILTER, MODIFIED_SINCE] + PAGE_PARAMS,
        response='ProgramMembership', list_response=True, requires=PROGRAM),
    Operation('GET', '/programs/{code}/memberships/{handle}',
        'program_membership:read',
        "Get a registrant's membership of a program", 'get_program_membership',
        path_params=[
            Param('code', "Program code.", pattern=CODE_PATTERN),
            Param('handle', "Registrant handle (code or `type|value`).",
                pattern=HANDLE_PATTERN)],
        response='ProgramMembership', requires=PROGRAM),
    Operation('POST', '/program_memberships', 'program_membership:create',
        "Enrol a registrant into a program (200 when already enrolled)",
        'enrol', request='ProgramMembershipCreate',
        response='ProgramMembership', status=201, other_statuses=[200],
        requires=PROGRAM),
    Operation('GET', '/cycles', 'cycle:read', "List program cycles",
        'list_cycles', params=[
            PROGRAM_FILTER, state_filter(CYCLE_STATES),
            MODIFIED_SINCE] + PAGE_PARAMS,
        response='Cycle', list_response=True, requires=PROGRAM),
    Operation('GET', '/cycles/{ref}', 'cycle:read', "Get a cycle",
        'get_cycle', path_params=[
            Param('ref', "`PROGRAM:sequence`.", pattern=CYCLE_PATTERN)],
        response='Cycle', requires=PROGRAM),
    Operation('GET', '/entitlements', 'entitlement:read',
        "List entitlements", 'list_entitlements', params=[
            PROGRAM_FILTER, CYCLE_FILTER,
            state_filter(ENTITLEMENT_STATES), REGISTRANT_FILTER,
            MODIFIED_SINCE] + PAGE_PARAMS,
        response='Entitlement', list_response=True, requires=ENTITLEMENT),
    Operation('GET', '/entitlements/{ref}', 'entitlement:read',
        "Get an entitlement (the live one, else the latest, of its "
        "reference)", 'get_entitlement', path_params=[
            Param('ref', "`PROGRAM:sequence:REGISTRANT:kind[:item]`, as "
                "given by the entitlement's `ref`.",
                pattern=ENTITLEMENT_REF_PATTERN)],
        response='Entitlement', requires=ENTITLEMENT),
    Operation('GET', '/payments', 'payment:read', "List payments",
        'list_payments', params=[
            PROGRAM_FILTER, CYCLE_FILTER, state_filter(PAYMENT_STATES),
            REGISTRANT_FILTER, MODIFIED_SINCE] + PAGE_PARAMS,
        response='Payment', list_response=True, requires=PAYMENT),
    Operation('GET', '/payments/{reference}', 'payment:read',
        "Get a payment", 'get_payment', path_params=[
            Param('reference', "Payment reference.",
                pattern=REFERENCE_PATTERN)],
        response='Payment', requires=PAYMENT),
    Operation('POST', '/payments/{reference}/status', 'payment:write',
        "Record the provider's outcome of a payment (idempotent: the same "
        "outcome again changes nothing)", 'record_payment_status',
        path_params=[
            Param('reference', "Payment reference.",
                pattern=REFERENCE_PATTERN)],
        request='PaymentStatus', response='Payment', requires=PAYMENT),
    ]
