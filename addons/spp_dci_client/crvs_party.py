"""What the civil registry (CRVS) tells us about individuals: death (date
and the registry that reported it) and whether the birth date we hold is
the one the civil registry has (flow 2: enrolment in an old-age program
may require it).

A death is written by the life events (life_event.py, set-based); a
birth date is checked by `verify_birth_dates()`, from the
individual's "Verify with CRVS" button or a program's batch. Changing the
birth date afterwards drops the verification."""
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import without_check_access

from .search import MAX_REQUESTS, request_item, search
from .transport import RegistryError

_individual = {'invisible': Eval('registrant_type') != 'individual'}
BIRTH_DATE_CHECKS = [
    (None, ""),
    ('verified', "Verified"),
    ('mismatch', "Different at the Civil Registry"),
    ('not_found', "Not Found at the Civil Registry"),
    ]


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    death_date = fields.Date("Date of Death", readonly=True,
        states=_individual,
        help="As reported by the civil registry (a life event).")
    death_source = fields.Many2One('spp.dci.registry', "Death Reported By",
        readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('death_date')})
    birth_date_check = fields.Selection(BIRTH_DATE_CHECKS,
        "Birth Date at the Civil Registry", readonly=True,
        states=_individual,
        help="The outcome of the last check of the birth date with the "
        "civil registry (CRVS).")
    birth_date_check_string = birth_date_check.translated(
        'birth_date_check')
    birth_date_verified = fields.Date("Birth Date Verified On",
        readonly=True, states={
            'invisible': Eval('birth_date_check') != 'verified'})
    birth_date_source = fields.Many2One('spp.dci.registry',
        "Birth Date Checked With", readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('birth_date_check')})
    birth_date_crvs = fields.Date("Civil Registry Birth Date",
        readonly=True,
        states={'invisible': Eval('birth_date_check') != 'mismatch'},
        help="The birth date the civil registry holds, when it differs "
        "from ours.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'verify_with_crvs': {
                    'invisible': Eval('registrant_type') != 'individual',
                    'readonly': Eval('death_date') | Eval('disabled'),
                    'depends': ['registrant_type', 'death_date',
                        'disabled'],
                    },
                })

    @classmethod
    def copy(cls, parties, default=None):
        default = dict(default or {})
        for name in ['death_date', 'death_source', 'birth_date_check',
                'birth_date_verified', 'birth_date_source',
                'birth_date_crvs']:
            default.setdefault(name, None)
        return super().copy(parties, default=default)

    @classmethod
    def write(cls, *args):
        # A birth date changed by hand is no longer the one verified.
        actions = iter(args)
        new_args = []
        for parties, values in zip(actions, actions):
            if 'birth_date' in values and 'birth_date_check' not in values:
                values = {**values, 'birth_date_check': None,
                    'birth_date_verified': None, 'birth_date_source': None,
                    'birth_date_crvs': None}
            new_args.extend((parties, values))
        super().write(*new_args)

    @classmethod
    @ModelView.button
    def verify_with_crvs(cls, parties):
        """Check the birth date of the individuals with the civil
        registry (a synchronous search by identifier)."""
        cls.verify_birth_dates(
            [p for p in parties if p.registrant_type == 'individual'])

    @classmethod
    def verify_birth_dates(cls, individuals, registry=None):
        """Check the individuals' birth dates with the civil registry: a
        synchronous search by identifier, MAX_REQUESTS a message. Verified
        when the registry's date is ours; a mismatch keeps its date."""
        pool = Pool()
        Registry = pool.get('spp.dci.registry')
        LifeEvent = pool.get('spp.dci.life.event')
        if registry is None:
            registries = Registry.search([('kind', '=', 'crvs')], limit=1)
            if not registries:
                raise UserError(gettext(
                        'spp_dci_client.msg_crvs_verify_no_crvs'))
            registry, = registries
        theirs = registry.reverse_mapping('identifier_type')
        reader = LifeEvent.reader(registry)
        today = pool.get('ir.date').today()
        asked = []
        outcome = {}
        for person in individuals:
            for identifier in person.identifiers:
                if identifier.active and identifier.type in theirs:
                    asked.append((person, request_item('idtype-value', {
                                    'type': theirs[identifier.type],
                                    'value': identifier.code})))
                    break
            else:
                outcome.setdefault(('not_found', None), []).append(person)
        for batch in grouped_slice(asked, MAX_REQUESTS):
            batch = list(batch)
            try:
                responses = search(registry, [item for _, item in batch])
            except RegistryError as error:
                raise UserError(gettext(
                        'spp_dci_client.msg_registry_failed',
                        registry=registry.rec_name, error=error.message))
            for (person, _), response in zip(batch, responses):
                records = (response.get('data') or {}).get('reg_records')
                records = records if isinstance(records, list) else (
                    [records] if isinstance(records, dict) else [])
                found = reader.person(records[0]) if records else None
                if found is None or not found.birth_date:
                    key = ('not_found', None)
                elif found.birth_date == person.birth_date:
                    key = ('verified', None)
                else:
                    key = ('mismatch', found.birth_date)
                outcome.setdefault(key, []).append(person)
        with without_check_access():
            for (check, date), people in outcome.items():
                cls.write(people, {
                        'birth_date_check': check,
                        'birth_date_verified': (
                            today if check == 'verified' else None),
                        'birth_date_source': registry.id,
                        'birth_date_crvs': date,
                        })
        return {check: len(p) for (check, _), p in outcome.items()}
