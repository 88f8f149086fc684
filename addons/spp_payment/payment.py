"""Payment batches and payments of approved cash entitlements.

A payment holds a `slot` (1 while live, NULL once failed) in its unique
key with the entitlement: an entitlement has at most one live payment, so
it is never paid twice; a failed payment stays recorded and its
entitlement is re-issued as a new payment (next attempt, new reference)
in a new batch.

The payee is the person who collects: the individual of an individual
entitlement, the household's payment recipient (else its head) for a
group's. Their name, phone and account are copied at issuance; a payment
lacking what its provider needs (an account or wallet number, a phone for
the gateway) is *blocked*: never exported nor sent until the data is
completed and the batch re-checked."""
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal, Null, Values, Window
from sql.aggregate import Count, Max, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp, RowNumber
from sql.operators import Concat, Exists

from trytond import config
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.spp_programs.copied import CopiedReferenceMixin
from trytond.modules.spp_registry.bulk import (
    guard_references, insert_select, invalidate_cache, reserve_page_space,
    typed, without_index_on)
from trytond.modules.spp_registry.rec_name import any_field_matches
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import PaymentError

PAYMENT_STATES = ['blocked', 'issued', 'sent', 'paid', 'failed']
BLOCKED_REASONS = [
    (None, ""),
    ('no_account', "No account or wallet number"),
    ('no_phone', "No phone number"),
    ]
# Providers that reach the payee by phone (mobile money gateways).
PHONE_PROVIDERS = {'http'}
# Identifier types of an account, in order of preference.
ACCOUNT_TYPES = ['bank_account', 'mobile_wallet']


def default_batch_size():
    "`[spp_payment] batch_size` in the configuration (default 10,000)."
    return config.getint('spp_payment', 'batch_size', default=10000)


class PaymentBatch(Workflow, ModelSQL, ModelView):
    "Payment Batch"
    __string__ = "Payment Batch"
    __name__ = 'spp.payment.batch'
    cycle = fields.Many2One('spp.cycle', "Cycle", required=True,
        ondelete='RESTRICT', readonly=True)
    number = fields.Integer("Number", required=True, readonly=True)
    provider = fields.Selection('get_providers', "Provider", required=True,
        states={'readonly': Eval('state') != 'draft'})
    state = fields.Selection([
            ('draft', "Draft"),
            ('approved', "Approved"),
            ('sent', "Sent"),
            ('done', "Done"),
            ], "State", readonly=True, required=True, sort=False)
    payments = fields.One2Many('spp.payment', 'batch', "Payments",
        readonly=True)
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    total_count = fields.Function(fields.Integer("Payments"), 'get_totals')
    total_amount = fields.Function(fields.Numeric("Total",
            digits='currency'), 'get_totals')
    blocked_count = fields.Function(fields.Integer("Blocked",
            help="Payments lacking the payee's account or phone: the batch "
            "cannot be exported or sent until they are re-checked."),
        'get_totals')
    issued_count = fields.Function(fields.Integer("Issued"), 'get_totals')
    sent_count = fields.Function(fields.Integer("Sent"), 'get_totals')
    paid_count = fields.Function(fields.Integer("Paid"), 'get_totals')
    paid_amount = fields.Function(fields.Numeric("Paid Amount",
            digits='currency'), 'get_totals')
    failed_count = fields.Function(fields.Integer("Failed"), 'get_totals')
    failed_amount = fields.Function(fields.Numeric("Failed Amount",
            digits='currency'), 'get_totals')
    approved_by = fields.Many2One('res.user', "Approved By", readonly=True)
    sent_at = fields.DateTime("Sent At", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('cycle_number_unique', Unique(t, t.cycle, t.number),
                'spp_payment.msg_batch_number_unique'),
            ]
        cls._order = [('cycle', 'DESC'), ('number', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('draft', 'approved'),
            ('approved', 'draft'),
            ('approved', 'sent'),
            ('sent', 'done'),
            }
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'reset_draft': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'send': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'sent',
                    'depends': ['state'],
                    },
                'update_status': {
                    'invisible': ((Eval('state') != 'sent')
                        | (Eval('provider') != 'http')),
                    'depends': ['state', 'provider'],
                    },
                'export_file': {
                    'invisible': ~Eval('state').in_(['approved', 'sent']),
                    'depends': ['state'],
                    },
                'recheck': {
                    'invisible': ~Eval('state').in_(['draft', 'approved']),
                    'depends': ['state'],
                    },
                'import_reconciliation': {
                    'invisible': ~Eval('state').in_(['approved', 'sent']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_provider(cls):
        return 'file'

    @classmethod
    def get_providers(cls):
        "Payment providers; a gateway connector adds its own."
        return [('file', "Payment File"), ('http', "HTTP Gateway")]

    def get_currency(self, name):
        return self.cycle.program.currency.id

    def get_rec_name(self, name):
        return f'{self.cycle.rec_name} #{self.number}'

    @classmethod
    def get_totals(cls, batches, names):
        "Counts and totals by payment state, in one GROUP BY query."
        Payment = Pool().get('spp.payment')
        result = {n: {b.id: Decimal(0) if n.endswith('_amount') else 0
                for b in batches} for n in names}
        totals = Payment.totals_by_state('batch', [b.id for b in batches])
        for (batch, state), (count, amount) in totals.items():
            for name, value in [
                    (f'{state}_count', count), (f'{state}_amount', amount),
                    ('total_count', count), ('total_amount', amount)]:
                if name in result:
                    result[name][batch] += value
        return result

    @classmethod
    def check_modification(cls, mode, batches, values=None, external=False):
        super().check_modification(
            mode, batches, values=values, external=external)
        if mode == 'delete':
            for batch in batches:
                if batch.state != 'draft':
                    raise PaymentError(gettext(
                            'spp_payment.msg_batch_delete',
                            batch=batch.rec_name))

    @classmethod
    def delete(cls, batches):
        Payment = Pool().get('spp.payment')
        Payment.delete(Payment.search([('batch', 'in',
                        [b.id for b in batches])]))
        super().delete(batches)

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, batches):
        cls.write(batches, {'approved_by': Transaction().user})

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def reset_draft(cls, batches):
        cls.write(batches, {'approved_by': None})

    @classmethod
    @ModelView.button
    @Workflow.transition('sent')
    def send(cls, batches):
        """Send the batches: a file batch is marked sent (its payment file
        went to the provider); a gateway batch is sent through the
        connector of the configuration, which applies the outcomes it
        answers. A gateway that cannot be reached changes nothing."""
        for batch in batches:
            batch.check_exportable()
        gateway_batches = [b for b in batches if b.provider == 'http']
        if gateway_batches:
            from .gateway import configured_gateway
            gateway = configured_gateway()
            for batch in gateway_batches:
                gateway.send_batch(batch)
        cls.mark_sent([b for b in batches if b.provider != 'http'])

    @classmethod
    def mark_sent(cls, batches):
        "Mark the issued payments of the batches sent, in one UPDATE."
        Payment = Pool().get('spp.payment')
        if not batches:
            return
        payment = Payment.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.update(
                [payment.state, payment.write_date],
                ['sent', CurrentTimestamp()],
                where=payment.batch.in_([b.id for b in batches])
                & (payment.state == 'issued')))
        invalidate_cache(Payment)
        cls.write(batches, {'sent_at': dt.datetime.now()})

    @classmethod
    @ModelView.button
    def update_status(cls, batches):
        """Ask the gateway for the outcome of the sent payments of gateway
        batches and apply the paid and failed ones."""
        from .gateway import configured_gateway
        gateway_batches = [b for b in batches if b.provider == 'http']
        if gateway_batches:
            gateway = configured_gateway()
            for batch in gateway_batches:
                gateway.update_status(batch)

    @classmethod
    @ModelView.button_action('spp_payment.wizard_export_payment_file')
    def export_file(cls, batches):
        pass

    @classmethod
    @ModelView.button_action('spp_payment.wizard_import_reconciliation')
    def import_reconciliation(cls, batches):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def close(cls, batches):
        "Close batches whose payments are all paid or failed."
        for batch in batches:
            open_ = (batch.blocked_count + batch.issued_count
                + batch.sent_count)
            if open_:
                raise PaymentError(gettext(
                        'spp_payment.msg_batch_open_payments',
                        batch=batch.rec_name, count=open_))

    def check_exportable(self):
        """Refuse a batch that is not approved or holds blocked payments:
        a file or a send holds the whole batch or nothing."""
        if self.state not in {'approved', 'sent'}:
            raise PaymentError(gettext('spp_payment.msg_batch_not_approved',
                    batch=self.rec_name))
        Payment = Pool().get('spp.payment')
        payment = Payment.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.select(payment.blocked_reason,
                Count(payment.id),
                where=(payment.batch == self.id)
                & (payment.state == 'blocked'),
                group_by=[payment.blocked_reason],
                order_by=[payment.blocked_reason.asc]))
        blocked = cursor.fetchall()
        if blocked:
            labels = dict(BLOCKED_REASONS)
            raise PaymentError(gettext('spp_payment.msg_batch_blocked',
                    batch=self.rec_name,
                    count=sum(c for _, c in blocked),
                    reasons=', '.join(f'{labels.get(r, r)}: {c}'
                        for r, c in blocked)))

    @classmethod
    @ModelView.button
    def recheck(cls, batches):
        """Read again the payee, phone and account of the blocked payments
        of draft or approved batches; those now complete are issued."""
        Payment = Pool().get('spp.payment')
        batches = [b for b in batches if b.state in {'draft', 'approved'}]
        for provider in {b.provider for b in batches}:
            ids = [b.id for b in batches if b.provider == provider]
            payment = Payment.__table__()
            Payment.refresh_payees(payment,
                payment.batch.in_(ids) & (payment.state == 'blocked'))
            Payment.block_incomplete(ids, provider)

    @classmethod
    def create_for_cycle(cls, cycle, provider='file', size=None):
        """Issue a payment for every approved cash entitlement of `cycle`
        without a live payment, in new draft batches of at most `size`
        payments; return the batches. Set-based: one INSERT ... SELECT."""
        pool = Pool()
        Payment = pool.get('spp.payment')
        Entitlement = pool.get('spp.entitlement')
        if size is None:
            size = default_batch_size()
        if size < 1:
            raise PaymentError(gettext('spp_payment.msg_batch_size',
                    size=size))
        if cycle.state not in {'approved', 'distributed'}:
            raise PaymentError(gettext('spp_payment.msg_cycle_not_approved',
                    cycle=cycle.rec_name))
        cls.lock_cycle(cycle)
        entitlement = Entitlement.__table__()
        payment = Payment.__table__()
        previous = Payment.__table__()
        batch = cls.__table__()
        cursor = Transaction().connection.cursor()
        live = payment.select(payment.id,
            where=(payment.entitlement == entitlement.id)
            & (payment.slot == 1))
        where = ((entitlement.cycle == cycle.id)
            & (entitlement.kind == 'cash')
            & (entitlement.state == 'approved')
            & (entitlement.amount > 0) & ~Exists(live))
        cursor.execute(*entitlement.select(Count(entitlement.id),
                where=where))
        count, = cursor.fetchone()
        if not count:
            return []
        cursor.execute(*batch.select(Coalesce(Max(batch.number), 0),
                where=batch.cycle == cycle.id))
        last, = cursor.fetchone()
        batches = cls.create([{'cycle': cycle.id, 'number': last + n,
                    'provider': provider}
                for n in range(1, (count - 1) // size + 2)])
        # Joined, not a sub-query per entitlement: on a first issuance
        # the cycle has no payment and this is an empty hash table.
        attempts = previous.select(previous.entitlement,
            Max(previous.attempt).as_('attempt'),
            where=previous.cycle == cycle.id,
            group_by=[previous.entitlement])
        ranked = entitlement.join(attempts, 'LEFT',
            condition=attempts.entitlement == entitlement.id).select(
            entitlement.id.as_('entitlement'),
            entitlement.registrant.as_('registrant'),
            Payment.payee_query(entitlement.registrant).as_('payee'),
            entitlement.amount.as_('amount'),
            (Coalesce(attempts.attempt, 0) + 1).as_('attempt'),
            (RowNumber(window=Window([], order_by=[entitlement.id.asc]))
                - 1).as_('row'),
            where=where)
        # The new batches by number, as a list of known size the planner
        # hashes: joined to the table, on the statistics of a table that
        # was empty, it recomputed the ranked entitlements once per batch
        # (160 s instead of 30 s for 80 batches of 10,000), and once
        # analysed still looked a batch up once per payment.
        numbers = Values([[b.number, b.id] for b in batches])
        number = Literal(last + 1) + ranked.row / size
        reference = Concat(Concat(Concat('PAY-', Cast(ranked.entitlement,
                        'VARCHAR')), '-'), Cast(ranked.attempt, 'VARCHAR'))
        user = Transaction().user
        insert_select(Payment, payment.insert([
                    payment.batch, payment.entitlement, payment.cycle,
                    payment.registrant, payment.amount, payment.attempt,
                    payment.slot, payment.reference, payment.payee,
                    payment.payee_name, payment.payee_phone,
                    payment.payee_account,
                    payment.state, payment.create_uid, payment.create_date],
                ranked.join(numbers,
                    condition=numbers.column1 == number).select(
                    numbers.column2, ranked.entitlement,
                    typed(Payment, 'cycle', cycle.id), ranked.registrant,
                    ranked.amount, ranked.attempt,
                    typed(Payment, 'slot', 1), reference, ranked.payee,
                    Payment.name_query(ranked.payee),
                    Payment.phone_query(ranked.payee),
                    Payment.account_query(ranked.payee),
                    typed(Payment, 'state', 'issued'),
                    typed(Payment, 'create_uid', user), CurrentTimestamp(),
                    # Payment ids follow the entitlements (files list
                    # payments in id order), whatever the join's order.
                    order_by=[ranked.row.asc])))
        Payment.block_incomplete([b.id for b in batches], provider)
        invalidate_cache(Payment)
        return batches

    @classmethod
    def lock_cycle(cls, cycle):
        "Serialize batch creation per cycle (the row lock of the cycle)."
        Cycle = Pool().get('spp.cycle')
        transaction = Transaction()
        if transaction.database.has_select_for():
            from sql import For
            table = Cycle.__table__()
            query = table.select(table.id, where=table.id == cycle.id)
            query.for_ = For('UPDATE')
            transaction.connection.cursor().execute(*query)


class Payment(CopiedReferenceMixin, Workflow, ModelSQL, ModelView):
    "Payment"
    __string__ = "Payment"
    __name__ = 'spp.payment'
    batch = fields.Many2One('spp.payment.batch', "Batch", required=True,
        ondelete='RESTRICT', readonly=True)
    entitlement = fields.Many2One('spp.entitlement', "Entitlement",
        required=True, ondelete='RESTRICT', readonly=True)
    cycle = fields.Many2One('spp.cycle', "Cycle", required=True,
        ondelete='RESTRICT', readonly=True)
    registrant = fields.Many2One('party.party', "Beneficiary",
        required=True, ondelete='RESTRICT', readonly=True,
        help="The registrant of the entitlement: a household or a person.")
    item = fields.Function(fields.Many2One('spp.entitlement.item', "Item"),
        'get_item')
    payee = fields.Many2One('party.party', "Payee", readonly=True,
        ondelete='RESTRICT',
        help="Who collects the payment: the person entitled, or the "
        "household's payment recipient, else its head.")
    payee_name = fields.Char("Payee Name", readonly=True)
    amount = fields.Numeric("Amount", digits='currency', required=True,
        readonly=True, domain=[('amount', '>', 0)])
    currency = fields.Function(fields.Many2One('currency.currency',
            "Currency"), 'get_currency')
    payee_phone = fields.Char("Payee Phone", readonly=True,
        help="The payee's mobile number, else another phone.")
    payee_account = fields.Char("Payee Account", readonly=True,
        help="The payee's bank account, else mobile wallet number (their "
        "identifiers of those types).")
    reference = fields.Char("Reference", required=True, readonly=True,
        help="Unique; the idempotency key sent to the provider.")
    attempt = fields.Integer("Attempt", required=True, readonly=True)
    slot = fields.Integer("Live", readonly=True)
    state = fields.Selection([(s, s.capitalize()) for s in PAYMENT_STATES],
        "State", readonly=True, required=True, sort=False)
    blocked_reason = fields.Selection(BLOCKED_REASONS, "Blocked Because",
        readonly=True, sort=False)
    paid_amount = fields.Numeric("Paid Amount", digits='currency',
        readonly=True)
    paid_date = fields.Date("Paid On", readonly=True)
    provider_reference = fields.Char("Provider Reference", readonly=True)
    failure_reason = fields.Char("Failure Reason", readonly=True)
    _copied_references = {
        'cycle': 'entitlement',
        'registrant': 'entitlement',
        }

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('entitlement_live_unique', Unique(t, t.entitlement, t.slot),
                'spp_payment.msg_payment_entitlement_unique'),
            ('reference_unique', Unique(t, t.reference),
                'spp_payment.msg_payment_reference_unique'),
            ]
        # The unique (entitlement, slot) serves the look-ups by
        # entitlement. No index holds the state, so that sending and
        # reconciling a batch are HOT updates (see __register__).
        cls._sql_indexes.add(Index(t, (t.cycle, Index.Range())))
        cls._order = [('batch', 'DESC'), ('id', 'ASC')]
        cls._transitions |= {
            ('blocked', 'issued'),
            ('issued', 'sent'),
            ('sent', 'paid'),
            ('sent', 'failed'),
            }

    @classmethod
    def __setup_indexes__(cls):
        super().__setup_indexes__()
        cls._sql_indexes = without_index_on(cls._sql_indexes, 'entitlement')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # A payment changes state once or twice (sent, then paid or
        # failed): room for one more version of each row on its page.
        reserve_page_space(cls, 50)
        guard_references(cls)

    @classmethod
    def default_state(cls):
        return 'issued'

    def get_currency(self, name):
        return self.cycle.program.currency.id

    def get_rec_name(self, name):
        return self.reference

    @classmethod
    def search_rec_name(cls, name, clause):
        "Plain text finds the reference, the beneficiary or the payee."
        return any_field_matches(clause,
            ['reference', 'registrant.rec_name', 'payee.rec_name'])

    @classmethod
    def get_item(cls, payments, name):
        "The item of each payment's entitlement, in one query a slice."
        Entitlement = Pool().get('spp.entitlement')
        payment = cls.__table__()
        entitlement = Entitlement.__table__()
        cursor = Transaction().connection.cursor()
        result = {p.id: None for p in payments}
        for ids in grouped_slice([p.id for p in payments]):
            cursor.execute(*payment.join(entitlement,
                    condition=entitlement.id == payment.entitlement).select(
                    payment.id, entitlement.item,
                    where=payment.id.in_(list(ids))))
            result.update(cursor)
        return result

    @classmethod
    def totals_by_state(cls, group, ids, amount='amount'):
        """{(id, state): (count, total of `amount`)} of the payments whose
        `group` column (batch, cycle) is in `ids`, from one GROUP BY."""
        payment = cls.__table__()
        column = getattr(payment, group)
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.select(column, payment.state,
                Count(payment.id), Sum(getattr(payment, amount)),
                where=column.in_(ids),
                group_by=[column, payment.state]))
        return {(id_, state): (count, Decimal(str(total or 0)))
            for id_, state, count, total in cursor}

    @classmethod
    def payee_query(cls, registrant):
        """Who collects for `registrant`: the current member of the group
        holding the role recipient, else head; the registrant itself when
        it is a person (or a group without either)."""
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        Relation = pool.get('spp.group.membership-role')
        Role = pool.get('spp.group.membership.role')
        membership = Membership.__table__()
        relation = Relation.__table__()
        role = Role.__table__()
        today = pool.get('ir.date').today()
        member = membership.join(relation,
            condition=relation.membership == membership.id).join(role,
            condition=(role.id == relation.role)
            & role.code.in_(['recipient', 'head'])).select(
            membership.individual,
            where=(membership.group == registrant)
            & ((membership.start_date == Null)
                | (membership.start_date <= today))
            & ((membership.end_date == Null)
                | (membership.end_date >= today)),
            order_by=[Case((role.code == 'recipient', 0), else_=1).asc,
                membership.id.asc],
            limit=1)
        return Coalesce(member, registrant)

    @classmethod
    def name_query(cls, party):
        "Sub-query of the name of `party`."
        table = Pool().get('party.party').__table__()
        return table.select(table.name, where=table.id == party)

    @classmethod
    def phone_query(cls, party):
        """Sub-query of the mobile number of `party` (the first in the
        contact's order), else its first phone."""
        Contact = Pool().get('party.contact_mechanism')
        contact = Contact.__table__()
        return contact.select(contact.value,
            where=(contact.party == party)
            & contact.type.in_(['mobile', 'phone'])
            & (contact.active == Literal(True)),
            order_by=[Case((contact.type == 'mobile', 0), else_=1).asc,
                contact.sequence.asc, contact.id.asc],
            limit=1)

    @classmethod
    def account_query(cls, party):
        """Sub-query of the account of `party`: its bank account, else its
        mobile wallet number (identifiers of those types)."""
        Identifier = Pool().get('party.identifier')
        identifier = Identifier.__table__()
        return identifier.select(identifier.code,
            where=(identifier.party == party)
            & identifier.type.in_(ACCOUNT_TYPES)
            & (identifier.active == Literal(True)),
            order_by=[Case(*((identifier.type == t, n)
                        for n, t in enumerate(ACCOUNT_TYPES)),
                    else_=len(ACCOUNT_TYPES)).asc,
                identifier.id.asc],
            limit=1)

    @classmethod
    def refresh_payees(cls, payment, where):
        "Copy again the payee and their data onto the payments of `where`."
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.update(
                [payment.payee, payment.write_date],
                [cls.payee_query(payment.registrant), CurrentTimestamp()],
                where=where))
        cursor.execute(*payment.update(
                [payment.payee_name, payment.payee_phone,
                    payment.payee_account],
                [cls.name_query(payment.payee),
                    cls.phone_query(payment.payee),
                    cls.account_query(payment.payee)], where=where))
        invalidate_cache(cls)

    @classmethod
    def block_incomplete(cls, batch_ids, provider):
        """Block the issued payments of the batches that lack what
        `provider` needs, and issue the blocked ones now complete: one
        UPDATE."""
        if not batch_ids:
            return
        payment = cls.__table__()
        whens = [((payment.payee_account == Null)
                | (payment.payee_account == ''), 'no_account')]
        if provider in PHONE_PROVIDERS:
            whens.append(((payment.payee_phone == Null)
                    | (payment.payee_phone == ''), 'no_phone'))
        cursor = Transaction().connection.cursor()
        cursor.execute(*payment.update(
                [payment.blocked_reason, payment.state],
                [Case(*whens, else_=Null),
                    Case(*((w, 'blocked') for w, _ in whens),
                        else_='issued')],
                where=payment.batch.in_(batch_ids)
                & payment.state.in_(['issued', 'blocked'])))
        invalidate_cache(cls)
