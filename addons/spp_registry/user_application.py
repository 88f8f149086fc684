"""User application keys (res.user.application): made by administrators
only, and never for ever.

trytond lets every user make a validated, never-expiring key for itself
(`res.user.application.create([{'user': <self>, 'application': 'rest'}])`,
or through its preferences, which trytond writes without access checks).
generic_rest.py does not serve the REST API those keys open; this keeps
them from being minted for any route a trytond module may add that checks
them.
"""
import datetime as dt

from sql import Null
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError, ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

DEFAULT_VALIDITY = dt.timedelta(days=30)
MAX_VALIDITY = dt.timedelta(days=366)


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'
    expires = fields.Timestamp("Expires", required=True,
        help="The key stops working at this time (within a year).")

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        existed = table_h.column_exist('expires')
        super().__register__(module)
        if not existed:
            # Keys made before anyone could make them, for ever: void.
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.expires], [CurrentTimestamp()],
                    where=table.expires == Null))

    @classmethod
    def default_expires(cls):
        return dt.datetime.now() + DEFAULT_VALIDITY

    @classmethod
    def check_administrator(cls):
        "Refuse unless root or an administrator (res.group_admin) acts."
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        if Transaction().user == 0:
            return
        if ModelData.get_id('res', 'group_admin') not in User.get_groups():
            raise AccessError(
                gettext('spp_registry.msg_user_application_admin_only'))

    @classmethod
    def create(cls, vlist):
        cls.check_administrator()
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        cls.check_administrator()
        super().write(*args)

    @classmethod
    def validate_fields(cls, applications, field_names):
        super().validate_fields(applications, field_names)
        if field_names and 'expires' not in field_names:
            return
        latest = dt.datetime.now() + MAX_VALIDITY
        for application in applications:
            if application.expires and application.expires > latest:
                raise ValidationError(gettext(
                        'spp_registry.msg_user_application_expires',
                        days=MAX_VALIDITY.days))

    @classmethod
    def check(cls, key, application):
        record = super().check(key, application)
        if record and record.expires and record.expires > dt.datetime.now():
            return record
        return None
