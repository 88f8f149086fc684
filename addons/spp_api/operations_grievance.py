"""The REST operations of grievances (see `resources_grievance`).

They run only where spp_grievance is activated (the routes answer 404
elsewhere), so its models are looked up in the pool, never imported.

The client's acting user files and reads as in Tryton: it needs a
grievance group, and its record rules apply (the API otherwise runs
without trytond's access checks: its scopes are the permissions). A ticket
the caller may not read is not found, exactly like a missing one; a
registrant outside the client's areas, or that the acting user may not
read, is refused exactly like an unknown one. No answer names the
complainant: a partner files, the complainant follows by reference."""
import base64
import datetime as dt

from trytond.pool import Pool
from trytond.transaction import check_access

from .handlers import ApiError, _iso, not_found
from .operations_programs import _registrant, _served
from .resources_grievance import max_attachment_size
from .validation import ValidationFailure

GRIEVANCE = 'spp.grievance'
# A filing may say it was received a little ahead of our clock: clocks
# drift; a later time is a mistake (the deadlines would start from it).
CLOCK_SKEW = dt.timedelta(minutes=5)
ANSWERED_STATES = {'resolved', 'closed'}


def _check_user(mode):
    "403 when the acting user has no access to grievances (no group)."
    ModelAccess = Pool().get('ir.model.access')
    with check_access():
        allowed = ModelAccess.check(GRIEVANCE, mode, raise_exception=False)
    if not allowed:
        what = "file" if mode == 'create' else "read"
        raise ApiError(403, 'forbidden_user', f"This client's acting user "
            f"may not {what} grievances: give it a grievance group "
            "(Grievance Officer) in Tryton.")


def _rule(model, mode='read'):
    "The acting user's rule on `model` for `mode` (a domain, maybe empty)."
    Rule = Pool().get('ir.rule')
    with check_access():
        return Rule.domain_get(model, mode=mode)


def _visible_domain(scope, mode='read'):
    """Domain of the tickets the caller may read (or file, mode create):
    in the client's areas, and allowed by the acting user's rules."""
    domain = scope.area_domain('area', registrant='registrant',
        optional=True)
    rule = _rule(GRIEVANCE, mode)
    if rule:
        domain.append(rule)
    return domain


# -- filing ----------------------------------------------------------------

def _unknown_registrant(where):
    "The one refusal of an unknown registrant and of a hidden one."
    return ValidationFailure(f"{where}: no registrant matches this handle.")


def _party(scope, handle, where):
    """The registrant of a handle that the client (its areas) and its
    acting user (its registry rules) may see; None for no handle."""
    if not handle:
        return None
    party = _registrant(scope, handle)
    rule = _rule('party.party')
    if party and rule and not scope.Party.search(
            [('id', '=', party.id), rule], limit=1):
        party = None
    if party is None:
        raise _unknown_registrant(where)
    return party


def _category(code):
    "The active top-level category of a code; 422 otherwise."
    Category = Pool().get('spp.grievance.category')
    found = Category.search([('code', '=', code)], limit=1)
    if not found:
        raise ValidationFailure(f"body.category: unknown category {code!r}.")
    category, = found
    if category.parent:
        raise ValidationFailure(f"body.category: {code!r} is a subcategory "
            f"of {category.parent.code!r}: send that as the category and "
            f"{code!r} as the subcategory.")
    return category


def _subcategory(category, code):
    "The active subcategory of a code, of `category`; 422 otherwise."
    if not code:
        return None
    Category = Pool().get('spp.grievance.category')
    found = Category.search([('code', '=', code)], limit=1)
    if not found:
        raise ValidationFailure(
            f"body.subcategory: unknown subcategory {code!r}.")
    subcategory, = found
    if subcategory.parent != category:
        raise ValidationFailure(f"body.subcategory: {code!r} is not a "
            f"subcategory of {category.code!r}.")
    return subcategory


def _area(scope, body, parties):
    """(area id, the body field it comes from): the area sent (one of the
    client's), else the area of the registrant the complaint is about,
    else the complainant's."""
    if body.get('area'):
        area = scope.by_code('spp.area', body['area'], 'body.area')
        if scope.client['areas'] and not scope.Area.search(
                [('id', '=', area)] + scope.areas_domain(), limit=1):
            raise ApiError(403, 'forbidden_area',
                "This client may not file grievances in this area.")
        return area, 'body.area'
    for where, party in parties:
        if party and party.area:
            return party.area.id, where
    raise ValidationFailure("body.area: required when the complaint names "
        "no registrant with an area.")


def _complainant_values(scope, body):
    "ORM values of who complains and about whom; the area's source."
    complainant = _party(scope, body.get('complainant'), 'body.complainant')
    about = _party(scope, body.get('registrant'), 'body.registrant')
    name = body.get('complainant_name')
    contact = body.get('complainant_contact')
    if complainant and name:
        raise ValidationFailure("body.complainant_name: only for a person "
            "not in the registry (no complainant handle).")
    if complainant:
        kind = 'registrant'
    else:
        kind = 'other' if (name or contact) else 'anonymous'
    registrant = about or complainant
    area, source = _area(scope, body, [('body.registrant', about),
            ('body.complainant', complainant)])
    return {
        'complainant_kind': kind,
        'complainant': complainant.id if complainant else None,
        'complainant_name': name if kind == 'other' else None,
        'complainant_contact': contact,
        'confidential': bool(body.get('confidential')),
        'registrant': registrant.id if registrant else None,
        'area': area,
        }, source


def _attachments(body):
    "[(filename, content type, bytes)] of the body; 413 for a large one."
    limit = max_attachment_size()
    result = []
    for i, attachment in enumerate(body.get('attachments') or []):
        # The pattern was checked: this is padded base64.
        data = base64.b64decode(attachment['data'], validate=True)
        if len(data) > limit:
            raise ApiError(413, 'too_large', f"body.attachments[{i}]: "
                f"{_megabytes(len(data))} is more than an attachment may "
                f"hold ({_megabytes(limit)}).")
        result.append((attachment['filename'].strip(),
                attachment.get('content_type'), data))
    return result


def _megabytes(size):
    return f"{size / 1024 / 1024:.1f} MB"


def _received_on(body):
    received_on = body.get('received_on')
    if received_on and received_on > dt.datetime.now() + CLOCK_SKEW:
        raise ValidationFailure("body.received_on: in the future.")
    return received_on


def _check_filable(scope, grievance, source):
    """Refuse a ticket the acting user may not file (its create rules: an
    officer files in its areas, whatever the category): as an unknown
    registrant when a registrant's area placed it, so that the refusal
    does not tell where a registrant lives; else 403."""
    Grievance = Pool().get(GRIEVANCE)
    if Grievance.search([('id', '=', grievance.id)]
            + _visible_domain(scope, 'create'), limit=1):
        return
    if source != 'body.area':
        raise _unknown_registrant(source)
    raise ApiError(403, 'forbidden_area', "This client's acting user may "
        "not file grievances in this area.")


def create_grievance(scope, query, body):
    """File a ticket as the client's acting user, with its attachments,
    and answer its receipt. Any refusal writes nothing: the call's
    transaction is rolled back (routes.handle)."""
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    Grievance = pool.get(GRIEVANCE)
    _check_user('create')
    category = _category(body['category'])
    subcategory = _subcategory(category, body.get('subcategory'))
    channel = scope.by_code('spp.grievance.channel',
        body.get('channel') or 'partner', 'body.channel')
    people, source = _complainant_values(scope, body)
    attachments = _attachments(body)
    values = {
        'channel': channel,
        'category': category.id,
        'subcategory': subcategory.id if subcategory else None,
        'description': body['description'].strip(),
        'priority': body.get('priority') or 'normal',
        **people,
        }
    received_on = _received_on(body)
    if received_on:
        values['received_on'] = received_on
    grievance, = Grievance.create([values])
    _check_filable(scope, grievance, source)
    Attachment.create([{
                'resource': str(grievance),
                'name': filename,
                'data': data,
                'description': (f"Sent through the API as {content_type}."
                    if content_type else "Sent through the API."),
                } for filename, content_type, data in attachments])
    grievance, = _served(scope, [Grievance(grievance.id)])
    return 201, {
        'reference': grievance.reference,
        'state': grievance.state,
        'received_on': _iso(grievance.received_on, datetime=True),
        'acknowledge_by': _iso(grievance.ack_due, datetime=True),
        'resolve_by': _iso(grievance.resolution_due, datetime=True),
        'receipt': grievance.receipt_text(),
        }


# -- following -------------------------------------------------------------

def _status(grievance):
    "What a complainant may know of the ticket."
    answered = grievance.state in ANSWERED_STATES
    return {
        'reference': grievance.reference,
        'state': grievance.state,
        'category': grievance.category.code,
        'subcategory': (grievance.subcategory.code
            if grievance.subcategory else None),
        'received_on': _iso(grievance.received_on, datetime=True),
        'acknowledge_by': _iso(grievance.ack_due, datetime=True),
        'resolve_by': _iso(grievance.resolution_due, datetime=True),
        'acknowledged_on': _iso(grievance.acknowledged_on, datetime=True),
        'resolved_on': _iso(grievance.resolved_on, datetime=True),
        # A decision under way (or of before a reopening) is not one yet.
        'decision': grievance.decision if answered else None,
        'answer': grievance.resolution if answered else None,
        'appeal_of': (grievance.appeal_of.reference
            if grievance.appeal_of else None),
        }


def get_grievance(scope, query, body, reference):
    "The visible ticket of a reference, or 404 (also when hidden)."
    Grievance = Pool().get(GRIEVANCE)
    _check_user('read')
    records = Grievance.search([('reference', '=', reference)]
        + _visible_domain(scope), limit=1)
    if not records:
        raise not_found("grievance")
    return 200, _status(_served(scope, records)[0])
