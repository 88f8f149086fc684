"""Integration with spp_programs (registered only when it is installed):
indicator conditions in the rule language, and no deletion of a field a
program rule uses."""
import re

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.spp_programs.rule import RuleError, compile_rule
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class CustomField(metaclass=PoolMeta):
    __name__ = 'spp.custom_field'

    @classmethod
    def compile_condition(cls, text):
        if text.strip().startswith('['):
            return super().compile_condition(text)
        return compile_rule(text)

    @classmethod
    def check_delete(cls, records):
        super().check_delete(records)
        Program = Pool().get('spp.program')
        with Transaction().set_context(active_test=False):
            programs = Program.search([])
        for record in records:
            word = re.compile(r'(?<![\w.])%s(?![\w])' % re.escape(
                    record.name))
            for program in programs:
                if any(word.search(r or '') for r in [
                            program.eligibility_rule,
                            program.exclusion_rule]):
                    raise AccessError(gettext(
                            'spp_custom_field.msg_delete_used',
                            field=record.string, program=program.rec_name))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def custom_filter_domain(cls, text):
        "Any eligibility rule is also a filter of the search bar."
        try:
            return compile_rule(text)
        except RuleError:
            return super().custom_filter_domain(text)


__all__ = ['CustomField', 'Party', 'RuleError']
