"""Entitlement defaults in the create-program wizard.

With spp_entitlement installed the wizard also asks for the essentials of
a cash entitlement: an amount per beneficiary (the program's first cash
item) and an optional maximum per beneficiary (the program's cap). Both
are checked before anything is created."""
from trytond.i18n import gettext
from trytond.modules.currency.fields import Monetary
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .exceptions import ItemValidationError


class CreateProgramStart(metaclass=PoolMeta):
    __name__ = 'spp.program.create.start'
    entitlement_amount = Monetary("Amount per Beneficiary",
        currency='currency', digits='currency',
        help="Creates the program's first cash item: this amount to every "
        "enrolled beneficiary in each cycle; empty: add the entitlement "
        "rules later, on the program's Entitlements tab.")
    entitlement_max_amount = Monetary("Maximum per Beneficiary",
        currency='currency', digits='currency',
        states={'invisible': ~Eval('entitlement_amount')},
        help="Caps the total of the program's items per beneficiary (it "
        "never raises an amount); empty: no cap.")


class CreateProgram(metaclass=PoolMeta):
    __name__ = 'spp.program.create'

    def get_program_values(self):
        "Add the cash item and the cap asked for, once they are checked."
        values = super().get_program_values()
        start = self.start
        amount = start.entitlement_amount
        if amount is None:
            return values
        self.check_entitlement_defaults()
        values['entitlement_items'] = [('create', [{
                        'name': gettext(
                            'spp_entitlement.msg_wizard_item_name'),
                        'sequence': 1,
                        'amount': amount,
                        }])]
        if start.entitlement_max_amount is not None:
            values['max_amount'] = start.entitlement_max_amount
        return values

    def check_entitlement_defaults(self):
        """Refuse an amount that is not positive or has more decimals than
        the currency, and a maximum below the amount (it would cap every
        beneficiary)."""
        start = self.start
        currency = start.currency
        amount, maximum = start.entitlement_amount, start.entitlement_max_amount
        if amount <= 0:
            raise ItemValidationError(gettext(
                    'spp_entitlement.msg_wizard_amount_positive',
                    amount=amount))
        for value in [amount, maximum]:
            if value is not None and currency.round(value) != value:
                raise ItemValidationError(gettext(
                        'spp_entitlement.msg_wizard_amount_digits',
                        amount=value, currency=currency.code,
                        digits=currency.digits))
        if maximum is not None and maximum < amount:
            raise ItemValidationError(gettext(
                    'spp_entitlement.msg_wizard_max_below_amount',
                    maximum=maximum, amount=amount))
