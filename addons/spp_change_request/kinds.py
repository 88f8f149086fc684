"""What every kind of change request implements.

A kind implementation is a small pool class named
`spp.change_request.kind.<name>` (see kinds_edit.py, kinds_members.py,
kinds_documents.py): an addon adds a kind by registering one more. Each
works on batches of requests, so that approving thousands at once costs
a few queries per kind, not a transaction per request:

- `preview(requests)`: {request id: [line]} where a line is a dict of
  `key` (what it changes, also the key conflicts compare), `field` (its
  label), `current` and `proposed` (display texts). The current texts
  saved at submission are what staleness compares.
- `check(requests)`: refuse, with the registry's own rules, what the
  registry would refuse when applying (raised at submit).
- `apply(requests)`: change the registry through its models, in the
  caller's transaction.
"""
from types import SimpleNamespace

from trytond.i18n import gettext
from trytond.model import Model
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool

# The key of the line every structural change of a household shows: two
# open requests that both restructure a household conflict on it.
HOUSEHOLD_KEY = 'household'


class ChangeRequestError(ValidationError):
    pass


def check_birth_date(name, birth_date):
    "The registry's check of a birth date, for a person named `name`."
    Party = Pool().get('party.party')
    # The check reads what a registrant shows: its name and birth date.
    Party.check_birth_date(
        [SimpleNamespace(rec_name=name, birth_date=birth_date)],
        {'birth_date'})


def refuse(message, **kwargs):
    raise ChangeRequestError(gettext(
            f'spp_change_request.{message}', **kwargs))


class KindImplementation(Model):
    "Change Request Kind"
    # Who a request of the kind is about: 'individual', 'group', 'any'
    # registrant, or None (the request creates it).
    target = 'individual'
    # Whether the kind changes fields listed on the kind (fields_).
    editable = False
    # The request fields the kind's form shows (besides the registrant).
    form_fields = ()

    @classmethod
    def kind_string(cls):
        "The description of the implementation (its class's docstring)."
        # The pool's classes have none of their own.
        return next(k.__doc__ for k in cls.__mro__ if k.__doc__).strip()

    @classmethod
    def editable_keys(cls):
        return set()

    @classmethod
    def preview(cls, requests):
        return {r.id: [] for r in requests}

    @classmethod
    def check(cls, requests):
        pass

    @classmethod
    def apply(cls, requests):
        raise NotImplementedError

    # -- helpers of the kinds -------------------------------------------
    @staticmethod
    def today():
        return Pool().get('ir.date').today()

    @staticmethod
    def current_memberships(groups):
        """{group id: [membership]} of the memberships in force today, in
        one search."""
        Membership = Pool().get('spp.group.membership')
        result = {g.id: [] for g in groups}
        if groups:
            for membership in Membership.search([
                        ('group', 'in', [g.id for g in groups]),
                        ('current', '=', True)],
                    order=[('id', 'ASC')]):
                result[membership.group.id].append(membership)
        return result

    @staticmethod
    def member_text(membership):
        roles = membership.role_names
        name = membership.individual.rec_name
        return f'{name} ({roles})' if roles else name

    @classmethod
    def household_line(cls, memberships, proposed):
        "The line of a household's members, now and after the change."
        return {'key': HOUSEHOLD_KEY,
            'field': gettext('spp_change_request.msg_line_members'),
            'current': '; '.join(cls.member_text(m) for m in memberships),
            'proposed': proposed}

    @staticmethod
    def unique_roles():
        Role = Pool().get('spp.group.membership.role')
        return {r.id for r in Role.search([('unique', '=', True)])}

    @classmethod
    def check_unique_role(cls, request, group, role, memberships,
            leaving=()):
        """Refuse a unique role (head) in a group that has a current
        member with it, unless that member leaves (`leaving`)."""
        if not role or not role.unique:
            return
        for membership in memberships:
            if membership.individual in leaving:
                continue
            if role in membership.roles:
                refuse('msg_second_unique_role', role=role.rec_name,
                    group=group.rec_name,
                    member=membership.individual.rec_name,
                    request=request.rec_name)

    @staticmethod
    def check_new_person(request, values):
        """Refuse the values of a new individual the registry would
        refuse: no name, a birth date in the future or too old."""
        Party = Pool().get('party.party')
        if not (values.get('family_name') or values.get('given_name')):
            refuse('msg_new_person_name', request=request.rec_name)
        if values.get('birth_date'):
            check_birth_date(' '.join(filter(None, [
                            values.get('given_name'),
                            values.get('family_name')])),
                values['birth_date'])

    @staticmethod
    def check_identifier(party, id_type, number, exclude=()):
        """The registry's checks of an ID number: format, check digit,
        and that nobody else holds it."""
        Identifier = Pool().get('party.identifier')
        identifier = Identifier(party=party, type=id_type, code=number)
        identifier.check_code()
        Identifier.check_duplicates([(id_type, number)],
            [i.id for i in exclude])


def mark_registrants(requests):
    """Leave each request's reference in its registrant's history (for a
    structural change, the household's)."""
    Party = Pool().get('party.party')
    args = []
    for request in requests:
        args.extend(([request.registrant], {'change_request': request.id}))
    if args:
        Party.write(*args)
