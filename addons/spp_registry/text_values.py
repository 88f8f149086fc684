"""NUL characters refused in every value written through the ORM.

PostgreSQL's text columns cannot hold a NUL character (\\x00): a create or
write carrying one fails inside the database driver, past every validation,
and the caller gets a server error; SQLite stores it, and the record then
cannot move to PostgreSQL or into most files. The check belongs before the
INSERT or UPDATE, so it is made in preprocess_values, which create and
write call for every record's values, and it is the same on both backends.

It is registered as a mixin of every model (tryton.cfg [register_mixin]):
the same hole is in each model with a Char, Text, Selection or Dict field,
and a check per field or per model would leave the next one open. Values
of relation fields are left to the target model, whose own
preprocess_values names its field when the nested record is created."""
from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError

NUL = '\x00'
# Bytes may hold NUL; the targets of x-to-many values check their own.
UNCHECKED_TYPES = {'binary', 'one2many', 'many2many'}


class NulCharacterError(ValidationError):
    pass


def holds_nul(value):
    "Whether `value`, a text or a list or dict of them, holds a NUL."
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, (list, tuple)):
        return any(holds_nul(v) for v in value)
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    return False


class NulRefusal:
    "Refuse values holding a NUL character, naming the field."
    __slots__ = ()

    @classmethod
    def preprocess_values(cls, mode, values):
        # Before the models' own preprocessing, which may read the values.
        for name, value in values.items():
            if not holds_nul(value):
                continue
            field = cls._fields.get(name)
            if field is not None and field._type not in UNCHECKED_TYPES:
                raise NulCharacterError(gettext(
                        'spp_registry.msg_nul_in_field',
                        **cls.__names__(name)))
        return super().preprocess_values(mode, values)
