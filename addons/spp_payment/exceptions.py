from trytond.exceptions import UserError


class PaymentError(UserError):
    pass


class ReconciliationError(UserError):
    pass


class GatewayError(UserError):
    pass
