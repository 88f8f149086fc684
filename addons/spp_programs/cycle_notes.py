"""What the cycle form tells its user in words: what the cycle holds and
the step it reached, why a button it shows is not available to them, and
what a button just did (a notification)."""
from trytond.i18n import gettext
from trytond.model.modelstorage import _pyson_encoder, _record_eval_pyson
from trytond.pool import Pool
from trytond.transaction import Transaction


class CycleNotesMixin:
    "The summary, the note and the notifications of spp.cycle."
    __slots__ = ()

    @classmethod
    def contents(cls, cycles):
        """{cycle id: what the cycle holds, in words}: its beneficiaries
        here; spp_entitlement says its entitlements and their total."""
        lang = Pool().get('ir.lang').get()
        counts = cls.get_beneficiary_count(cycles, 'beneficiary_count')
        return {c.id: gettext('spp_programs.msg_cycle_beneficiaries',
                count=lang.format_number(counts[c.id], 0)) for c in cycles}

    @classmethod
    def get_summary(cls, cycles, name):
        "What each cycle holds and the step it reached, in one sentence."
        contents = cls.contents(cycles)
        result = {}
        for cycle in cycles:
            values = {'contents': contents[cycle.id]}
            if cycle.state == 'draft':
                message = ('msg_cycle_summary_prepared' if cycle.prepared_at
                    else 'msg_cycle_summary_not_prepared')
            elif cycle.state == 'to_approve':
                message = 'msg_cycle_summary_submitted'
                values['user'] = getattr(cycle.submitted_by, 'rec_name', '')
            elif cycle.state in {'approved', 'distributed', 'ended'}:
                message = 'msg_cycle_summary_approved'
                values['user'] = getattr(cycle.approved_by, 'rec_name', '')
            else:
                result[cycle.id] = None
                continue
            result[cycle.id] = gettext(
                f'spp_programs.{message}', **values)
        return result

    @classmethod
    def get_action_note(cls, cycles, name):
        """Why the current user cannot use a button the form shows: the
        button's groups, and the four-eyes rule of approval (which
        approve() also enforces)."""
        user = Transaction().user
        result = {c.id: None for c in cycles}
        if not user:
            return result
        Button = Pool().get('ir.model.button')
        groups = set(Pool().get('res.user').get_groups())
        refused = {}
        for button, states in cls._buttons.items():
            button_groups = Button.get_groups(cls.__name__, button)
            if button_groups and not groups & button_groups:
                refused[button] = (
                    _pyson_encoder.encode(states.get('invisible', False)),
                    button_groups)
        Group = Pool().get('res.group')
        for cycle in cycles:
            notes = []
            if (cycle.state == 'to_approve' and cycle.submitted_by
                    and cycle.submitted_by.id == user
                    and 'approve' not in refused):
                notes.append(gettext('spp_programs.msg_cycle_note_four_eyes'))
            for button, (invisible, button_groups) in refused.items():
                if _record_eval_pyson(cycle, invisible, encoded=True):
                    continue
                notes.append(gettext('spp_programs.msg_cycle_note_group',
                        groups=' or '.join(sorted(
                                g.name for g in Group.browse(button_groups))),
                        button=cls.button_label(button)))
            result[cycle.id] = ' '.join(notes) or None
        return result

    @classmethod
    def button_label(cls, button):
        "The label of the named button as the form shows it."
        Button = Pool().get('ir.model.button')
        attributes = Button.get_view_attributes(cls.__name__, button)
        return attributes.get('string') or button

    @classmethod
    def notify_done(cls, cycles, message, contents=None):
        """Tell the current user what a button did: `message` (an
        ir.message id) with each cycle's contents; res.notification lists
        it in the client's notifications, and the form's summary says the
        same."""
        if not cycles:
            # The workflow left out cycles already in the target state.
            return
        contents = contents or cls.contents(cycles)
        for cycle in cycles:
            cls.notify_user([cycle], 'tryton-ok', gettext(message,
                    cycle=cycle.rec_name, contents=contents[cycle.id]))
