"""The REST operations of change requests (see `resources_change_request`).

They run only where spp_change_request is activated (the routes answer 404
elsewhere), so its models are looked up in the pool, never imported.

A request is visible to a client when its area is one of the client's (or
below) and the acting user's read rules let that user read it: a hidden
request is not found, exactly like a missing one. A registrant the client
may not see is refused exactly like an unknown one."""
from trytond.pool import Pool
from trytond.transaction import check_access

from .handlers import ApiError, _iso, not_found
from .operations_programs import (
    _listing, _modified, _plain_filters, _registrant, _served)
from .validation import ValidationFailure

# The request fields a body may fill in besides its kind, registrant and
# reason; each only for the kinds whose form shows it (`form_fields` of
# the kind's implementation), so that nothing sent is silently ignored.
STRUCTURAL = ['proposed', 'individual', 'role', 'target_group',
    'effective_date', 'id_type', 'id_number', 'identifier', 'exit_reason']
# How a refusal names the registrant a kind is about (its target).
TARGET_NAMES = {'individual': "individual", 'group': "group",
    'any': "registrant"}


def _visible_domain(scope):
    """Domain of the requests the caller may read: in the client's areas,
    and allowed by the acting user's read rules. The API runs without
    trytond's access checks (its scopes are the permissions), so the rules
    are added here: an acting user limited to districts reads no more
    through its client than in Tryton."""
    Rule = Pool().get('ir.rule')
    with check_access():
        rule = Rule.domain_get('spp.change_request', mode='read')
    domain = scope.area_domain('area', registrant='registrant',
        optional=True)
    if rule:
        domain.append(rule)
    return domain


def _change_requests(records):
    return [{
            'reference': r.reference,
            'kind': r.kind.code,
            'registrant': r.registrant.code if r.registrant else None,
            'state': r.state,
            'stage': r.stage.name if r.stage else None,
            'submitted_on': _iso(r.submitted_on, datetime=True),
            'applied_on': _iso(r.applied_on, datetime=True),
            'modified': _modified(r),
            } for r in records]


# -- creation --------------------------------------------------------------

def _kind(code):
    "The active kind of a code; 422 when unknown (or deactivated)."
    Kind = Pool().get('spp.change_request.kind')
    kinds = Kind.search([('code', '=', code)], limit=1)
    if not kinds:
        raise ValidationFailure(f"body.kind: unknown kind {code!r}.")
    return kinds[0]


def _unknown_registrant(target):
    "The one refusal of an unknown registrant and of a hidden one."
    return ValidationFailure(
        f"body.registrant: no {TARGET_NAMES[target]} matches this handle.")


def _subject(scope, kind, handle):
    """The visible registrant of a handle of the type the kind is about
    (either type for 'any'). A kind without a target creates its
    registrant (a new household, with its members): made in Tryton."""
    target = kind.target
    if target is None:
        raise ValidationFailure(f"body.kind: requests of the kind "
            f"{kind.code!r} create their registrant; make them in Tryton.")
    if target == 'any':
        party = _registrant(scope, handle)
    else:
        party = _party(scope, handle, target)
    if party is None:
        raise _unknown_registrant(target)
    return party


def _party(scope, handle, registrant_type):
    "The visible registrant of a handle and type, or None."
    try:
        return scope.resolve(handle, registrant_type, registrant_type)
    except ApiError:
        return None


def _member(scope, body, name, registrant_type):
    "Id of the visible registrant a structural field names, or 422."
    party = _party(scope, body[name], registrant_type)
    if party is None:
        raise ValidationFailure(
            f"body.{name}: no {registrant_type} matches this handle.")
    return party.id


def _identifier(scope, registrant, handle):
    "Id of the registrant's ID given as `type|value`, or 422."
    id_type, number = handle.split('|', 1)
    scope.id_type(id_type, 'body.identifier')
    Identifier = scope.Identifier
    found = Identifier.search([
            ('party', '=', registrant.id),
            ('type', '=', id_type),
            ('code_compact', '=', Identifier.compact_code(id_type, number)),
            ], limit=1)
    if not found:
        raise ValidationFailure(
            "body.identifier: the registrant holds no such ID.")
    return found[0].id


def _check_proposed(request, proposed):
    """Refuse, naming the field, a proposed value of an edit request that
    its kind may not change or that the kind's own rules (editable.coerce)
    cannot read: here rather than at submit, so that a draft (`submit:
    false`) holds none either (the registry's other rules, such as a birth
    date in the future, are the submission's).

    Called once the request exists: ChangeRequest.editable_fields() keeps
    its specs in the transaction's cache under the model's name, which
    must then already hold the model's record cache."""
    from trytond.modules.spp_change_request.editable import (
        ProposedValueError, coerce)
    ChangeRequest = Pool().get('spp.change_request')
    specs = ChangeRequest.editable_fields()
    kind = request.kind
    allowed = {f.name for f in kind.fields_}
    for key, value in proposed.items():
        where = f'body.proposed.{key}'
        if key not in allowed or key not in specs:
            raise ValidationFailure(f"{where}: requests of the kind "
                f"{kind.code!r} may not change it.")
        try:
            coerce(key, specs[key], value)
        except ProposedValueError as error:
            raise ValidationFailure(f"{where}: {error.message}")


def _structural(scope, kind, registrant, body):
    "ORM values of the structural fields of a body, for the kind."
    shown = set(kind.get_implementation().form_fields)
    for name in STRUCTURAL:
        if body.get(name) and name not in shown:
            raise ValidationFailure(f"body.{name}: not used by requests "
                f"of the kind {kind.code!r}.")
    values = {}
    if body.get('proposed'):
        values['proposed'] = body['proposed']
    if body.get('individual'):
        values['individual'] = _member(scope, body, 'individual',
            'individual')
    if body.get('target_group'):
        values['target_group'] = _member(scope, body, 'target_group',
            'group')
    if body.get('role'):
        values['role'] = scope.by_code('spp.group.membership.role',
            body['role'], 'body.role')
    if body.get('id_type'):
        values['id_type'] = scope.id_type(body['id_type'], 'body.id_type')
    if body.get('identifier'):
        values['identifier'] = _identifier(scope, registrant,
            body['identifier'])
    for name in ['effective_date', 'id_number', 'exit_reason']:
        if body.get(name):
            values[name] = body[name]
    return values


def _check_readable(scope, request):
    """403 when the acting user could not read the request it would make
    (its rules are narrower than the client's areas): the client would
    create what it then cannot follow."""
    ChangeRequest = Pool().get('spp.change_request')
    if not ChangeRequest.search([('id', '=', request.id)]
            + _visible_domain(scope), limit=1):
        raise ApiError(403, 'forbidden_area', "This client's acting user "
            "may not read change requests of the registrant's area.")


def create_change_request(scope, query, body):
    """Create a request as the client's acting user (its requester, who
    may then not decide it) and submit it with the registry's rules,
    unless `submit` is false. Any refusal (unknown code, a value the
    registry would refuse, a missing document, a conflicting request)
    writes nothing: the call's transaction is rolled back, and a rule of
    the registry answers 422 with its message (routes.handle)."""
    ChangeRequest = Pool().get('spp.change_request')
    kind = _kind(body['kind'])
    registrant = _subject(scope, kind, body['registrant'])
    request, = ChangeRequest.create([{
                'kind': kind.id,
                'registrant': registrant.id,
                'reason': body.get('reason'),
                **_structural(scope, kind, registrant, body),
                }])
    if body.get('proposed'):
        _check_proposed(request, body['proposed'])
    _check_readable(scope, request)
    if body.get('submit', True):
        ChangeRequest.submit([request])
    return 201, _change_requests(_served(scope,
            [ChangeRequest(request.id)]))[0]


# -- reading ---------------------------------------------------------------

def list_change_requests(scope, query, body):
    ChangeRequest = Pool().get('spp.change_request')
    domain = _visible_domain(scope) + _plain_filters(query)
    if query.get('registrant'):
        party = _registrant(scope, query['registrant'])
        # An unknown or hidden registrant: an empty page either way.
        domain = (domain + [('registrant', '=', party.id)]
            if party else None)
    return _listing(scope, ChangeRequest, domain, query, _change_requests)


def get_change_request(scope, query, body, reference):
    "The visible request of a reference, or 404 (also when hidden)."
    ChangeRequest = Pool().get('spp.change_request')
    records = ChangeRequest.search([('reference', '=', reference)]
        + _visible_domain(scope), limit=1)
    if not records:
        raise not_found("change request")
    return 200, _change_requests(_served(scope, records))[0]
