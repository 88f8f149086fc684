"""A local SMTP server that hands every message it receives to a Tryton
inbound email inbox, as a mail server's pipe to `curl` would: the raw
message, unchanged, POSTed to `/<db>/inbound_email/inbox/<identifier>`.

    with smtp_relay(inbox_url) as (host, port):
        smtplib.SMTP(host, port).send_message(message)

The answer follows the inbox's: 250 once Tryton has stored (and
processed) the email, a temporary failure (451) when it did not, so that
the sending server keeps the message and retries instead of losing it."""
import contextlib
import urllib.error
import urllib.request

from aiosmtpd.controller import Controller

from .server import free_port


class InboxHandler:
    "aiosmtpd handler: each message's raw bytes to the inbox URL."

    def __init__(self, url, timeout=60):
        self.url = url
        self.timeout = timeout
        self.delivered = []     # (status, envelope recipients)

    async def handle_DATA(self, server, session, envelope):
        # Blocking, on purpose: one message at a time, as a pipe would.
        request = urllib.request.Request(self.url,
            data=envelope.original_content,
            # Not a form: trytond would read a form-encoded body as fields.
            headers={'Content-Type': 'message/rfc822'}, method='POST')
        try:
            with urllib.request.urlopen(request,
                    timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = None
        self.delivered.append((status, list(envelope.rcpt_tos)))
        if status in (200, 204):
            return '250 Message accepted for delivery'
        return f'451 Inbox answered {status}: try again later'


@contextlib.contextmanager
def smtp_relay(url):
    "Serve SMTP on 127.0.0.1 relaying to `url`; yields (host, port, handler)."
    handler = InboxHandler(url)
    port = free_port()
    # 8BITMIME and SMTPUTF8 as a real server: mail clients send UTF-8.
    controller = Controller(handler, hostname='127.0.0.1', port=port,
        decode_data=False, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield '127.0.0.1', port, handler
    finally:
        controller.stop()
