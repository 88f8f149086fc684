"""Failed logins, as administrators see them.

trytond records each failed login in `res.user.login.attempt` and refuses a
login (and a device cookie) once it has more than `[session] max_attempt`
failures within `[session] timeout` seconds; an attempt older than that is
deleted at the next failure. The model is SQL only: this gives it a
read-only list with the account it names and whether that login is locked
right now."""
from trytond import config
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class LoginAttempt(ModelView, metaclass=PoolMeta):
    __name__ = 'res.user.login.attempt'
    user = fields.Function(fields.Many2One('res.user', "User",
            help="The account the login names, if there is one."),
        'get_user')
    locked = fields.Function(fields.Boolean("Locked",
            help="Whether the server refuses this login (from this device) "
            "now, after too many failures; it lifts itself when the "
            "failures are older than the session timeout."),
        'get_locked')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order[0:0] = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_user(cls, attempts, name):
        User = Pool().get('res.user')
        logins = {a.login for a in attempts if a.login}
        with Transaction().set_context(active_test=False):
            users = {u.login: u.id for u in User.search(
                    [('login', 'in', list(logins))])} if logins else {}
        return {a.id: users.get(a.login) for a in attempts}

    @classmethod
    def get_locked(cls, attempts, name):
        "A login is refused once it has more than max_attempt failures."
        limit = config.getint('session', 'max_attempt', default=5)
        counts = {}
        locked = {}
        for attempt in attempts:
            key = (attempt.login or '', attempt.device_cookie)
            if key not in counts:
                counts[key] = cls.count(*key)
            locked[attempt.id] = counts[key] > limit
        return locked
