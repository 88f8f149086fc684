from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class EntitlementError(UserError):
    pass


class FundError(UserError):
    pass


class ItemValidationError(ValidationError):
    pass
