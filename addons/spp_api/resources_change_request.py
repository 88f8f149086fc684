"""REST resources of change requests (spp_change_request): an external
system proposes a change of the registry (edit an individual, add a member,
add an ID...), which the registry's validators then decide in Tryton as
any other request. Routed only where the addon is activated (`requires`).

A request is addressed by its reference (`CR-2026-000001`), its kind by
code, registrants by handle (code or `type|value`): never a database id.
The API proposes and follows; deciding stays with people (maker-checker)."""
from .declarations import (
    CODE_PATTERN, HANDLE_PATTERN, ID_FILTER_PATTERN, ID_TYPE_PATTERN,
    ID_VALUE_PATTERN, PAGE_PARAMS, Field, Operation, Param, code, text)
from .resources_programs import (
    MODIFIED_SINCE, REFERENCE_PATTERN, REGISTRANT_FILTER, state_filter)

CHANGE_REQUEST_STATES = ['draft', 'submitted', 'revision', 'approved',
    'applied', 'rejected', 'cancelled']
EXIT_REASONS = ['death', 'migration', 'other']

CHANGE_REQUEST_SCHEMAS = {
    'ChangeRequest': {
        'reference': Field('string', "Unique request reference.",
            required=True),
        'kind': Field('string', "Kind code (edit_individual, add_member, "
            "add_id...).", required=True),
        'registrant': Field('string', "Code of the registrant the request "
            "is about.", nullable=True),
        'state': Field('string', "", required=True,
            enum=CHANGE_REQUEST_STATES),
        'stage': Field('string', "The validation stage a submitted "
            "request waits at.", nullable=True),
        'submitted_on': Field('string', "", nullable=True,
            format='date-time'),
        'applied_on': Field('string', "", nullable=True,
            format='date-time'),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'ChangeRequestCreate': {
        'kind': Field('string', "Kind code.", required=True,
            pattern=CODE_PATTERN),
        'registrant': Field('string', "Registrant handle: its code or one "
            "of its IDs as `type|value`.", required=True,
            pattern=HANDLE_PATTERN),
        'reason': text("Why the change is needed; shown to the validators.",
            nullable=True, max_length=2000),
        'proposed': Field('object', "Edit kinds: the new values by field "
            "(given_name, birth_date as YYYY-MM-DD, gender code, phone, "
            "income...); null clears a field. Only the kind's fields.",
            nullable=True),
        'individual': Field('string', "Member kinds: the individual "
            "concerned (handle).", pattern=HANDLE_PATTERN),
        'role': code("Member kinds: the role code (head, spouse...)."),
        'target_group': Field('string', "move_member: the destination "
            "household (handle).", pattern=HANDLE_PATTERN),
        'effective_date': Field('string', "When the change takes effect "
            "(today when absent).", format='date'),
        'id_type': Field('string', "add_id: the ID type code.",
            pattern=ID_TYPE_PATTERN),
        'id_number': Field('string', "add_id, correct_id: the number as "
            "written on the document.", pattern=ID_VALUE_PATTERN),
        'identifier': Field('string', "correct_id, withdraw_id: one of the "
            "registrant's IDs as `type|value`.", pattern=ID_FILTER_PATTERN),
        'exit_reason': Field('string', "exit_registrant.",
            enum=EXIT_REASONS),
        'submit': Field('boolean', "Submit to validation at once (default); "
            "false keeps a draft to complete in Tryton (documents)."),
        },
    }

CHANGE_REQUEST = 'spp.change_request'

CHANGE_REQUEST_OPERATIONS = [
    Operation('POST', '/change_requests', 'change_request:create',
        "Propose a change of the registry (submitted to validation unless "
        "`submit` is false)", 'create_change_request',
        request='ChangeRequestCreate', response='ChangeRequest', status=201,
        requires=CHANGE_REQUEST),
    Operation('GET', '/change_requests', 'change_request:read',
        "List change requests", 'list_change_requests', params=[
            state_filter(CHANGE_REQUEST_STATES), REGISTRANT_FILTER,
            MODIFIED_SINCE] + PAGE_PARAMS,
        response='ChangeRequest', list_response=True,
        requires=CHANGE_REQUEST),
    Operation('GET', '/change_requests/{reference}', 'change_request:read',
        "Get a change request (its state and stage)", 'get_change_request',
        path_params=[
            Param('reference', "Change request reference.",
                pattern=REFERENCE_PATTERN)],
        response='ChangeRequest', requires=CHANGE_REQUEST),
    ]
