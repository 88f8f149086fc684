"""The SLA of open tickets, kept in SQL: a ticket is *breached* once a
deadline passed before its step was done, *at risk* once the configured
share of a step's time has gone, else *on time*. One UPDATE sets the
status of every open ticket whose status changed; the cron then
escalates the breached tickets not yet escalated to their team's manager,
with one INSERT of their timeline entries and one UPDATE."""
import datetime as dt

from sql import Literal, Null
from sql.conditionals import Case

from trytond.modules.spp_registry.bulk.statements import invalidate_cache
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

STATUSES = [
    ('on_time', "On Time"),
    ('at_risk', "At Risk"),
    ('breached', "Breached"),
    ]
# Not imported from grievance.py, which imports this module.
OPEN_STATES = ['new', 'acknowledged', 'investigating', 'reopened']


def status_expression(table, now):
    "The SLA status of each row of `table` at `now`, as SQL."
    breached = (
        ((table.ack_due != Null)
            & (((table.acknowledged_on == Null) & (table.ack_due < now))
                | (table.acknowledged_on > table.ack_due)))
        | ((table.resolution_due != Null)
            & (((table.resolved_on == Null) & (table.resolution_due < now))
                | (table.resolved_on > table.resolution_due))))
    at_risk = (
        ((table.acknowledged_on == Null) & (table.ack_risk_on != Null)
            & (table.ack_risk_on <= now))
        | ((table.resolved_on == Null) & (table.resolution_risk_on != Null)
            & (table.resolution_risk_on <= now)))
    return Case((breached, 'breached'), (at_risk, 'at_risk'),
        else_='on_time')


def refresh(ids=None, final=False):
    """Set the SLA status of the open tickets (`ids`, or all of them);
    `final`: of these tickets whatever their state (just resolved)."""
    Grievance = Pool().get('spp.grievance')
    table = Grievance.__table__()
    cursor = Transaction().connection.cursor()
    now = dt.datetime.now()
    status = status_expression(table, now)
    where = (table.sla_status != status) | (table.sla_status == Null)
    if not final:
        where &= table.state.in_(OPEN_STATES)
    if ids is None:
        cursor.execute(*table.update([table.sla_status], [status],
                where=where))
    else:
        for sub_ids in grouped_slice(ids, 1000):
            cursor.execute(*table.update([table.sla_status], [status],
                    where=where & table.id.in_(list(sub_ids))))
    invalidate_cache(Grievance)


def escalate_breached():
    """Assign the breached open tickets that were never escalated to their
    team's manager; return how many."""
    pool = Pool()
    Grievance = pool.get('spp.grievance')
    Team = pool.get('spp.grievance.team')
    Event = pool.get('spp.grievance.event')
    grievance = Grievance.__table__()
    team = Team.__table__()
    event = Event.__table__()
    cursor = Transaction().connection.cursor()
    now = dt.datetime.now()
    due = ((grievance.sla_status == 'breached')
        & grievance.state.in_(OPEN_STATES)
        & (grievance.escalated_on == Null))
    breached = grievance.join(team,
        condition=(grievance.team == team.id) & (team.manager != Null))
    cursor.execute(*event.insert(
            [event.grievance, event.date, event.action, event.to_team,
                event.to_user, event.create_uid, event.create_date],
            breached.select(grievance.id, Literal(now), Literal('breached'),
                grievance.team, team.manager, Literal(0), Literal(now),
                where=due)))
    count = cursor.rowcount
    manager = team.select(team.manager, where=team.id == grievance.team)
    cursor.execute(*grievance.update(
            [grievance.assigned_to, grievance.escalated_on,
                grievance.write_date, grievance.write_uid],
            [manager, now, now, 0],
            where=due & grievance.team.in_(
                team.select(team.id, where=team.manager != Null))))
    invalidate_cache(Grievance, Event)
    return count


def run():
    "The cron pass: statuses, then escalations; return the escalations."
    refresh()
    return escalate_breached()
