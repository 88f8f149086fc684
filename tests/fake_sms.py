"""A fake SMS gateway for authentication_sms, for the tests only.

trytond calls `[authentication_sms] function` with (text, to, from_); this
one appends a JSON line to the file named by SPP_FAKE_SMS_OUTBOX instead of
sending anything, and the test reads the code from there."""
import json
import os


def send(text, to, from_):
    with open(os.environ['SPP_FAKE_SMS_OUTBOX'], 'a') as outbox:
        outbox.write(json.dumps({'to': to, 'from': from_, 'text': text})
            + '\n')


def messages(path):
    "The messages sent so far, oldest first."
    try:
        with open(path) as outbox:
            return [json.loads(line) for line in outbox if line.strip()]
    except FileNotFoundError:
        return []
