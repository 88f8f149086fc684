"""Kinds about a registrant's ID documents and its exit from the
registry."""
from trytond.i18n import gettext
from trytond.pool import Pool

from .kinds import KindImplementation, mark_registrants, refuse

EXIT_REASONS = [
    ('death', "Death"),
    ('migration', "Migration"),
    ('other', "Other"),
    ]


class IdKind(KindImplementation):
    target = 'any'

    @staticmethod
    def type_name(code):
        IdType = Pool().get('spp.id.type')
        id_type = IdType.by_code().get(code)
        return id_type.name if id_type else (code or '')

    @classmethod
    def line(cls, request, current, proposed):
        return {'key': f'identifier:{request.id_type or ""}',
            'field': cls.type_name(request.id_type), 'current': current,
            'proposed': proposed}

    @classmethod
    def document_line(cls, request, proposed):
        "The line of the ID document a request corrects or withdraws."
        identifier = request.identifier
        return {'key': f'identifier:{identifier.id if identifier else ""}',
            'field': cls.type_name(identifier.type) if identifier else '',
            'current': identifier.code if identifier and identifier.active
            else '',
            'proposed': proposed}

    @classmethod
    def check_identifier_of(cls, request):
        identifier = request.identifier
        if (not identifier or identifier.party != request.registrant
                or not identifier.active):
            refuse('msg_identifier_not_held', request=request.rec_name,
                registrant=request.registrant.rec_name)
        return identifier


class AddId(IdKind):
    "Add an ID document"
    __string__ = "Add an ID document"
    __name__ = 'spp.change_request.kind.add_id'
    form_fields = ('id_type', 'id_number')

    @classmethod
    def preview(cls, requests):
        return {r.id: [cls.line(r, '', r.id_number or '')] for r in requests}

    @classmethod
    def check(cls, requests):
        for request in requests:
            if not request.id_type or not request.id_number:
                refuse('msg_id_type_missing', number=request.id_number or '')
            cls.check_identifier(
                request.registrant, request.id_type, request.id_number)

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Identifier.create([{'party': r.registrant.id, 'type': r.id_type,
                    'code': r.id_number} for r in requests])
        mark_registrants(requests)


class CorrectId(IdKind):
    "Correct an ID number"
    __string__ = "Correct an ID number"
    __name__ = 'spp.change_request.kind.correct_id'
    form_fields = ('identifier', 'id_number')

    @classmethod
    def preview(cls, requests):
        return {r.id: [cls.document_line(r, r.id_number or '')]
            for r in requests}

    @classmethod
    def check(cls, requests):
        for request in requests:
            identifier = cls.check_identifier_of(request)
            if not request.id_number or request.id_number == identifier.code:
                refuse('msg_nothing_proposed', request=request.rec_name)
            cls.check_identifier(request.registrant, identifier.type,
                request.id_number, exclude=[identifier])

    @classmethod
    def apply(cls, requests):
        Identifier = Pool().get('party.identifier')
        args = []
        for request in requests:
            args.extend(([request.identifier], {'code': request.id_number}))
        Identifier.write(*args)
        mark_registrants(requests)


class WithdrawId(IdKind):
    "Withdraw an ID document"
    __string__ = "Withdraw an ID document"
    __name__ = 'spp.change_request.kind.withdraw_id'
    form_fields = ('identifier',)

    @classmethod
    def preview(cls, requests):
        withdrawn = gettext('spp_change_request.msg_line_withdrawn')
        return {r.id: [cls.document_line(r, withdrawn)] for r in requests}

    @classmethod
    def check(cls, requests):
        for request in requests:
            cls.check_identifier_of(request)

    @classmethod
    def apply(cls, requests):
        Identifier = Pool().get('party.identifier')
        Identifier.write([r.identifier for r in requests], {'active': False})
        mark_registrants(requests)


class ExitRegistrant(KindImplementation):
    "Exit a registrant"
    __string__ = "Exit a registrant"
    __name__ = 'spp.change_request.kind.exit_registrant'
    target = 'any'
    form_fields = ('exit_reason', 'effective_date')

    @classmethod
    def preview(cls, requests):
        reasons = dict(EXIT_REASONS)
        return {r.id: [{'key': 'exit',
                    'field': gettext('spp_change_request.msg_line_status'),
                    'current': gettext(
                        'spp_change_request.msg_line_disabled')
                    if r.registrant and r.registrant.disabled else
                    gettext('spp_change_request.msg_line_active'),
                    'proposed': gettext(
                        'spp_change_request.msg_line_exited',
                        reason=reasons.get(r.exit_reason, ''))}]
            for r in requests}

    @classmethod
    def check(cls, requests):
        for request in requests:
            if not request.exit_reason:
                refuse('msg_exit_reason', request=request.rec_name)

    @classmethod
    def disable_reason(cls, request):
        reasons = dict(EXIT_REASONS)
        text = reasons[request.exit_reason]
        if request.effective_date:
            text += ' ' + gettext('spp_change_request.msg_exit_on',
                date=request.effective_date.isoformat())
        text += f' ({request.reference})'
        if request.reason:
            text += f': {request.reason}'
        return text

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        ChangeRequest = pool.get('spp.change_request')
        for request in requests:
            Party.disable([request.registrant], cls.disable_reason(request))
        mark_registrants(requests)
        ChangeRequest.registrants_exited(requests)

