"""Program funds, the program balance and the fund check of approvals."""
from decimal import Decimal

from sql import For
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.spp_registry.bulk import invalidate_cache
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import FundError

# Entitlement states that commit program money, and those already paid.
COMMITTED = ('approved', 'distributed', 'redeemed')
PAID = ('distributed', 'redeemed')


class ProgramFund(Workflow, ModelSQL, ModelView):
    "Program Fund"
    __string__ = "Program Fund"
    __name__ = 'spp.program.fund'
    _states = {'readonly': Eval('state') != 'draft'}
    program = fields.Many2One('spp.program', "Program", required=True,
        ondelete='RESTRICT', states=_states)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'on_change_with_currency')
    amount = Monetary("Amount", currency='currency', digits='currency',
        required=True, domain=[('amount', '>', 0)], states=_states)
    date = fields.Date("Date", required=True, states=_states)
    reference = fields.Char("Reference", states=_states,
        help="The budget line or transfer that brought the money.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('posted', "Posted"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    posted_by = fields.Many2One('res.user', "Posted By", readonly=True)
    last_commitment = fields.DateTime("Last Commitment", readonly=True,
        help="When entitlements were last approved against the funds.")
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.program, Index.Range()),
                (t.state, Index.Equality())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'posted'),
            ('draft', 'cancelled'),
            }
        cls._buttons.update({
                'post': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @fields.depends('program', '_parent_program.currency')
    def on_change_with_currency(self, name=None):
        return self.program.currency if self.program else None

    @classmethod
    def validate_fields(cls, funds, field_names):
        super().validate_fields(funds, field_names)
        if field_names & {'amount', 'program'}:
            for fund in funds:
                currency = fund.program.currency
                if currency.round(fund.amount) != fund.amount:
                    raise FundError(gettext(
                            'spp_entitlement.msg_fund_amount_digits',
                            amount=fund.amount, currency=currency.code))

    @classmethod
    def check_modification(cls, mode, funds, values=None, external=False):
        super().check_modification(
            mode, funds, values=values, external=external)
        if mode == 'delete':
            for fund in funds:
                if fund.state == 'posted':
                    raise FundError(gettext(
                            'spp_entitlement.msg_fund_delete_posted',
                            fund=fund.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, funds):
        cls.write(funds, {'posted_by': Transaction().user})

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, funds):
        pass

    @classmethod
    def lock_program(cls, program):
        """Lock the posted fund rows of `program` until the end of the
        transaction and mark them: a concurrent approval waits, then fails
        to serialize (REPEATABLE READ) and is retried on fresh figures."""
        transaction = Transaction()
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        where = (table.program == program.id) & (table.state == 'posted')
        if transaction.database.has_select_for():
            query = table.select(table.id, where=where)
            query.for_ = For('UPDATE')
            cursor.execute(*query)
        cursor.execute(*table.update([table.last_commitment],
                [CurrentTimestamp()], where=where))

    @classmethod
    def balance(cls, program):
        "(posted, committed, paid) of a program, from SQL."
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        fund = cls.__table__()
        entitlement = Entitlement.__table__()
        cycle = Cycle.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*fund.select(Coalesce(Sum(fund.amount), 0),
                where=(fund.program == program.id)
                & (fund.state == 'posted')))
        posted, = cursor.fetchone()
        cost = entitlement.amount + Coalesce(entitlement.fee, 0)
        cursor.execute(*entitlement.join(cycle,
                condition=entitlement.cycle == cycle.id).select(
                Coalesce(Sum(Case(
                            (entitlement.state.in_(COMMITTED), cost),
                            else_=0)), 0),
                Coalesce(Sum(Case(
                            (entitlement.state.in_(PAID), cost),
                            else_=0)), 0),
                where=(cycle.program == program.id)
                & (entitlement.state.in_(COMMITTED))))
        committed, paid = cursor.fetchone()
        return tuple(Decimal(str(v)) for v in (posted, committed, paid))

    @classmethod
    def check_available(cls, program, amount):
        """Lock the program's funds and refuse `amount` when posted funds
        minus committed entitlements do not cover it.

        The committed amount is the program's running total, not a sum
        over its entitlements, which grows with every cycle."""
        Program = Pool().get('spp.program')
        cls.lock_program(program)
        fund = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*fund.select(Coalesce(Sum(fund.amount), 0),
                where=(fund.program == program.id)
                & (fund.state == 'posted')))
        posted, = cursor.fetchone()
        available = (Decimal(str(posted))
            - Program.committed(program))
        if amount > available:
            currency = program.currency
            raise FundError(gettext('spp_entitlement.msg_fund_shortfall',
                    program=program.rec_name,
                    amount=currency.round(amount),
                    available=currency.round(available),
                    shortfall=currency.round(amount - available),
                    currency=currency.code))


class ProgramBalance(ModelSQL, ModelView):
    "Program Balance"
    __string__ = "Program Balance"
    __name__ = 'spp.program.balance'
    program = fields.Many2One('spp.program', "Program", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency",
        readonly=True)
    posted = Monetary("Posted", currency='currency', digits='currency',
        readonly=True)
    committed = Monetary("Committed", currency='currency',
        digits='currency', readonly=True,
        help="Approved entitlements (amount and fee), paid or not.")
    paid = Monetary("Paid", currency='currency', digits='currency',
        readonly=True)
    available = Monetary("Available", currency='currency',
        digits='currency', readonly=True, help="Posted minus committed.")

    @classmethod
    def table_query(cls):
        pool = Pool()
        Program = pool.get('spp.program')
        Fund = pool.get('spp.program.fund')
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        program = Program.__table__()
        fund = Fund.__table__()
        entitlement = Entitlement.__table__()
        cycle = Cycle.__table__()
        posted = fund.select(fund.program, Sum(fund.amount).as_('amount'),
            where=fund.state == 'posted', group_by=[fund.program])
        cost = entitlement.amount + Coalesce(entitlement.fee, 0)
        spent = entitlement.join(cycle,
            condition=entitlement.cycle == cycle.id).select(
            cycle.program,
            Sum(cost).as_('committed'),
            Sum(Case((entitlement.state.in_(PAID), cost),
                    else_=0)).as_('paid'),
            where=entitlement.state.in_(COMMITTED),
            group_by=[cycle.program])
        posted_amount = Coalesce(posted.amount, 0)
        committed = Coalesce(spent.committed, 0)
        return program.join(posted, 'LEFT',
            condition=posted.program == program.id).join(spent, 'LEFT',
            condition=spent.program == program.id).select(
            program.id.as_('id'), program.id.as_('program'),
            program.currency.as_('currency'),
            program.create_uid, program.create_date,
            program.write_uid, program.write_date,
            posted_amount.as_('posted'),
            committed.as_('committed'),
            Coalesce(spent.paid, 0).as_('paid'),
            (posted_amount - committed).as_('available'))


class Program(metaclass=PoolMeta):
    __name__ = 'spp.program'
    committed_amount = Monetary("Committed", currency='currency',
        digits='currency', readonly=True,
        help="Approved entitlements (amount and fee), paid or not: added "
        "by approvals, taken off by cancellations and expiries.")

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        migrate = not table_h.column_exist('committed_amount')
        super().__register__(module)
        if migrate:
            cls.reset_committed()

    @classmethod
    def default_committed_amount(cls):
        return Decimal(0)

    @classmethod
    def committed(cls, program):
        "The program's committed amount, read afresh."
        return cls(program.id).committed_amount or Decimal(0)

    @classmethod
    def commit_amount(cls, program, amount):
        """Add `amount` (negative to release it) to the program's committed
        amount: one UPDATE of its row, which serializes the transactions
        that change it."""
        if not amount:
            return
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.committed_amount],
                [Coalesce(table.committed_amount, 0) + amount],
                where=table.id == program.id))
        invalidate_cache(cls)

    @classmethod
    def reset_committed(cls):
        """Recompute every program's committed amount from its entitlements
        (on update of the module; a repair if it was ever changed by
        hand)."""
        pool = Pool()
        Entitlement = pool.get('spp.entitlement')
        Cycle = pool.get('spp.cycle')
        table = cls.__table__()
        entitlement, cycle = Entitlement.__table__(), Cycle.__table__()
        cursor = Transaction().connection.cursor()
        if not backend.TableHandler.table_exist(Entitlement._table):
            return
        total = entitlement.join(cycle,
            condition=entitlement.cycle == cycle.id).select(
            Coalesce(Sum(entitlement.amount
                    + Coalesce(entitlement.fee, 0)), 0),
            where=(cycle.program == table.id)
            & entitlement.state.in_(COMMITTED))
        cursor.execute(*table.update([table.committed_amount], [total]))
        invalidate_cache(cls)
