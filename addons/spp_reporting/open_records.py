"""Open Records: from a row of a report (or a double click on it), the
list of the records behind its figures, with the report's filters. The
list is an ordinary search of those records: the reader's access rights
and record rules apply to it as anywhere."""
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.transaction import Transaction
from trytond.wizard import StateAction, Wizard


class OpenRecords(Wizard):
    "Open Records"
    __string__ = "Open Records"
    __name__ = 'spp.report.open'
    start = StateAction('spp_reporting.act_open_records')

    def do_start(self, action):
        pool = Pool()
        Model = pool.get('ir.model')
        context = Transaction().context
        row = self.record
        model, domain = row._records()
        if row._records_area and context.get('area'):
            domain.append((row._records_area, 'child_of',
                    [context['area']], 'parent'))
        action['res_model'] = model
        action['name'] = '%s: %s' % (Model.get_name(model), row.rec_name)
        action['pyson_domain'] = PYSONEncoder().encode(domain)
        action['pyson_context'] = PYSONEncoder().encode({})
        return action, {}
