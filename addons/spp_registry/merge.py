"""Merging registrants: Tryton's party replace, extended for the registry.

``party.replace`` moves every reference listed by ``fields_to_replace``
from the source party to the destination with one UPDATE per column,
deactivates the source and sets its ``replaced_by``. The registry adds its
own references (memberships, relationships) and, when the parties are
registrants, keeps the registry consistent around the move: see
``transition_replace``. Addons that reference registrants add their fields
to ``fields_to_replace`` the same way."""
from trytond.i18n import gettext
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .detection import invalidate_cache

# Individual fields copied from the merged registrant when the kept one
# has no value.
FILL_FIELDS = [
    'birth_date', 'gender', 'area', 'civil_status', 'occupation', 'income']


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('spp.group.membership', 'individual'),
            ('spp.group.membership', 'group'),
            ('spp.relationship', 'source'),
            ('spp.relationship', 'destination'),
            ]

    @classmethod
    def merge_registrants(cls, source, destination):
        """Merge registrant `source` into `destination` with the replace
        wizard, without its different-name warning (a validator compared
        the pair already)."""
        Session = Pool().get('ir.session.wizard')
        session, = Session.create([{}])
        replace = cls(session.id)
        replace.ask.source = source
        replace.ask.destination = destination
        with Transaction().set_context(_spp_merge=True):
            replace.transition_replace()
        Session.delete([session])

    def check_similarity(self):
        if not Transaction().context.get('_spp_merge'):
            super().check_similarity()

    def transition_replace(self):
        """Replace, and when the parties are registrants:

        - fill the kept registrant's empty fields (and an approximate birth
          date) from the merged one;
        - keep the merged registrant's ID documents active;
        - end a moved membership when the kept registrant already has one
          in force in the same group, drop relationships that now relate
          the kept individual to itself;
        - disable the merged registrant with the reason;
        - close the pair's pending duplicate rows and drop the others of
          the merged registrant;
        - recompute the indicators of the groups concerned."""
        source, destination = self.ask.source, self.ask.destination
        if not (source.registrant_type or destination.registrant_type):
            return super().transition_replace()
        if source.registrant_type != destination.registrant_type:
            raise MergeError(gettext(
                    'spp_registry.msg_merge_registrant_type',
                    source=source.rec_name,
                    destination=destination.rec_name))
        with without_check_access():
            moved = self._registry_before_replace(source, destination)
        state = super().transition_replace()
        invalidate_cache(
            'party.party', *{m for m, _ in self.fields_to_replace()})
        with without_check_access():
            self._registry_after_replace(source, destination, moved)
        return state

    def _registry_before_replace(self, source, destination):
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Membership = pool.get('spp.group.membership')
        if destination.registrant_type == 'individual':
            values = {f: getattr(source, f) for f in FILL_FIELDS
                if getattr(destination, f) is None
                and getattr(source, f) is not None}
            if (source.birth_date and not source.birth_date_approximate
                    and destination.birth_date_approximate):
                values['birth_date'] = source.birth_date
                values['birth_date_approximate'] = False
            if values:
                Party.write([destination], {
                        k: getattr(v, 'id', v) for k, v in values.items()})
        return {
            'identifiers': Identifier.search([
                    ('party', '=', source.id), ('active', '=', True)]),
            'memberships': Membership.search(['OR',
                    ('individual', '=', source.id),
                    ('group', '=', source.id)]),
            }

    def _registry_after_replace(self, source, destination, moved):
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        Membership = pool.get('spp.group.membership')
        Relationship = pool.get('spp.relationship')
        Duplicate = pool.get('spp.registry.duplicate')
        today = pool.get('ir.date').today()

        Identifier.write(
            Identifier.browse(moved['identifiers']), {'active': True})

        memberships = Membership.browse(moved['memberships'])
        moved_ids = set(map(int, memberships))
        kept_current = {(m.group.id, m.individual.id)
            for m in Membership.search(['OR',
                    ('individual', '=', destination.id),
                    ('group', '=', destination.id)])
            if m.current and m.id not in moved_ids}
        for membership in memberships:
            if (membership.current and (membership.group.id,
                        membership.individual.id) in kept_current):
                Membership.write([membership], {'end_date': max(
                            today, membership.start_date or today)})

        Relationship.delete(Relationship.search([
                    ('source', '=', destination.id),
                    ('destination', '=', destination.id)]))

        if not source.disabled:
            Party.disable([source], gettext(
                    'spp_registry.msg_merge_disabled_reason',
                    registrant=destination.rec_name))

        Duplicate.lock()
        first, second = sorted([source.id, destination.id])
        pair = Duplicate.search([
                ('individual_a', '=', first), ('individual_b', '=', second),
                ('state', '=', 'to_review')])
        Duplicate.write(pair, {
                'state': 'duplicate', 'kept': destination.id,
                **Duplicate._review_values()})
        Duplicate.delete(Duplicate.search([
                    ('state', '=', 'to_review'),
                    ['OR',
                        ('individual_a', '=', source.id),
                        ('individual_b', '=', source.id)],
                    ]))

        groups = {m.group.id for m in Membership.search(['OR',
                    ('individual', '=', destination.id),
                    ('group', '=', destination.id)])}
        if destination.registrant_type == 'group':
            groups |= {source.id, destination.id}
        Membership.check_unique_roles(groups)
        Party.recompute_indicators(groups)
        if destination.registrant_type == 'individual':
            Duplicate._detect_multiple_groups(
                individual_ids=[destination.id], refresh=False)


class MergeError(ValidationError):
    pass
