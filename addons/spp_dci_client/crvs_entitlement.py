"""With spp_entitlement: a death holds the deceased's unpaid entitlements
for review (flow 3).

*Held for Review* is a state of its own, so that nothing that acts on an
approved (or pending) entitlement acts on a held one: approval, payment
batches, vouchers and expiry all select their state. The state it was
held from is kept; *Release* puts it back (a caseworker found the death
wrong, or the payment is due to the estate); *Cancel* gives an approved
amount back to the funds as for an approved entitlement."""
from sql.aggregate import Count
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

# Unpaid: not yet distributed, redeemed, expired, rejected or cancelled.
HELD_STATES = [
    ('draft', "Draft"),
    ('pending_validation', "Pending Validation"),
    ('approved', "Approved"),
    ]


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'
    held_from = fields.Selection([(None, "")] + HELD_STATES, "Held From",
        readonly=True, states={'invisible': Eval('state') != 'held'},
        help="The state the entitlement is released to.")
    held_reason = fields.Text("Held Reason", readonly=True,
        states={'invisible': Eval('state') != 'held'})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        if ('held', "Held for Review") not in cls.state.selection:
            cls.state.selection.append(('held', "Held for Review"))
        cls._transitions |= {('held', 'cancelled')} | {
            (s, 'held') for s, _ in HELD_STATES} | {
            ('held', s) for s, _ in HELD_STATES}
        cls._buttons.update({
                'release_hold': {
                    'invisible': Eval('state') != 'held',
                    'depends': ['state'],
                    },
                })
        cls._buttons['cancel']['invisible'] = ~Eval('state').in_(
            ['draft', 'approved', 'held'])

    @classmethod
    @ModelView.button
    def release_hold(cls, entitlements):
        "Put held entitlements back in the state they were held from."
        for state, _ in HELD_STATES:
            held = [e for e in entitlements
                if e.state == 'held' and e.held_from == state]
            if held:
                cls.write(held, {'state': state, 'held_from': None,
                        'held_reason': None})

    @classmethod
    def cancel(cls, entitlements):
        # A held approved entitlement still holds its amount of the funds.
        Program = Pool().get('spp.program')
        released = {}
        held = [e for e in entitlements if e.state == 'held']
        for entitlement in held:
            if entitlement.held_from == 'approved':
                program = entitlement.cycle.program
                released[program] = released.get(program, 0) + (
                    entitlement.amount + (entitlement.fee or 0))
        if held:
            cls._cancel(held)
        others = [e for e in entitlements if e not in held]
        if others:
            super().cancel(others)
        for program, amount in released.items():
            Program.commit_amount(program, -amount)


class LifeEvent(metaclass=PoolMeta):
    __name__ = 'spp.dci.life.event'

    @classmethod
    def _deaths_applied(cls, event_ids, today):
        "Hold the deceased's unpaid entitlements, counted on each event."
        super()._deaths_applied(event_ids, today)
        Entitlement = Pool().get('spp.entitlement')
        table, entitlement = cls.__table__(), Entitlement.__table__()
        counted = Entitlement.__table__()
        cursor = Transaction().connection.cursor()
        states = [s for s, _ in HELD_STATES]
        reason = gettext('spp_dci_client.msg_crvs_hold_deceased')
        held = 0
        for sub_ids in grouped_slice(event_ids, 1000):
            sub_ids = list(sub_ids)
            cursor.execute(*table.update([table.entitlements_held],
                    [counted.select(Count(counted.id),
                            where=(counted.registrant == table.registrant)
                            & counted.state.in_(states))],
                    where=table.id.in_(sub_ids)))
            deceased = table.select(table.registrant,
                where=table.id.in_(sub_ids))
            cursor.execute(*entitlement.update(
                    [entitlement.held_from, entitlement.state,
                        entitlement.held_reason, entitlement.write_uid,
                        entitlement.write_date],
                    [entitlement.state, 'held', reason,
                        Transaction().user, CurrentTimestamp()],
                    where=entitlement.state.in_(states)
                    & entitlement.registrant.in_(deceased)))
            held += max(cursor.rowcount, 0)
        invalidate_cache(Entitlement, cls)
        if held:
            cls._record_applied(event_ids, 'entitlements_held',
                {'entitlements': held})
