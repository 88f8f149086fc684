"""REST resources of grievances (spp_grievance): a partner system (a call
centre, a web form, a community app) files a complaint and gives the
complainant its receipt; anyone holding the reference follows it. Routed
only where the addon is activated (`requires`).

A ticket is addressed by its reference, categories and channels by code,
registrants by handle (code or `type|value`): never a database id. What
the status answer holds is what a complainant may know: never who filed
the complaint, nor the team or the person handling it."""
from trytond import config

from .declarations import (
    HANDLE_PATTERN, Field, Operation, Param, code, text)
from .resources_programs import REFERENCE_PATTERN

GRIEVANCE_STATES = ['new', 'acknowledged', 'investigating', 'resolved',
    'closed', 'reopened']
PRIORITIES = ['low', 'normal', 'high', 'urgent']
DECISIONS = ['upheld', 'partly_upheld', 'not_upheld', 'withdrawn',
    'referred']
DESCRIPTION_MAX = 2000
MAX_ATTACHMENTS = 5
# Base64 as RFC 4648 writes it (padded, no line breaks): what `data` is.
BASE64_PATTERN = (r'^(?:[A-Za-z0-9+/]{4})*'
    r'(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$')
MEDIA_TYPE_TOKEN = r'[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,63}'
MEDIA_TYPE_PATTERN = f'^{MEDIA_TYPE_TOKEN}/{MEDIA_TYPE_TOKEN}$'


def max_attachment_size():
    "Bytes an attachment may hold: `[spp_grievance] max_attachment_size`."
    return config.getint('spp_grievance', 'max_attachment_size',
        default=5 * 1024 * 1024)


def max_body():
    """Bytes a filing may hold: its attachments at their largest, in
    base64 (4 characters for 3 bytes), and room for the rest."""
    return MAX_ATTACHMENTS * (-(-max_attachment_size() // 3) * 4) + (
        1024 * 1024)


def _deadline(what):
    return Field('string', f"When the complaint is to be {what} at the "
        "latest (from its category's deadlines).", nullable=True,
        format='date-time')


GRIEVANCE_SCHEMAS = {
    'Grievance': {
        'reference': Field('string', "The ticket's reference, as on the "
            "receipt.", required=True),
        'state': Field('string', "", required=True, enum=GRIEVANCE_STATES),
        'category': Field('string', "Category code.", required=True),
        'subcategory': Field('string', "Subcategory code.", nullable=True),
        'received_on': Field('string', "", required=True,
            format='date-time'),
        'acknowledge_by': _deadline("acknowledged"),
        'resolve_by': _deadline("answered"),
        'acknowledged_on': Field('string', "", nullable=True,
            format='date-time'),
        'resolved_on': Field('string', "", nullable=True,
            format='date-time'),
        'decision': Field('string', "Once resolved.", nullable=True,
            enum=DECISIONS),
        'answer': Field('string', "The answer to the complainant, once "
            "resolved or closed.", nullable=True),
        'appeal_of': Field('string', "The reference of the ticket this "
            "one appeals.", nullable=True),
        },
    'GrievanceReceipt': {
        'reference': Field('string', "Give it to the complainant: it is "
            "how the complaint is followed and appealed.", required=True),
        'state': Field('string', "", required=True, enum=GRIEVANCE_STATES),
        'received_on': Field('string', "", required=True,
            format='date-time'),
        'acknowledge_by': _deadline("acknowledged"),
        'resolve_by': _deadline("answered"),
        'receipt': Field('string', "The receipt to read or send to the "
            "complainant.", required=True),
        },
    'GrievanceAttachment': {
        'filename': text("The file's name (photo.jpg, letter.pdf).",
            required=True, min_length=1),
        'content_type': Field('string', "Its media type (image/jpeg).",
            pattern=MEDIA_TYPE_PATTERN),
        'data': Field('string', "The file, base64-encoded; at most "
            "`[spp_grievance] max_attachment_size` bytes (5 MB by "
            "default) once decoded.", required=True, format='byte',
            pattern=BASE64_PATTERN),
        },
    'GrievanceCreate': {
        'category': code("Category code.", required=True),
        'subcategory': code("Subcategory code, of the category."),
        'channel': code("How the complaint came in (walk_in, phone, sms, "
            "web, email, volunteer, partner, other); default partner."),
        'complainant': Field('string', "The complainant when registered: "
            "its code or one of its IDs as `type|value`. Absent or null "
            "for an anonymous complaint or a person not in the registry.",
            nullable=True, pattern=HANDLE_PATTERN),
        'complainant_name': text("A complainant not in the registry: the "
            "name.", nullable=True),
        'complainant_contact': text("How to answer the complainant (a "
            "phone number, an email, an address).", nullable=True),
        'confidential': Field('boolean', "Who complained is then seen "
            "only by the sensitive cases group."),
        'registrant': Field('string', "The registrant the complaint is "
            "about (handle); default the complainant.", nullable=True,
            pattern=HANDLE_PATTERN),
        'area': code("Area code: where the complaint is handled. Required "
            "when it names no registrant; default the registrant's area."),
        'description': text("What happened, in the complainant's words.",
            required=True, max_length=DESCRIPTION_MAX, min_length=1),
        'priority': Field('string', "Default normal.", enum=PRIORITIES),
        'received_on': Field('string', "When the complaint reached the "
            "partner (the deadlines count from it); default now.",
            format='date-time'),
        'attachments': Field('array', f"At most {MAX_ATTACHMENTS} files.",
            items='GrievanceAttachment', max_items=MAX_ATTACHMENTS),
        },
    }

GRIEVANCE = 'spp.grievance'

GRIEVANCE_OPERATIONS = [
    Operation('POST', '/grievances', 'grievance:create',
        "File a complaint: answers its reference, deadlines and receipt",
        'create_grievance', request='GrievanceCreate',
        response='GrievanceReceipt', status=201, requires=GRIEVANCE,
        max_body=max_body),
    Operation('GET', '/grievances/{reference}', 'grievance:read',
        "Follow a complaint: its state, deadlines and, once resolved, the "
        "answer", 'get_grievance',
        path_params=[
            Param('reference', "Grievance reference (on the receipt).",
                pattern=REFERENCE_PATTERN)],
        response='Grievance', requires=GRIEVANCE),
    ]
