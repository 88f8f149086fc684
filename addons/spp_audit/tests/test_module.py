import json

from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.spp_registry.tests.tools import (
    create_household, get_ref, years_ago)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .. import chain


def entries(**domain):
    Log = Pool().get('spp.audit.log')
    Log.flush()
    return Log.search([(k, '=', v) for k, v in domain.items()],
        order=[('position', 'ASC')])


def family():
    female = get_ref('spp_registry', 'gender_female')
    return create_household("Santos", [
            {'family_name': "Santos", 'given_name': "Ana",
                'birth_date': years_ago(35), 'gender': female,
                'roles': ['head']},
            ])


class AuditTestCase(ModuleTestCase):
    "Audit trail"
    module = 'spp_audit'
    # The generic checks cover the extensions of every addon it audits.
    extras = ['spp_programs', 'spp_entitlement', 'spp_payment',
        'spp_custom_field', 'spp_api']

    @with_transaction()
    def test_create_write_delete_entries(self):
        "Creating, changing and deleting a registrant each leave entries"
        Party = Pool().get('party.party')
        group, (ana,) = family()
        created = entries(model='party.party', action='create')
        self.assertEqual({e.record_id for e in created}, {group.id, ana.id})
        ana_created, = [e for e in created if e.record_id == ana.id]
        self.assertEqual(
            json.loads(ana_created.changes)['given_name'], [None, "Ana"])

        Party.write([ana], {'given_name': "Anna"})
        written, = entries(model='party.party', action='write',
            record_id=ana.id)
        changes = json.loads(written.changes)
        self.assertEqual(changes['given_name'], ["Ana", "Anna"])
        self.assertEqual(written.user.id, Transaction().user)

        Party.write([ana], {'given_name': "Anna"})
        self.assertEqual(len(entries(
                    model='party.party', action='write', record_id=ana.id)),
            1, "a write that changes nothing is no entry")

    @with_transaction()
    def test_chain_verifies_and_breaks(self):
        "The chain holds, and an edited, removed or reordered row breaks it"
        Log = Pool().get('spp.audit.log')
        family()
        Log.flush()
        cursor = Transaction().connection.cursor()
        rows = list(Log.rows(cursor))
        self.assertGreater(len(rows), 2)
        self.assertEqual(chain.verify(rows), len(rows))

        edited = [list(r) for r in rows]
        edited[1][11] = '{"given_name":[null,"Eve"]}'
        with self.assertRaises(chain.Broken) as broken:
            chain.verify(edited)
        self.assertEqual(broken.exception.position, 2)

        with self.assertRaises(chain.Broken) as broken:
            chain.verify(rows[:1] + rows[2:])
        self.assertEqual(broken.exception.position, 2)
        self.assertIn("missing", broken.exception.reason)

        with self.assertRaises(chain.Broken) as broken:
            chain.verify([rows[1], rows[0]] + rows[2:])
        self.assertEqual(broken.exception.position, 1)

    @with_transaction()
    def test_entries_cannot_be_changed(self):
        "No entry is created, written, copied or deleted through the ORM"
        Log = Pool().get('spp.audit.log')
        family()
        Log.flush()
        entry = Log.search([], limit=1)[0]
        for call in [
                lambda: Log.write([entry], {'action': 'access'}),
                lambda: Log.delete([entry]),
                lambda: Log.copy([entry]),
                lambda: Log.create([{'action': 'create'}]),
                ]:
            with self.assertRaises(AccessError):
                call()

    @with_transaction()
    def test_default_rule_cannot_be_lowered(self):
        "An administrator widens a default rule, never lowers or deletes it"
        pool = Pool()
        Rule = pool.get('spp.audit.rule')
        rule = Rule(get_ref('spp_audit', 'rule_party'))
        with Transaction().set_context(_check_access=True):
            for values in [{'log_access': False}, {'log_write': False},
                    {'actions': 'merge'}, {'field_names': 'name'},
                    {'module': None}]:
                with self.assertRaises(AccessError, msg=values):
                    Rule.write([rule], values)
            with self.assertRaises(AccessError):
                Rule.delete([rule])
        # More is added as a rule of the administrator's own.
        area_rule, = Rule.create([{'model': 'spp.area', 'log_write': True}])
        self.assertTrue(Rule.config('spp.area')['write'])
        Rule.delete([area_rule])
        self.assertIsNone(Rule.config('spp.area'))

    @with_transaction()
    def test_rule_validation(self):
        "Unknown fields, actions and unsupported access are refused"
        pool = Pool()
        Rule = pool.get('spp.audit.rule')
        for values in [{'field_names': 'no_such_field'},
                {'actions': 'launch'}, {'log_access': True}]:
            with self.assertRaises(ValidationError, msg=values):
                Rule.create([{'model': 'spp.area', **values}])
        Rule.create([{'model': 'spp.area', 'field_names': 'name\ncode'}])

    @with_transaction()
    def test_custom_values_are_audited(self):
        "A stored Dict (custom field values) is audited with every field"
        pool = Pool()
        Party = pool.get('party.party')
        CustomField = pool.get('spp.custom_field')
        CustomField.create([{'name': 'meals', 'string': "Meals a Day",
                    'applies_to': 'group', 'type_': 'integer'}])
        group, _ = family()
        entries()
        Party.write([group], {'custom_values': {'meals': 2}})
        entry, = entries(model='party.party', action='write',
            record_id=group.id)
        self.assertEqual(
            json.loads(entry.changes)['custom_values'], [None, {'meals': 2}])

    @with_transaction()
    def test_named_action_disable(self):
        "Disabling a registrant is one named action with its reason"
        Party = Pool().get('party.party')
        group, (ana,) = family()
        Party.disable([ana], "Moved abroad")
        entry, = entries(model='party.party', action='disable')
        self.assertEqual(entry.record_id, ana.id)
        self.assertEqual(json.loads(entry.details)['reason'], "Moved abroad")


del ModuleTestCase
