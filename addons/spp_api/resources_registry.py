"""The registry's REST resources (individuals, groups, memberships, IDs,
areas), declared with `declarations`; resources.py gathers them with those
of the other addons."""
from .declarations import (
    CODE_PATTERN, HANDLE_PATTERN, ID_FILTER_PATTERN, ID_TYPE_PATTERN,
    ID_VALUE_PATTERN, PAGE_PARAMS, Field, Operation, Param, code,
    custom_fields, text)

CIVIL_STATUSES = [
    'single', 'married', 'partnered', 'divorced', 'separated', 'widowed']

REGISTRY_SCHEMAS = {
    'IdentifierValue': {
        'type': Field('string', "ID type code (e.g. national_id).",
            required=True, pattern=ID_TYPE_PATTERN),
        'value': Field('string', "The number as written on the document.",
            required=True, pattern=ID_VALUE_PATTERN),
        },
    'Individual': {
        'code': Field('string', "Stable registrant reference.",
            required=True),
        'name': Field('string', "Full name.", required=True),
        'family_name': Field('string', "", nullable=True),
        'given_name': Field('string', "", nullable=True),
        'additional_name': Field('string', "", nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': Field('string', "Gender code.", nullable=True),
        'civil_status': Field('string', "", nullable=True),
        'occupation': Field('string', "", nullable=True),
        'disability': Field('boolean', "", required=True),
        'area': Field('string', "Area code.", nullable=True),
        'registration_date': Field('string', "", nullable=True,
            format='date'),
        'disabled': Field('boolean', "Disabled registrants are kept as "
            "history.", required=True),
        'identifiers': Field('array', "", required=True,
            items='IdentifierValue'),
        'custom_fields': custom_fields("Custom field values by name "
            "(spp_custom_field)."),
        'modified': Field('string', "Last change (UTC).", required=True,
            format='date-time'),
        },
    'IndividualCreate': {
        'family_name': text("Family name.", required=True, min_length=1),
        'given_name': text("Given name.", required=True, min_length=1),
        'additional_name': text("Middle name, patronymic...",
            nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': code("Gender code (female, male...).", nullable=True),
        'civil_status': Field('string', "", nullable=True,
            enum=CIVIL_STATUSES),
        'occupation': text("", nullable=True),
        'disability': Field('boolean', ""),
        'area': code("Area code.", nullable=True),
        'identifiers': Field('array', "ID documents.",
            items='IdentifierValue', max_items=10),
        'custom_fields': custom_fields("Custom field values by name; "
            "checked against each field's type.", 'individual'),
        },
    'IndividualUpdate': {
        'family_name': text("Family name.", min_length=1),
        'given_name': text("Given name.", min_length=1),
        'additional_name': text("", nullable=True),
        'birth_date': Field('string', "", nullable=True, format='date'),
        'gender': code("Gender code.", nullable=True),
        'civil_status': Field('string', "", nullable=True,
            enum=CIVIL_STATUSES),
        'occupation': text("", nullable=True),
        'disability': Field('boolean', ""),
        'area': code("Area code.", nullable=True),
        'custom_fields': custom_fields("Custom field values to set "
            "(others are kept); null clears a value.", 'individual'),
        },
    'Member': {
        'individual': Field('string', "Code of the individual.",
            required=True),
        'name': Field('string', "", required=True),
        'roles': Field('array', "Role codes (head, spouse, child...).",
            required=True, items=Field('string')),
        'start_date': Field('string', "", nullable=True, format='date'),
        'end_date': Field('string', "", nullable=True, format='date'),
        },
    'Group': {
        'code': Field('string', "Stable registrant reference.",
            required=True),
        'name': Field('string', "", required=True),
        'kind': Field('string', "Group kind code.", nullable=True),
        'area': Field('string', "Area code.", nullable=True),
        'member_count': Field('integer', "Active members.", required=True),
        'child_count': Field('integer', "", required=True),
        'elderly_count': Field('integer', "", required=True),
        'disabled': Field('boolean', "", required=True),
        'identifiers': Field('array', "", required=True,
            items='IdentifierValue'),
        'members': Field('array', "", required=True, items='Member'),
        'custom_fields': custom_fields("Custom field values by name."),
        'modified': Field('string', "", required=True, format='date-time'),
        },
    'MemberCreate': {
        'individual': Field('object', "The new member.", required=True,
            ref='IndividualCreate'),
        'roles': Field('array', "Role codes.", max_items=5,
            items=Field('string', pattern=CODE_PATTERN)),
        'start_date': Field('string', "", nullable=True, format='date'),
        },
    'GroupCreate': {
        'name': text("Household name.", required=True, min_length=1),
        'kind': code("Group kind code (default household).",
            nullable=True),
        'area': code("Area code.", nullable=True),
        'identifiers': Field('array', "", items='IdentifierValue',
            max_items=10),
        'members': Field('array', "The members, created with the group.",
            required=True, items='MemberCreate', min_items=1,
            max_items=50),
        'custom_fields': custom_fields("Custom field values of the "
            "group.", 'group'),
        },
    'GroupUpdate': {
        'name': text("Household name.", min_length=1),
        'kind': code("Group kind code.", nullable=True),
        'area': code("Area code (the members keep theirs).",
            nullable=True),
        'custom_fields': custom_fields("Custom field values to set "
            "(others are kept); null clears a value.", 'group'),
        },
    'Membership': {
        'group': Field('string', "Group code.", required=True),
        'individual': Field('string', "Individual code.", required=True),
        'roles': Field('array', "", required=True, items=Field('string')),
        'start_date': Field('string', "", nullable=True, format='date'),
        'end_date': Field('string', "", nullable=True, format='date'),
        },
    'Identifier': {
        'registrant': Field('string', "Registrant code.", required=True),
        'registrant_type': Field('string', "", required=True,
            enum=['individual', 'group']),
        'type': Field('string', "", required=True),
        'value': Field('string', "", required=True),
        },
    'Area': {
        'code': Field('string', "", required=True),
        'name': Field('string', "", required=True),
        'parent': Field('string', "Parent area code.", nullable=True),
        'kind': Field('string', "Area kind code.", nullable=True),
        },
    }

REGISTRANT_FILTERS = [
    Param('id', "An ID as `type|value`, e.g. `national_id|1234567897`.",
        pattern=ID_FILTER_PATTERN),
    Param('area', "Area code; registrants of the area and the areas "
        "below it.", pattern=CODE_PATTERN),
    Param('modified_since', "Created or changed at or after this "
        "instant (ISO 8601, UTC if no offset).", format='date-time'),
    ]
HANDLE_PARAM = Param('handle', "The registrant's `code`, or one of its "
    "IDs as `type|value`.", pattern=HANDLE_PATTERN)


REGISTRY_OPERATIONS = [
    Operation('GET', '/individuals', 'individual:read',
        "List individuals", 'list_individuals',
        params=REGISTRANT_FILTERS + PAGE_PARAMS, response='Individual',
        list_response=True),
    Operation('POST', '/individuals', 'individual:create',
        "Create an individual", 'create_individual',
        request='IndividualCreate', response='Individual', status=201,
        unique_ids=True),
    Operation('GET', '/individuals/{handle}', 'individual:read',
        "Get an individual", 'get_individual',
        path_params=[HANDLE_PARAM], response='Individual'),
    Operation('POST', '/individuals/lookup', 'individual:read',
        "Find an individual by one of its IDs, sent in the body (recommended "
        "over `GET /individuals/{type|value}`, which puts the number in "
        "the URL and so in access logs)", 'lookup_individual',
        request='IdentifierValue', response='Individual', not_found=True),
    Operation('PATCH', '/individuals/{handle}', 'individual:update',
        "Update an individual", 'update_individual',
        path_params=[HANDLE_PARAM], request='IndividualUpdate',
        response='Individual'),
    Operation('GET', '/groups', 'group:read',
        "List groups (households) with their members", 'list_groups',
        params=REGISTRANT_FILTERS + PAGE_PARAMS, response='Group',
        list_response=True),
    Operation('POST', '/groups', 'group:create',
        "Create a household with its members in one call", 'create_group',
        request='GroupCreate', response='Group', status=201,
        unique_ids=True),
    Operation('GET', '/groups/{handle}', 'group:read',
        "Get a group with its members", 'get_group',
        path_params=[HANDLE_PARAM], response='Group'),
    Operation('POST', '/groups/lookup', 'group:read',
        "Find a group by one of its IDs, sent in the body (recommended "
        "over `GET /groups/{type|value}`)", 'lookup_group',
        request='IdentifierValue', response='Group', not_found=True),
    Operation('PATCH', '/groups/{handle}', 'group:update',
        "Update a group's own fields (name, kind, area, custom fields)",
        'update_group', path_params=[HANDLE_PARAM], request='GroupUpdate',
        response='Group'),
    Operation('GET', '/memberships', 'membership:read',
        "List group memberships", 'list_memberships',
        params=[
            Param('group', "Group handle (code or `type|value`).",
                pattern=HANDLE_PATTERN),
            Param('individual', "Individual handle.",
                pattern=HANDLE_PATTERN),
            Param('current', "Only memberships in force today.",
                enum=['true', 'false']),
            ] + PAGE_PARAMS,
        response='Membership', list_response=True),
    Operation('GET', '/identifiers', 'identifier:read',
        "List registrants' IDs", 'list_identifiers',
        params=[
            Param('type', "ID type code.", pattern=ID_TYPE_PATTERN),
            Param('registrant', "Registrant handle.",
                pattern=HANDLE_PATTERN),
            ] + PAGE_PARAMS,
        response='Identifier', list_response=True),
    Operation('GET', '/areas', 'area:read', "List areas", 'list_areas',
        params=[
            Param('parent', "Areas directly below this area code.",
                pattern=CODE_PATTERN),
            ] + PAGE_PARAMS,
        response='Area', list_response=True),
    Operation('GET', '/areas/{code}', 'area:read', "Get an area",
        'get_area', path_params=[
            Param('code', "Area code.", pattern=CODE_PATTERN)],
        response='Area'),
    ]
