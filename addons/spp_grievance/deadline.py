"""Deadlines in hours or in working days, skipping weekends and the
holidays of the grievance calendar."""
import datetime as dt

from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool

UNITS = [
    ('hours', "Hours"),
    ('working_days', "Working Days"),
    ]


class Holiday(ModelSQL, ModelView):
    "Grievance Holiday"
    __string__ = "Grievance Holiday"
    __name__ = 'spp.grievance.holiday'
    date = fields.Date("Date", required=True)
    name = fields.Char("Name", required=True, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('date_unique', Unique(t, t.date),
                'spp_grievance.msg_holiday_date_unique'),
            ]
        cls._order = [('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def dates(cls, start, end):
        "The holidays between the two dates, one search."
        return {h.date for h in cls.search([
                    ('date', '>=', start), ('date', '<=', end)])}


def add_working_days(start, days, weekend, holidays):
    """`start` moved `days` working days ahead at the same time of day; a
    start outside working days counts from the next working day.

    weekend: weekday numbers (Monday 0) that are not worked; holidays: the
    dates that are not worked."""
    def working(day):
        return day.weekday() not in weekend and day not in holidays
    current = start
    if not working(current.date()):
        while not working(current.date()):
            current += dt.timedelta(days=1)
        current = dt.datetime.combine(current.date(), dt.time(0, 0))
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if working(current.date()):
            remaining -= 1
    return current


def due_dates(starts, amount, unit):
    """The deadline `amount` hours or working days after each start (a
    list of datetimes); the holidays read once for all."""
    if not amount:
        return [None] * len(starts)
    if unit == 'hours':
        return [s + dt.timedelta(hours=amount) for s in starts]
    pool = Pool()
    Configuration = pool.get('spp.grievance.configuration')
    Holiday = pool.get('spp.grievance.holiday')
    weekend = Configuration(1).weekend_days()
    # Enough calendar days for any run of weekends and holidays.
    first = min(starts).date()
    last = max(starts).date() + dt.timedelta(days=amount * 3 + 30)
    holidays = Holiday.dates(first, last)
    return [add_working_days(s, amount, weekend, holidays) for s in starts]
