"""Users: their registry areas (the record rules read them, see
record_rules.py), and password columns nobody searches."""
import weakref

from trytond.i18n import gettext
from trytond.model import ModelSQL, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


# The areas of the last user asked, per transaction: ((user, change
# counter), area ids).
_areas = weakref.WeakKeyDictionary()


class SecretChar(fields.Char):
    """A Char column nobody but root filters on: password hashes and reset
    codes. trytond blanks them on read, but a domain on them answered
    whether a hash starts with a given text, one character at a time. The
    check is in the column's SQL conversion, so that it holds on every
    path that leads there: a plain name, a dotted one
    (`create_uid.password_hash`) and a `where` clause, whose sub-search
    trytond runs without access checks."""

    def convert_domain(self, domain, tables, Model):
        if Transaction().user:
            raise AccessError(gettext('ir.msg_access_rule_field_error',
                    **Model.__names__(self.name)))
        return super().convert_domain(domain, tables, Model)


class UserArea(ModelSQL):
    "User - Area"
    __string__ = "User - Area"
    __name__ = 'res.user-spp.area'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    area = fields.Many2One(
        'spp.area', "Area", required=True, ondelete='CASCADE')


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    spp_areas = fields.Many2Many(
        'res.user-spp.area', 'user', 'area', "Registry Areas",
        help="Registrars and viewers work on registrants of these areas "
        "and the areas below them.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # trytond keeps a field's first declaration, so the columns are
        # made unsearchable on this class's own copy of them.
        for name in ['password_hash', 'password_reset']:
            getattr(cls, name).__class__ = SecretChar

    @classmethod
    def get_spp_areas(cls):
        """Ids of the current user's areas, read without record rules.

        Every rule check asks for them (ir.rule's cache key): they are read
        once per transaction and user, again after any write."""
        transaction = Transaction()
        user_id = transaction.user
        if not user_id:
            return []
        key = (user_id, transaction.counter)
        cached = _areas.get(transaction)
        if cached and cached[0] == key:
            return cached[1]
        table = Pool().get('res.user-spp.area').__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(
                table.area, where=table.user == user_id,
                order_by=[table.area]))
        areas = [area for area, in cursor]
        _areas[transaction] = (key, areas)
        return areas
