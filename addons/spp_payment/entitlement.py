"""Entitlements and cycles once payments exist: a live payment blocks a
cancellation; a cycle is distributed when its payments are settled."""
from decimal import Decimal

from sql.aggregate import Count
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PaymentError


class Entitlement(metaclass=PoolMeta):
    __name__ = 'spp.entitlement'

    @classmethod
    def cancel(cls, entitlements):
        Payment = Pool().get('spp.payment')
        payments = Payment.search([
                ('entitlement', 'in', [e.id for e in entitlements]),
                ('slot', '=', 1),
                ], limit=1)
        if payments:
            raise PaymentError(gettext(
                    'spp_payment.msg_entitlement_has_payment',
                    entitlement=payments[0].entitlement.rec_name,
                    payment=payments[0].reference))
        super().cancel(entitlements)


class Cycle(metaclass=PoolMeta):
    __name__ = 'spp.cycle'
    payment_pending_count = fields.Function(fields.Integer(
            "Payments Pending",
            help="Blocked, issued or sent: no outcome yet."),
        'get_payment_totals')
    payment_paid_count = fields.Function(fields.Integer("Payments Paid"),
        'get_payment_totals')
    payment_paid_amount = fields.Function(fields.Numeric("Paid Amount",
            digits='currency'), 'get_payment_totals')
    payment_failed_count = fields.Function(fields.Integer(
            "Payments Failed"), 'get_payment_totals')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'create_payment_batches': {
                    'invisible': ~Eval('state').in_(
                        ['approved', 'distributed']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def get_payment_totals(cls, cycles, names):
        "Payment counts and the paid amount by cycle, in one GROUP BY."
        Payment = Pool().get('spp.payment')
        result = {n: {c.id: Decimal(0) if n.endswith('_amount') else 0
                for c in cycles} for n in names}
        keys = {'blocked': 'payment_pending', 'issued': 'payment_pending',
            'sent': 'payment_pending',
            'paid': 'payment_paid', 'failed': 'payment_failed'}
        totals = Payment.totals_by_state('cycle', [c.id for c in cycles],
            amount='paid_amount')
        for (cycle, state), (count, amount) in totals.items():
            key = keys[state]
            if f'{key}_count' in result:
                result[f'{key}_count'][cycle] += count
            if f'{key}_amount' in result:
                result[f'{key}_amount'][cycle] += amount
        return result

    @classmethod
    @ModelView.button_action('spp_payment.wizard_create_batches')
    def create_payment_batches(cls, cycles):
        pass

    @classmethod
    def distribute(cls, cycles):
        """A cycle is distributed once none of its payments waits for an
        outcome (issued or sent) and every approved cash entitlement has
        been paid or its payment failed."""
        pool = Pool()
        Payment = pool.get('spp.payment')
        Entitlement = pool.get('spp.entitlement')
        for cycle in cycles:
            pending = Payment.search_count([('cycle', '=', cycle.id),
                    ('state', 'in', ['blocked', 'issued', 'sent'])])
            entitlement = Entitlement.__table__()
            payment = Payment.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*entitlement.select(Count(entitlement.id),
                    where=(entitlement.cycle == cycle.id)
                    & (entitlement.kind == 'cash')
                    & (entitlement.state == 'approved')
                    & (entitlement.amount > 0)
                    & ~Exists(payment.select(payment.id,
                            where=payment.entitlement == entitlement.id))))
            unpaid, = cursor.fetchone()
            if pending or unpaid:
                raise PaymentError(gettext(
                        'spp_payment.msg_cycle_payments_open',
                        cycle=cycle.rec_name, pending=pending,
                        unpaid=unpaid))
        super().distribute(cycles)
