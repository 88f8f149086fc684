"""Complaints by email, end to end: a live trytond with spp_grievance (and
spp_audit, as deployed), an inbound email inbox and its "Create Grievance"
rule made over JSON-RPC, and a local SMTP server that hands each message
to the inbox URL as a mail server's pipe would (tests/smtp_relay.py). An
email sent with smtplib becomes a ticket of channel email: from its
sender (the registrant whose email contact it is, else a person not in
the registry), its subject and text as description, its attachment kept.
"""
import base64
import smtplib
from email.message import EmailMessage

import pytest

from .server import TestDatabase, running_server
from .smtp_relay import smtp_relay

MODULES = ['spp_grievance', 'spp_audit']
RECEIPT = b'%PDF-1.4\n% a payment receipt\n' + bytes(range(256)) * 8


class Tryton:
    "JSON-RPC as admin on the live server."

    def __init__(self, server):
        self.server = server
        self.session = server.login()

    def __call__(self, method, *params):
        return self.server.call(f'model.{method}', [*params, {}],
            session=self.session)


@pytest.fixture(scope='module')
def mail(backend_uri, tmp_path_factory):
    "The server, the inbox's URL and the records the emails refer to."
    database = TestDatabase.create(tmp_path_factory.mktemp('spp-grv-mail'),
        'grvmail', modules=MODULES, uri=backend_uri)
    try:
        with running_server(database) as server:
            rpc = Tryton(server)
            country, = rpc('spp.area.create', [{'name': "Testland",
                        'code': 'TL'}])
            north, south = rpc('spp.area.create', [
                    {'name': "District A", 'code': 'TL-N-A',
                        'parent': country},
                    {'name': "South", 'code': 'TL-S', 'parent': country}])
            payment, = rpc('spp.grievance.category.create', [{
                        'name': "Payment", 'code': 'payment',
                        'ack_amount': 2, 'ack_unit': 'working_days'}])
            # Her address as the registry holds it; mail clients write
            # addresses in any case.
            ana, = rpc('party.party.create', [{
                        'registrant_type': 'individual',
                        'family_name': "Santos", 'given_name': "Ana",
                        'area': north,
                        'contact_mechanisms': [('create', [{
                                        'type': 'email',
                                        'value': 'Ana.Santos@Example.org'}])],
                        }])
            inbox, = rpc('inbound.email.inbox.create',
                [{'name': "Complaints"}])
            rpc('inbound.email.inbox.new_identifier', [inbox])
            identifier, = rpc('inbound.email.inbox.read', [inbox],
                ['identifier'])
            rule, = rpc('inbound.email.rule.create', [{
                        'inbox': inbox,
                        'destination': r'^complaints@',
                        'action': 'spp.grievance|from_inbound_email',
                        'grievance_category': payment,
                        'grievance_area': south,
                        }])
            url = (f'{server.url}{database.name}/inbound_email/inbox/'
                f'{identifier["identifier"]}')
            yield {'server': server, 'rpc': rpc, 'url': url, 'inbox': inbox,
                'rule': rule, 'payment': payment, 'ana': ana,
                'areas': {'TL-N-A': north, 'TL-S': south}}
    finally:
        database.drop()


def email(sender, subject, text, to='complaints@mis.example.org',
        attachment=None):
    message = EmailMessage()
    message['From'] = sender
    message['To'] = to
    message['Subject'] = subject
    message.set_content(text)
    if attachment:
        filename, data = attachment
        message.add_attachment(data, maintype='application',
            subtype='pdf', filename=filename)
    return message


def send(relay, message):
    host, port, _ = relay
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        smtp.send_message(message)


def tickets(mail):
    "The email tickets, oldest first, as Tryton holds them."
    rpc = mail['rpc']
    ids = rpc('spp.grievance.search', [('channel.code', '=', 'email')],
        0, None, [('id', 'ASC')])
    return rpc('spp.grievance.read', ids, ['reference', 'channel.code',
            'complainant_kind', 'complainant', 'complainant_contact',
            'registrant', 'area', 'category', 'description', 'state',
            'attachments', 'ack_due'])


def test_email_of_unknown_sender(mail):
    """An email from someone not in the registry: a ticket of the rule's
    category and area, the sender as contact, the subject and the text
    (decoded, accents and all) as description, the attachment kept"""
    with smtp_relay(mail['url']) as relay:
        send(relay, email("Maria Soares <maria.soares@example.org>",
                "Pagamentu la to'o",
                "Não recebi o pagamento de maio.\n"
                "O meu número é +670 7700 1234; "
                + "a linha é longa e continua " * 5 + "até aqui.\n",
                attachment=('recibo maio.pdf', RECEIPT)))
        assert relay[2].delivered == [
            (204, ['complaints@mis.example.org'])]
    ticket, = tickets(mail)
    assert ticket['channel.']['code'] == 'email'
    assert ticket['complainant_kind'] == 'other'
    assert ticket['complainant'] is None and ticket['registrant'] is None
    assert ticket['complainant_contact'] == 'maria.soares@example.org'
    assert ticket['area'] == mail['areas']['TL-S']
    assert ticket['category'] == mail['payment']
    assert ticket['state'] == 'new' and ticket['ack_due']
    assert ticket['description'] == (
        "Pagamentu la to'o\n\n"
        "Não recebi o pagamento de maio.\n"
        "O meu número é +670 7700 1234; "
        + "a linha é longa e continua " * 5 + "até aqui.")
    attachment, = mail['rpc']('ir.attachment.read', ticket['attachments'],
        ['name', 'data'])
    assert attachment['name'] == 'recibo maio.pdf'
    assert base64.b64decode(attachment['data']['base64']) == RECEIPT
    # The inbox keeps the email, with the rule it matched and its ticket.
    stored, = mail['rpc']('inbound.email.search_read',
        [('result', '=', f'spp.grievance,{ticket["id"]}')], 0, None, None,
        ['rule', 'inbox'])
    assert stored['rule'] == mail['rule']
    assert stored['inbox'] == mail['inbox']


def test_email_of_registrant(mail):
    """A sender whose address is a registrant's email contact (in any
    case) is the complainant, in the registrant's area"""
    before = len(tickets(mail))
    with smtp_relay(mail['url']) as relay:
        send(relay, email("Ana Santos <ana.santos@example.org>",
                "Payment of June", "My June payment did not come."))
    ticket = tickets(mail)[before]
    assert ticket['complainant_kind'] == 'registrant'
    assert ticket['complainant'] == ticket['registrant'] == mail['ana']
    assert ticket['area'] == mail['areas']['TL-N-A']
    assert ticket['complainant_contact'] == 'ana.santos@example.org'
    assert ticket['description'] == (
        "Payment of June\n\nMy June payment did not come.")
    assert ticket['attachments'] == []


def test_email_not_matching_and_inbox_down(mail):
    """An email no rule matches is kept without a ticket; when the inbox
    does not take a message, the SMTP server answers a temporary failure
    (the sender's server retries) and nothing is written"""
    before = len(tickets(mail))
    with smtp_relay(mail['url']) as relay:
        send(relay, email("someone@example.org", "Hello",
                "Not a complaint.", to='info@mis.example.org'))
    assert len(tickets(mail)) == before
    kept = mail['rpc']('inbound.email.search_read',
        [('rule', '=', None)], 0, None, None, ['result'])
    assert [k['result'] for k in kept] == [None]

    wrong = mail['url'].rsplit('/', 1)[0] + '/not-an-inbox'
    with smtp_relay(wrong) as relay:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(relay, email("maria.soares@example.org", "Again",
                    "The payment still did not come."))
        assert refused.value.smtp_code == 451
        assert relay[2].delivered == [(404, ['complaints@mis.example.org'])]
    assert len(tickets(mail)) == before


def test_email_over_inbox_size_is_deferred(mail):
    """An email over `[inbound_email] max_size` (default 2 MB) is refused
    by the inbox (413) and deferred by the SMTP server, not lost"""
    before = len(tickets(mail))
    with smtp_relay(mail['url']) as relay:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(relay, email("maria.soares@example.org", "Photos",
                    "The pay point was closed.",
                    attachment=('photos.pdf', b'\x00' * (3 * 1024 * 1024))))
        assert refused.value.smtp_code == 451
        assert relay[2].delivered == [(413, ['complaints@mis.example.org'])]
    assert len(tickets(mail)) == before
