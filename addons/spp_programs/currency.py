"""The default currency: a program needs one, and a new database has none.

`[spp_programs] default_currency = USD` (an ISO 4217 code of the table
below) makes the activation and every update of spp_programs create that
currency when the database has no currency at all; new programs default
to it. Without the setting nothing is created (a currency is then added
under Currency > Currencies before the first program)."""
from decimal import Decimal

from sql.functions import CurrentTimestamp

from trytond import config
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

# code: (name, symbol, digits) of the currencies social protection
# programs pay in most; pycountry is not a dependency of the project.
KNOWN = {
    'BDT': ("Bangladeshi Taka", '৳', 2),
    'BRL': ("Brazilian Real", 'R$', 2),
    'COP': ("Colombian Peso", '$', 2),
    'ETB': ("Ethiopian Birr", 'Br', 2),
    'EUR': ("Euro", '€', 2),
    'GBP': ("Pound Sterling", '£', 2),
    'GHS': ("Ghana Cedi", 'GH₵', 2),
    'IDR': ("Indonesian Rupiah", 'Rp', 2),
    'INR': ("Indian Rupee", '₹', 2),
    'KES': ("Kenyan Shilling", 'KSh', 2),
    'KHR': ("Cambodian Riel", '៛', 2),
    'LKR': ("Sri Lanka Rupee", 'Rs', 2),
    'MMK': ("Myanmar Kyat", 'K', 2),
    'MWK': ("Malawian Kwacha", 'MK', 2),
    'MXN': ("Mexican Peso", '$', 2),
    'MZN': ("Mozambican Metical", 'MT', 2),
    'NGN': ("Nigerian Naira", '₦', 2),
    'NPR': ("Nepalese Rupee", 'Rs', 2),
    'PEN': ("Peruvian Sol", 'S/', 2),
    'PHP': ("Philippine Peso", '₱', 2),
    'PKR': ("Pakistan Rupee", 'Rs', 2),
    'RWF': ("Rwanda Franc", 'FRw', 0),
    'THB': ("Thai Baht", '฿', 2),
    'TZS': ("Tanzanian Shilling", 'TSh', 2),
    'UGX': ("Uganda Shilling", 'USh', 0),
    'USD': ("US Dollar", '$', 2),
    'VND': ("Vietnamese Dong", '₫', 0),
    'XAF': ("CFA Franc BEAC", 'FCFA', 0),
    'XOF': ("CFA Franc BCEAO", 'CFA', 0),
    'ZAR': ("South African Rand", 'R', 2),
    'ZMW': ("Zambian Kwacha", 'K', 2),
    }


def configured_code():
    "The code of `[spp_programs] default_currency`, upper case, or None."
    code = (config.get('spp_programs', 'default_currency', default='')
        or '').strip().upper()
    return code or None


class DefaultCurrencyError(ValueError):
    "A default currency the module cannot create (stops the activation)."


class Currency(metaclass=PoolMeta):
    __name__ = 'currency.currency'

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        if module == 'spp_programs':
            cls.create_default()

    @classmethod
    def create_default(cls):
        """Create the configured default currency when there is no
        currency at all (plain SQL: the pool is still loading)."""
        code = configured_code()
        if not code:
            return
        if code not in KNOWN:
            raise DefaultCurrencyError(
                f"[spp_programs] default_currency = {code}: not a currency "
                f"code spp_programs knows. Use one of "
                f"{', '.join(sorted(KNOWN))}, or remove the setting and "
                "add the currency under Currency > Currencies.")
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, limit=1))
        if cursor.fetchone():
            return
        name, symbol, digits = KNOWN[code]
        cursor.execute(*table.insert([table.name, table.code, table.symbol,
                    table.digits, table.rounding, table.active,
                    table.create_uid, table.create_date],
                [[name, code, symbol, digits, Decimal(1).scaleb(-digits),
                        True, 0, CurrentTimestamp()]]))

    @classmethod
    def get_default(cls):
        "The configured default currency if it exists, else None."
        code = configured_code()
        if not code:
            return None
        currencies = cls.search([('code', '=', code)], limit=1)
        return currencies[0] if currencies else None
