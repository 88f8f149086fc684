"User errors of the programs addon."
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class ProgramError(UserError):
    pass


class MembershipError(ValidationError):
    pass


class CycleError(UserError):
    pass
