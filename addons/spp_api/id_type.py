"""The DCI code-directory types of our ID types (spp.id.type).

A DCI sender names identifier types by the code directory's codes (UIN,
NIN, BRN, …); `dci_codes` lists, per ID type, the codes it answers to
(any case, space separated; the first is the one our answers carry). Our
own codes keep working. The defaults, set when the field is added: the
national ID answers to UIN and NIN, the birth certificate to BRN. MOBILE
is a phone number (the registrant's phone contact), not an ID type."""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

DEFAULTS = {'national_id': 'UIN NIN', 'birth_certificate': 'BRN',
    'passport': 'PASSPORT', 'voter_card': 'VOTER_ID',
    'social_security': 'SSN'}


class IdType(metaclass=PoolMeta):
    __name__ = 'spp.id.type'
    dci_codes = fields.Char("DCI Codes",
        help="The DCI code-directory identifier types this type answers "
        "to in DCI searches (e.g. \"UIN NIN\"; any case, space "
        "separated). The first one names it in DCI answers.")

    @classmethod
    def __register__(cls, module):
        table = cls.__table_handler__(module)
        added = not table.column_exist('dci_codes')
        super().__register__(module)
        if added:
            # The types of the registry's data get their usual DCI codes.
            sql_table = cls.__table__()
            cursor = Transaction().connection.cursor()
            for code, dci_codes in DEFAULTS.items():
                cursor.execute(*sql_table.update([sql_table.dci_codes],
                        [dci_codes], where=sql_table.code == code))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('dci_codes'):
            # Stored as matched: upper case, single spaces.
            values['dci_codes'] = ' '.join(
                values['dci_codes'].upper().replace(',', ' ').split())
        return values
