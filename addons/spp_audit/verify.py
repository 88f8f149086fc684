"""Verify the audit chain from the client (auditors) or the command line
(tools/sppdb.py audit-verify)."""
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import chain


def verify_chain():
    """(entries that hold, the first Broken or None) for the current
    database, after sealing what has committed."""
    Log = Pool().get('spp.audit.log')
    Log.seal_committed()
    cursor = Transaction().connection.cursor()
    try:
        return chain.verify(Log.rows(cursor)), None
    except chain.Broken as broken:
        return broken.position - 1, broken


class VerifyResult(ModelView):
    "Verify Audit Chain"
    __string__ = "Verify Audit Chain"
    __name__ = 'spp.audit.verify.result'
    verified = fields.Integer("Entries Verified", readonly=True)
    intact = fields.Boolean("Intact", readonly=True)
    message = fields.Text("Result", readonly=True)


class Verify(Wizard):
    "Verify Audit Chain"
    __string__ = "Verify Audit Chain"
    __name__ = 'spp.audit.verify'
    start = StateTransition()
    result = StateView('spp.audit.verify.result',
        'spp_audit.verify_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        return 'result'

    def default_result(self, fields):
        verified, broken = verify_chain()
        if broken is None:
            message = gettext('spp_audit.msg_chain_intact', count=verified)
        else:
            message = gettext('spp_audit.msg_chain_broken',
                position=broken.position, reason=broken.reason,
                count=verified)
        return {'verified': verified, 'intact': broken is None,
            'message': message}
