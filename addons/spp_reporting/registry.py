"""Registry figures: households and individuals by area, individuals by
age band and sex, registrations per month, data quality (verified ID,
phone, exact birth date) and duplicate findings waiting for review."""
from sql import Literal, Null
from sql.aggregate import Count, Min
from sql.conditionals import Case

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool

from .scope import (
    by_level, count_if, month_bounds, month_start, period_domain, scoped,
    share, source, typed_null, write_columns)

AGE_BANDS = [
    ('0-4', "0–4"),
    ('5-17', "5–17"),
    ('18-59', "18–59"),
    ('60+', "60 and over"),
    ('unknown', "Unknown"),
    ]
PHONE_TYPES = ('phone', 'mobile')


class RecordsMixin:
    """A report row opens the records behind it (Open Records, a
    double click in the list): `_records()` gives their model and
    domain from the row's keys; the context's area is added on the
    path `_records_area` of that model."""
    __slots__ = ()
    _records_area = 'area'

    def _records(self):
        raise NotImplementedError

    @staticmethod
    def _area_domain(field, area):
        return [(field, 'child_of', [area.id], 'parent')] if area else [
            (field, '=', None)]


class RegistryArea(RecordsMixin, ModelSQL, ModelView):
    "Registry by Area"
    __string__ = "Registry by Area"
    __name__ = 'spp.report.registry.area'
    area = fields.Many2One('spp.area', "Area", readonly=True)
    households = fields.Integer("Households", readonly=True)
    individuals = fields.Integer("Individuals", readonly=True)
    female = fields.Integer("Female", readonly=True)
    male = fields.Integer("Male", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('individuals', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        ModelData = Pool().get('ir.model.data')
        from_, party, area, where = registrants_by_area()
        individual = party.registrant_type == 'individual'
        female = ModelData.get_id('spp_registry', 'gender_female')
        male = ModelData.get_id('spp_registry', 'gender_male')
        return from_.select(
            Min(party.id).as_('id'), *write_columns(),
            area.as_('area'),
            count_if(party.registrant_type == 'group').as_('households'),
            count_if(individual).as_('individuals'),
            count_if(individual & (party.gender == female)).as_('female'),
            count_if(individual & (party.gender == male)).as_('male'),
            where=where, group_by=[area])

    def _records(self):
        return 'party.party', [('registrant_type', '!=', None)] + (
            self._area_domain('area', self.area)
            + period_domain('registration_date'))


class RegistryQuality(RecordsMixin, ModelSQL, ModelView):
    "Data Quality by Area"
    __string__ = "Data Quality by Area"
    __name__ = 'spp.report.registry.quality'
    area = fields.Many2One('spp.area', "Area", readonly=True)
    individuals = fields.Integer("Individuals", readonly=True)
    with_verified_id = fields.Integer("With a Verified ID", readonly=True,
        help="Individuals with an ID number the national ID system "
        "confirmed (empty where ID verification is not installed).")
    with_phone = fields.Integer("With a Phone", readonly=True)
    exact_birth_date = fields.Integer("With an Exact Birth Date",
        readonly=True)
    verified_id_share = fields.Float("Verified ID (%)", digits=(3, 1),
        readonly=True)
    phone_share = fields.Float("Phone (%)", digits=(3, 1), readonly=True)
    exact_birth_date_share = fields.Float("Exact Birth Date (%)",
        digits=(3, 1), readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('individuals', 'DESC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Identifier = pool.get('party.identifier')
        Contact = pool.get('party.contact_mechanism')
        from_, party, area, where = registrants_by_area(
            [('registrant_type', '=', 'individual')])
        identifier = Identifier.__table__()
        contact = Contact.__table__()
        phoned = contact.select(contact.party,
            where=contact.type.in_(PHONE_TYPES) & (contact.active == True))
        if 'verification_status' in Identifier._fields:
            verified = count_if(party.id.in_(
                    identifier.select(identifier.party,
                        where=identifier.verification_status == 'match')))
        else:
            verified = typed_null('INTEGER')
        # The shares from the counts in an outer query: repeated in the
        # same SELECT, each copy of a count (and of its IN subquery) gets
        # parameters of its own and PostgreSQL computes it again.
        counts = from_.select(
            Min(party.id).as_('id'), area.as_('area'),
            Count().as_('individuals'),
            verified.as_('with_verified_id'),
            count_if(party.id.in_(phoned)).as_('with_phone'),
            count_if((party.birth_date != Null)
                & (party.birth_date_approximate != True)).as_(
                'exact_birth_date'),
            where=where, group_by=[area])
        return counts.select(
            counts.id.as_('id'), *write_columns(),
            counts.area.as_('area'), counts.individuals.as_('individuals'),
            counts.with_verified_id.as_('with_verified_id'),
            counts.with_phone.as_('with_phone'),
            counts.exact_birth_date.as_('exact_birth_date'),
            share(counts.with_verified_id, counts.individuals).as_(
                'verified_id_share'),
            share(counts.with_phone, counts.individuals).as_('phone_share'),
            share(counts.exact_birth_date, counts.individuals).as_(
                'exact_birth_date_share'))

    def _records(self):
        return 'party.party', [('registrant_type', '=', 'individual')] + (
            self._area_domain('area', self.area)
            + period_domain('registration_date'))


def registrants_by_area(domain=None):
    """(from_, party, area, where): the registrants the reader may count
    (individuals and groups, or `domain`) registered in the context's
    period, and their area rolled up to the context's level."""
    Party = Pool().get('party.party')
    tables, where = scoped(Party, 'area',
        (domain or [('registrant_type', 'in', ['individual', 'group'])])
        + period_domain('registration_date'))
    from_, party = source(tables)
    from_, area = by_level(from_, party.area)
    return from_, party, area, where


class RegistryAge(RecordsMixin, ModelSQL, ModelView):
    "Individuals by Age and Sex"
    __string__ = "Individuals by Age and Sex"
    __name__ = 'spp.report.registry.age'
    age_band = fields.Selection(AGE_BANDS, "Age", readonly=True)
    age_band_string = age_band.translated('age_band')
    band_order = fields.Integer("Band Order", readonly=True,
        help="The age bands from the youngest: the order of the chart.")
    gender = fields.Many2One('spp.gender', "Sex", readonly=True)
    individuals = fields.Integer("Individuals", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('band_order', 'ASC'), ('gender', 'ASC'),
            ('id', 'ASC')]

    @classmethod
    def bands(cls, today=None):
        "(band, born after, born on or before) of each known age band."
        today = today or Pool().get('ir.date').today()

        def years_before(years):
            try:
                return today.replace(year=today.year - years)
            except ValueError:  # 29 February
                return today.replace(year=today.year - years, day=28)
        return [('0-4', years_before(5), None),
            ('5-17', years_before(18), years_before(5)),
            ('18-59', years_before(60), years_before(18)),
            ('60+', None, years_before(60))]

    @classmethod
    def table_query(cls):
        Party = Pool().get('party.party')
        tables, where = scoped(Party, 'area',
            [('registrant_type', '=', 'individual')]
            + period_domain('registration_date'))
        from_, party = source(tables)
        whens, orders = [], []
        for position, (band, after, until) in enumerate(cls.bands()):
            condition = Literal(True)
            if after:
                condition &= party.birth_date > after
            if until:
                condition &= party.birth_date <= until
            whens.append((condition, Literal(band)))
            orders.append((condition, Literal(position)))
        band = Case(*whens, else_=Literal('unknown'))
        order = Case(*orders, else_=Literal(len(orders)))
        # Grouped in an outer query: PostgreSQL binds the parameters of
        # the CASE in SELECT and GROUP BY apart and refuses them as
        # different expressions.
        banded = from_.select(party.id.as_('id'), band.as_('age_band'),
            order.as_('band_order'), party.gender.as_('gender'),
            where=where)
        return banded.select(
            Min(banded.id).as_('id'), *write_columns(),
            banded.age_band.as_('age_band'),
            Min(banded.band_order).as_('band_order'),
            banded.gender.as_('gender'),
            Count().as_('individuals'),
            group_by=[banded.age_band, banded.gender])

    def _records(self):
        domain = [('registrant_type', '=', 'individual'),
            ('gender', '=', self.gender.id if self.gender else None)]
        for band, after, until in self.bands():
            if band == self.age_band:
                if after:
                    domain.append(('birth_date', '>', after))
                if until:
                    domain.append(('birth_date', '<=', until))
        if self.age_band == 'unknown':
            domain.append(('birth_date', '=', None))
        return 'party.party', domain + period_domain('registration_date')


class RegistryMonth(RecordsMixin, ModelSQL, ModelView):
    "Registrations per Month"
    __string__ = "Registrations per Month"
    __name__ = 'spp.report.registry.month'
    month = fields.Date("Month", readonly=True)
    households = fields.Integer("Households", readonly=True)
    individuals = fields.Integer("Individuals", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        Party = Pool().get('party.party')
        tables, where = scoped(Party, 'area',
            [('registrant_type', 'in', ['individual', 'group']),
                ('registration_date', '!=', None)]
            + period_domain('registration_date'))
        from_, party = source(tables)
        # Grouped in an outer query: the month's parameter ('month')
        # would be bound apart in SELECT and GROUP BY on PostgreSQL.
        dated = from_.select(party.id.as_('id'),
            month_start(party.registration_date).as_('month'),
            party.registrant_type.as_('registrant_type'), where=where)
        return dated.select(
            Min(dated.id).as_('id'), *write_columns(),
            dated.month.as_('month'),
            count_if(dated.registrant_type == 'group').as_('households'),
            count_if(dated.registrant_type == 'individual').as_(
                'individuals'),
            group_by=[dated.month])

    def _records(self):
        start, end = month_bounds(self.month)
        return 'party.party', [('registrant_type', '!=', None),
            ('registration_date', '>=', start),
            ('registration_date', '<', end)]


class RegistryDuplicate(RecordsMixin, ModelSQL, ModelView):
    "Duplicate Findings"
    __string__ = "Duplicate Findings"
    __name__ = 'spp.report.registry.duplicate'
    reason = fields.Selection('get_reasons', "Reason", readonly=True)
    to_review = fields.Integer("To Review", readonly=True)
    duplicate = fields.Integer("Duplicate", readonly=True)
    not_duplicate = fields.Integer("Not Duplicate", readonly=True)

    _records_area = 'individual_a.area'

    @classmethod
    def get_reasons(cls):
        Duplicate = Pool().get('spp.registry.duplicate')
        return Duplicate.fields_get(['reason'])['reason']['selection']

    @classmethod
    def table_query(cls):
        Duplicate = Pool().get('spp.registry.duplicate')
        tables, where = scoped(Duplicate, 'individual_a.area')
        from_, duplicate = source(tables)
        return from_.select(
            Min(duplicate.id).as_('id'), *write_columns(),
            duplicate.reason.as_('reason'),
            count_if(duplicate.state == 'to_review').as_('to_review'),
            count_if(duplicate.state == 'duplicate').as_('duplicate'),
            count_if(duplicate.state == 'not_duplicate').as_(
                'not_duplicate'),
            where=where, group_by=[duplicate.reason])

    def _records(self):
        return 'spp.registry.duplicate', [('reason', '=', self.reason)]
