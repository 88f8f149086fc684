"""Structural kinds: who belongs to which household, and who heads it.

Each shows the household's current members beside the members after the
change (the `household` line), so that two open structural requests on a
household conflict, and a change of its members since submission makes
a request stale."""
from trytond.i18n import gettext
from trytond.pool import Pool

from .kinds import KindImplementation, mark_registrants, refuse


def _names(parts):
    return '; '.join(p for p in parts if p)


class MemberKind(KindImplementation):
    target = 'group'

    @classmethod
    def preview(cls, requests):
        current = cls.current_memberships(
            [r.registrant for r in requests if r.registrant])
        return {r.id: [cls.household_line(
                        current.get(r.registrant.id, []) if r.registrant
                        else [], cls.proposed_text(
                            r, current.get(r.registrant.id, [])
                            if r.registrant else []))]
            for r in requests}

    @classmethod
    def proposed_text(cls, request, memberships):
        return ''

    @classmethod
    def membership_of(cls, request, memberships, individual=None):
        "The current membership of the request's individual, or refuse."
        individual = individual or request.individual
        for membership in memberships:
            if membership.individual == individual:
                return membership
        refuse('msg_not_a_member', individual=(
                individual.rec_name if individual else '-'),
            group=request.registrant.rec_name, request=request.rec_name)

    @staticmethod
    def role_ids(role):
        return [role.id] if role else []


class AddMember(MemberKind):
    "Add a member"
    __string__ = "Add a member"
    __name__ = 'spp.change_request.kind.add_member'
    form_fields = ('individual', 'new_family_name', 'new_given_name',
        'new_birth_date', 'new_gender', 'role', 'effective_date')

    @staticmethod
    def new_person(request):
        return {'family_name': request.new_family_name,
            'given_name': request.new_given_name,
            'birth_date': request.new_birth_date,
            'gender': request.new_gender.id if request.new_gender else None}

    @classmethod
    def person_text(cls, request):
        if request.individual:
            name = request.individual.rec_name
        else:
            name = ' '.join(filter(None, [
                        request.new_given_name, request.new_family_name]))
        return f'{name} ({request.role.rec_name})' if request.role else name

    @classmethod
    def proposed_text(cls, request, memberships):
        return _names([cls.member_text(m) for m in memberships]
            + ['+ ' + cls.person_text(request)])

    @classmethod
    def check(cls, requests):
        current = cls.current_memberships([r.registrant for r in requests])
        for request in requests:
            memberships = current[request.registrant.id]
            if request.individual:
                if request.individual.disabled:
                    refuse('msg_registrant_disabled',
                        registrant=request.individual.rec_name)
                if any(m.individual == request.individual
                        for m in memberships):
                    refuse('msg_already_member',
                        individual=request.individual.rec_name,
                        group=request.registrant.rec_name)
            else:
                cls.check_new_person(request, cls.new_person(request))
            cls.check_unique_role(request, request.registrant, request.role,
                memberships)

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        new = [r for r in requests if not r.individual]
        people = Party.create([{
                    'registrant_type': 'individual',
                    'area': r.registrant.area.id if r.registrant.area
                    else None, 'change_request': r.id,
                    **cls.new_person(r)} for r in new])
        individuals = dict(zip(new, people))
        Membership.create([{
                    'group': r.registrant.id,
                    'individual': (r.individual or individuals[r]).id,
                    'start_date': r.effective_date or cls.today(),
                    'roles': [('add', cls.role_ids(r.role))],
                    } for r in requests])
        mark_registrants(requests)
        for request, person in individuals.items():
            request.individual = person
        Pool().get('spp.change_request').save_system(list(individuals))


class RemoveMember(MemberKind):
    "Remove a member"
    __string__ = "Remove a member"
    __name__ = 'spp.change_request.kind.remove_member'
    form_fields = ('individual', 'effective_date')

    @classmethod
    def proposed_text(cls, request, memberships):
        return _names([cls.member_text(m) for m in memberships
                if m.individual != request.individual])

    @classmethod
    def check(cls, requests):
        current = cls.current_memberships([r.registrant for r in requests])
        for request in requests:
            membership = cls.membership_of(
                request, current[request.registrant.id])
            date = request.effective_date or cls.today()
            if membership.start_date and date < membership.start_date:
                refuse('msg_end_before_start', individual=(
                        request.individual.rec_name),
                    date=membership.start_date.isoformat())

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        current = cls.current_memberships([r.registrant for r in requests])
        args = []
        for request in requests:
            membership = cls.membership_of(
                request, current[request.registrant.id])
            args.extend(([membership], {
                        'end_date': request.effective_date or cls.today()}))
        Membership.write(*args)
        mark_registrants(requests)


class ChangeHead(MemberKind):
    "Change the head"
    __string__ = "Change the head"
    __name__ = 'spp.change_request.kind.change_head'
    form_fields = ('individual',)

    @staticmethod
    def head_role():
        Role = Pool().get('spp.group.membership.role')
        heads = Role.search([('code', '=', 'head')], limit=1)
        if not heads:
            refuse('msg_no_head_role')
        return heads[0]

    @classmethod
    def proposed_text(cls, request, memberships):
        head = cls.head_role()
        texts = []
        for membership in memberships:
            roles = [r for r in membership.roles if r != head]
            if membership.individual == request.individual:
                roles.insert(0, head)
            names = ', '.join(r.rec_name for r in roles)
            name = membership.individual.rec_name
            texts.append(f'{name} ({names})' if names else name)
        return _names(texts)

    @classmethod
    def check(cls, requests):
        head = cls.head_role()
        current = cls.current_memberships([r.registrant for r in requests])
        for request in requests:
            membership = cls.membership_of(
                request, current[request.registrant.id])
            if head in membership.roles:
                refuse('msg_already_head',
                    individual=request.individual.rec_name,
                    group=request.registrant.rec_name)

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        RoleRel = pool.get('spp.group.membership-role')
        head = cls.head_role()
        current = cls.current_memberships([r.registrant for r in requests])
        old, new = [], []
        for request in requests:
            memberships = current[request.registrant.id]
            membership = cls.membership_of(request, memberships)
            old.extend(m.id for m in memberships if head in m.roles)
            new.append({'membership': membership.id, 'role': head.id})
        # The head leaves before the new one takes the role: the registry
        # refuses two heads at once.
        RoleRel.delete(RoleRel.search([
                    ('membership', 'in', old), ('role', '=', head.id)]))
        RoleRel.create(new)
        mark_registrants(requests)


class MoveMember(MemberKind):
    "Move a member to another household"
    __string__ = "Move a member to another household"
    __name__ = 'spp.change_request.kind.move_member'
    form_fields = ('individual', 'target_group', 'role', 'effective_date')

    @classmethod
    def proposed_text(cls, request, memberships):
        staying = [cls.member_text(m) for m in memberships
            if m.individual != request.individual]
        target = request.target_group.rec_name if request.target_group \
            else ''
        moved = gettext('spp_change_request.msg_line_moved',
            individual=request.individual.rec_name if request.individual
            else '', group=target)
        return _names(staying + [moved])

    @classmethod
    def check(cls, requests):
        current = cls.current_memberships(
            [r.registrant for r in requests]
            + [r.target_group for r in requests if r.target_group])
        for request in requests:
            cls.membership_of(request, current[request.registrant.id])
            target = request.target_group
            if not target or target == request.registrant:
                refuse('msg_move_target', request=request.rec_name)
            if target.disabled:
                refuse('msg_registrant_disabled', registrant=target.rec_name)
            cls.check_unique_role(request, target, request.role,
                current[target.id])

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Membership = pool.get('spp.group.membership')
        Party = pool.get('party.party')
        current = cls.current_memberships([r.registrant for r in requests])
        ends, creates = [], []
        for request in requests:
            date = request.effective_date or cls.today()
            membership = cls.membership_of(
                request, current[request.registrant.id])
            ends.extend(([membership], {'end_date': date}))
            creates.append({'group': request.target_group.id,
                    'individual': request.individual.id, 'start_date': date,
                    'roles': [('add', cls.role_ids(request.role))]})
        Membership.write(*ends)
        Membership.create(creates)
        mark_registrants(requests)
        args = []
        for request in requests:
            args.extend(([request.target_group],
                    {'change_request': request.id}))
        Party.write(*args)


class SplitHousehold(MemberKind):
    "Split a household"
    __string__ = "Split a household"
    __name__ = 'spp.change_request.kind.split_household'
    form_fields = ('members', 'new_group_name', 'effective_date')

    @classmethod
    def proposed_text(cls, request, memberships):
        leaving = {m.individual for m in request.members}
        staying = [cls.member_text(m) for m in memberships
            if m.individual not in leaving]
        new = gettext('spp_change_request.msg_line_new_household',
            name=request.new_group_name or '', members=', '.join(
                m.individual.rec_name for m in request.members
                if m.individual))
        return _names(staying + [new])

    @classmethod
    def check(cls, requests):
        current = cls.current_memberships([r.registrant for r in requests])
        for request in requests:
            memberships = current[request.registrant.id]
            if not request.new_group_name:
                refuse('msg_group_name', request=request.rec_name)
            if not request.members:
                refuse('msg_split_members', request=request.rec_name)
            heads = [m for m in request.members if m.role and m.role.unique]
            if len(heads) > 1:
                refuse('msg_second_unique_role', role=heads[1].role.rec_name,
                    group=request.new_group_name,
                    member=heads[0].individual.rec_name,
                    request=request.rec_name)
            for line in request.members:
                cls.membership_of(request, memberships, line.individual)
            if len(request.members) >= len(memberships):
                refuse('msg_split_everyone', request=request.rec_name)

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        current = cls.current_memberships([r.registrant for r in requests])
        groups = Party.create([{
                    'registrant_type': 'group', 'name': r.new_group_name,
                    'group_kind': r.registrant.group_kind.id,
                    'area': r.registrant.area.id if r.registrant.area
                    else None, 'change_request': r.id} for r in requests])
        ends, creates = [], []
        for request, group in zip(requests, groups):
            date = request.effective_date or cls.today()
            for line in request.members:
                membership = cls.membership_of(request,
                    current[request.registrant.id], line.individual)
                ends.extend(([membership], {'end_date': date}))
                creates.append({'group': group.id,
                        'individual': line.individual.id, 'start_date': date,
                        'roles': [('add', cls.role_ids(line.role))]})
            request.target_group = group
        Membership.write(*ends)
        Membership.create(creates)
        mark_registrants(requests)
        Pool().get('spp.change_request').save_system(requests)


class CreateHousehold(KindImplementation):
    "Create a household"
    __string__ = "Create a household"
    __name__ = 'spp.change_request.kind.create_household'
    target = None
    form_fields = ('new_group_name', 'members')

    @classmethod
    def preview(cls, requests):
        return {r.id: [{'key': 'household',
                    'field': gettext('spp_change_request.msg_line_members'),
                    'current': '',
                    'proposed': _names([cls.line_text(m)
                            for m in r.members])}]
            for r in requests}

    @staticmethod
    def line_text(line):
        name = ' '.join(filter(None, [line.given_name, line.family_name]))
        if line.id_type and line.id_number:
            name += f' [{line.id_number}]'
        return f'{name} ({line.role.rec_name})' if line.role else name

    @classmethod
    def check(cls, requests):
        for request in requests:
            if not request.new_group_name:
                refuse('msg_group_name', request=request.rec_name)
            if not request.area:
                refuse('msg_household_area', request=request.rec_name)
            if not request.members:
                refuse('msg_household_members', request=request.rec_name)
            heads = [m for m in request.members if m.role and m.role.unique]
            if len(heads) > 1:
                refuse('msg_second_unique_role', role=heads[1].role.rec_name,
                    group=request.new_group_name,
                    member=cls.line_text(heads[0]),
                    request=request.rec_name)
            numbers = []
            for line in request.members:
                cls.check_new_person(request, line.person_values())
                if line.id_number:
                    if not line.id_type:
                        refuse('msg_id_type_missing',
                            number=line.id_number)
                    cls.check_identifier(None, line.id_type, line.id_number)
                    numbers.append((line.id_type, line.id_number))
            Identifier = Pool().get('party.identifier')
            Identifier.check_duplicates(numbers, [])

    @classmethod
    def apply(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        Membership = pool.get('spp.group.membership')
        lines = [(r, m) for r in requests for m in r.members]
        people = Party.create([{
                    'registrant_type': 'individual', 'area': r.area.id,
                    'change_request': r.id, **line.person_values(),
                    'identifiers': [('create', [{'type': line.id_type,
                                    'code': line.id_number}])]
                    if line.id_number else [],
                    } for r, line in lines])
        groups = Party.create([{
                    'registrant_type': 'group', 'name': r.new_group_name,
                    'area': r.area.id, 'change_request': r.id}
                for r in requests])
        by_request = dict(zip(requests, groups))
        Membership.create([{
                    'group': by_request[r].id, 'individual': person.id,
                    'roles': [('add', [line.role.id] if line.role else [])],
                    } for (r, line), person in zip(lines, people)])
        for request, group in by_request.items():
            request.registrant = group
        Pool().get('spp.change_request').save_system(requests)

