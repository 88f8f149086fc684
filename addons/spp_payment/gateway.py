"""Payment gateway connectors.

A provider implements `PaymentGateway`: send a batch, query the status of
payments, handle a callback. `HTTPGateway` talks JSON over HTTP with
`requests`: every request carries an `Idempotency-Key` (derived from the
payment references, so a retry sends the same key) and is retried on
timeouts, connection errors and 5xx answers. Whatever the provider
answers, a payment is never paid twice: references are unique, outcomes go
through the reconciliation rules (a repeated answer changes nothing)."""
import datetime as dt
import hashlib
import time
from decimal import Decimal

import requests

from trytond import config
from trytond.i18n import gettext
from trytond.pool import Pool

from .exceptions import GatewayError
from .reconcile import Report, reconcile

CHUNK = 500


class PaymentGateway:
    "What a payment provider connector implements."

    def send_batch(self, batch):
        "Send the issued payments of `batch`; return a Report."
        raise NotImplementedError

    def query_status(self, references):
        "Return {reference: (status, paid amount, provider reference)}."
        raise NotImplementedError

    def handle_callback(self, payload):
        "Apply a provider's callback (a list of outcomes); return a Report."
        raise NotImplementedError


def apply_outcomes(outcomes, report=None):
    """Apply provider outcomes [(reference, status, amount, date,
    provider_reference)] with the reconciliation rules."""
    report = report or Report()
    # An answer repeated word for word is one answer; two different
    # answers for one reference are both refused (as repeated lines).
    outcomes = list(dict.fromkeys(outcomes))
    return reconcile([(n, *o) for n, o in enumerate(outcomes, start=1)
            if o[1] in {'paid', 'failed'}], report)


def configured_gateway():
    """The HTTP connector of the `[spp_payment]` section of trytond.conf:
    gateway_url, gateway_auth_header, gateway_timeout (seconds),
    gateway_retries."""
    url = config.get('spp_payment', 'gateway_url')
    if not url:
        raise GatewayError(gettext('spp_payment.msg_gateway_not_configured'))
    timeout = config.getfloat('spp_payment', 'gateway_timeout', default=10)
    return HTTPGateway(url,
        auth_header=config.get('spp_payment', 'gateway_auth_header'),
        timeout=(min(3.05, timeout), timeout),
        retries=config.getint('spp_payment', 'gateway_retries', default=3))


class HTTPGateway(PaymentGateway):
    "A JSON-over-HTTP provider (see the payments guide for the protocol)."

    def __init__(self, url, auth_header=None, timeout=(3.05, 10),
            retries=3, backoff=0.2, session=None):
        self.url = url.rstrip('/')
        self.headers = {'Content-Type': 'application/json'}
        if auth_header:
            self.headers['Authorization'] = auth_header
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()

    def _post(self, path, body, key):
        "POST with retries; the same idempotency key on every attempt."
        headers = {**self.headers, 'Idempotency-Key': key}
        last_error = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.post(f'{self.url}{path}', json=body,
                    headers=headers, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                last_error = error
                continue
            if response.status_code >= 500:
                last_error = f'HTTP {response.status_code}'
                continue
            if response.status_code >= 400:
                raise GatewayError(gettext('spp_payment.msg_gateway_refused',
                        status=response.status_code,
                        reason=response.text[:200]))
            return response.json()
        raise GatewayError(gettext('spp_payment.msg_gateway_unreachable',
                url=self.url, attempts=self.retries + 1, error=last_error))

    @staticmethod
    def idempotency_key(references):
        return hashlib.sha256('\n'.join(references).encode()).hexdigest()

    def send_batch(self, batch):
        """Send the issued payments of an approved batch in chunks. A
        chunk that cannot be delivered leaves its payments issued (to be
        sent again, with the same references); `accepted` and `duplicate`
        answers make payments sent, `paid` and `failed` apply at once."""
        pool = Pool()
        Payment = pool.get('spp.payment')
        Batch = pool.get('spp.payment.batch')
        batch.check_exportable()
        currency = batch.cycle.program.currency.code
        payments = Payment.search([('batch', '=', batch.id),
                ('state', '=', 'issued')], order=[('id', 'ASC')])
        report = Report()
        for start in range(0, len(payments), CHUNK):
            chunk = payments[start:start + CHUNK]
            references = [p.reference for p in chunk]
            answer = self._post('/payments', {'payments': [{
                            'reference': p.reference,
                            'amount': str(p.amount),
                            'currency': currency,
                            'phone': p.payee_phone,
                            'account': p.payee_account,
                            } for p in chunk]},
                self.idempotency_key(references))
            by_reference = {p.reference: p for p in chunk}
            accepted, outcomes = [], []
            for result in answer.get('results', []):
                payment = by_reference.get(result.get('reference'))
                if payment is None:
                    report.refuse(0, result.get('reference'),
                        'answer for a reference not sent')
                    continue
                status = result.get('status')
                if status in {'accepted', 'duplicate'}:
                    accepted.append(payment)
                elif status in {'paid', 'failed'}:
                    accepted.append(payment)
                    amount = result.get('amount')
                    outcomes.append((payment.reference, status,
                            Decimal(amount) if amount is not None
                            else (payment.amount if status == 'paid'
                                else None),
                            None, result.get('provider_reference')))
                else:
                    report.refuse(0, payment.reference,
                        f'unexpected status {status!r}')
            accepted = list(dict.fromkeys(accepted))
            if accepted:
                Payment.write(accepted, {'state': 'sent'})
            apply_outcomes(outcomes, report)
        if batch.state == 'approved':
            Batch.write([Batch(batch.id)], {
                    'state': 'sent', 'sent_at': dt.datetime.now()})
        return report

    def update_status(self, batch):
        """Ask the provider for the outcome of the sent payments of
        `batch` and apply the paid and failed ones; return a Report."""
        Payment = Pool().get('spp.payment')
        payments = Payment.search([('batch', '=', batch.id),
                ('state', '=', 'sent')], order=[('id', 'ASC')])
        report = Report()
        for start in range(0, len(payments), CHUNK):
            references = [p.reference for p in payments[start:start + CHUNK]]
            statuses = self.query_status(references)
            outcomes = [(reference, status,
                    Decimal(amount) if amount is not None else None,
                    None, provider_reference)
                for reference, (status, amount, provider_reference)
                in statuses.items() if status in {'paid', 'failed'}]
            apply_outcomes(outcomes, report)
        return report

    def query_status(self, references):
        answer = self._post('/status', {'references': list(references)},
            self.idempotency_key(['status', *references]))
        return {r['reference']: (r.get('status'), r.get('amount'),
                r.get('provider_reference'))
            for r in answer.get('results', [])}

    def handle_callback(self, payload):
        outcomes = [(r.get('reference'), r.get('status'),
                Decimal(r['amount']) if r.get('amount') is not None
                else None, None, r.get('provider_reference'))
            for r in payload.get('results', [])]
        return apply_outcomes(outcomes)
