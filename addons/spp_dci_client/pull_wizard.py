"""The Pull from Registry wizard: what to ask a social registry, then a
registry pull (pull.py) created and queued, and opened."""
from trytond.model import ModelView, fields
from trytond.modules.spp_api.dci_query import GROUP_ATTRIBUTES
from trytond.pool import Pool
from trytond.wizard import Button, StateAction, StateView, Wizard


class PullStart(ModelView):
    "Pull from Registry"
    __string__ = "Pull from Registry"
    __name__ = 'spp.dci.pull.start'
    registry = fields.Many2One('spp.dci.registry', "Registry",
        required=True, domain=[('kind', '=', 'social_registry')])
    area = fields.Many2One('spp.area', "Area",
        help="The households of this area and the areas below it "
        "(empty: the registry's areas).")
    conditions = fields.Text("Conditions",
        help="Optional, a DCI expression over the registry's household "
        "attributes, e.g. {\"group_size\": {\"$gte\": 3}} (attributes: "
        + ', '.join(sorted(GROUP_ATTRIBUTES)) + ").")
    detect_duplicates = fields.Boolean("Find Duplicates",
        help="Run the registry's duplicate finder on the new individuals.")

    @staticmethod
    def default_detect_duplicates():
        return True


class PullWizard(Wizard):
    "Pull from Registry"
    __name__ = 'spp.dci.pull.wizard'
    start = StateView('spp.dci.pull.start',
        'spp_dci_client.pull_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Pull", 'open_', 'tryton-ok', default=True),
            ])
    open_ = StateAction('spp_dci_client.act_pull_form')

    def do_open_(self, action):
        Pull = Pool().get('spp.dci.pull')
        pull, = Pull.create([{
                    'registry': self.start.registry.id,
                    'area': self.start.area.id if self.start.area else None,
                    'conditions': self.start.conditions,
                    'detect_duplicates': self.start.detect_duplicates,
                    }])
        Pull.pull([pull])
        action['res_id'] = [pull.id]
        action['views'].reverse()
        return action, {}
