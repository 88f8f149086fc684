"""A synthetic national population, deterministic for a seed.

Pure Python, no database: `plan_areas()` draws the area tree and
`generate_households()` yields households with their members, IDs and
phone numbers. `writer.py` stores them with COPY (or INSERT on SQLite);
`orm.py` stores the same households through Party.create so that a test
can compare both.

Names come from Faker pools drawn once per seed and sampled with
random.Random(seed): calling Faker per person is far too slow for millions.
"""
import bisect
import datetime as dt
import random
from dataclasses import dataclass, field

from .phones import MobileNumbers

# Household sizes 1-12, mean ~4.5 (typical of a young, rural-heavy country).
SIZE_WEIGHTS = [8, 11, 15, 18, 15, 11, 8, 6, 4, 2, 1, 1]
FEMALE_HEAD = 0.30
SPOUSE = 0.72
PARENT = 0.12
OTHER_RELATIVE = 0.08
# Disability prevalence by age band: child, adult, elderly.
DISABILITY = (0.07, 0.13, 0.33)
HEAD_PHONE = 0.9
SPOUSE_PHONE = 0.5
ZIPF_EXPONENT = 1.0
NAME_POOL = 600

ID_MODULUS = 10 ** 9
# Multiplier coprime with 10**9: the ordinal -> number map is a bijection,
# so distinct ordinals (party ids) always give distinct national IDs.
ID_MULTIPLIER = 738_219_403
ID_OFFSET = 104_729_111


@dataclass(slots=True)
class Person:
    family_name: str
    given_name: str
    additional_name: str
    birth_date: dt.date
    gender: str
    role: str
    disability: bool = False
    birth_date_approximate: bool = False
    civil_status: str = None
    id_type: str = None
    id_number: str = None
    phone: str = None  # E.164


@dataclass(slots=True)
class Household:
    name: str
    area: str  # area code
    registration_date: dt.date
    members: list = field(default_factory=list)

    @property
    def head(self):
        return self.members[0]


@dataclass(slots=True)
class AreaPlan:
    code: str
    name: str
    kind: str
    parent: str = None  # parent code
    weight: float = 0.0  # share of households (localities only)


def luhn_check_digit(number):
    "The Luhn check digit of a string of digits (as stdnum.luhn computes)."
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = ord(digit) - 48
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def national_id(ordinal):
    "A valid 10-digit national ID (Luhn), unique for each ordinal."
    body = f'{(ordinal * ID_MULTIPLIER + ID_OFFSET) % ID_MODULUS:09d}'
    return body + luhn_check_digit(body)


def birth_certificate(ordinal, birth_date):
    return f'BC-{birth_date.year}-{ordinal:010d}'


def years_before(date, years):
    try:
        return date.replace(year=date.year - years)
    except ValueError:
        return date.replace(year=date.year - years, day=28)


class NamePools:
    "Faker names drawn once for a locale and seed."

    def __init__(self, locale='en_PH', seed=0, size=NAME_POOL):
        from faker import Faker
        faker = Faker(locale)
        faker.seed_instance(seed)

        def pool(method):
            # Names with a tab, newline or backslash would need escaping in
            # COPY text: leave them out.
            return sorted({n for n in (method() for _ in range(size))
                    if n and not set(n) & set('\t\n\r\\')})
        self.female = pool(faker.first_name_female)
        self.male = pool(faker.first_name_male)
        self.family = pool(faker.last_name)
        self.faker = faker


def plan_areas(seed=0, country='PH', locale='en_PH', regions=17,
        districts=(3, 9), localities=(4, 16)):
    """Country -> regions -> districts -> localities, with Zipf-like
    weights on localities so that a few hold many people."""
    from faker import Faker
    rng = random.Random(f'areas-{seed}')
    faker = Faker(locale)
    faker.seed_instance(seed)
    region_name = getattr(faker, 'province', None) or faker.state
    plan = [AreaPlan(country, _country_name(country), 'country')]
    localities_plan = []
    for r in range(1, regions + 1):
        region = AreaPlan(f'{country}-{r:02d}', region_name(), 'region',
            country)
        plan.append(region)
        for d in range(1, rng.randint(*districts) + 1):
            district = AreaPlan(f'{region.code}-{d:02d}', faker.city(),
                'district', region.code)
            plan.append(district)
            for n in range(1, rng.randint(*localities) + 1):
                locality = AreaPlan(f'{district.code}-{n:03d}',
                    f'{faker.last_name()} {rng.choice(_LOCALITY_WORDS)}',
                    'locality', district.code)
                plan.append(locality)
                localities_plan.append(locality)
    ranks = list(range(1, len(localities_plan) + 1))
    rng.shuffle(ranks)
    for locality, rank in zip(localities_plan, ranks):
        locality.weight = 1 / rank ** ZIPF_EXPONENT
    return plan


_LOCALITY_WORDS = ['Norte', 'Sur', 'Proper', 'Poblacion', 'Heights',
    'Riverside', 'Hills', 'Centro']


def _country_name(code):
    try:
        import pycountry
        return pycountry.countries.get(alpha_2=code).name
    except Exception:
        return {'PH': 'Philippines'}.get(code, code)


class PopulationGenerator:
    """Households for a seed. Their documents are numbered when stored
    (`document()`, with the party id: numbers never clash with those of an
    earlier run in the same database)."""

    def __init__(self, seed=0, areas=None, today=None, country='PH',
            locale='en_PH', child_age=18, elderly_age=60):
        self.seed = seed
        self.today = today or dt.date.today()
        self.child_age = child_age
        self.adult_limit = years_before(self.today, 18)
        self.elderly_age = elderly_age
        self.names = NamePools(locale, seed)
        self.phones = MobileNumbers(country, seed)
        areas = [a for a in (areas or plan_areas(seed, country, locale))
            if a.kind == 'locality'] or list(areas or [])
        self.area_codes = [a.code for a in areas]
        weights = [a.weight or 1 for a in areas]
        total, self.area_cum = 0, []
        for weight in weights:
            total += weight
            self.area_cum.append(total)

    def households(self, count, start=0):
        """Yield `count` households; household `start + i` is the same
        whatever the batch it is generated in."""
        for index in range(start, start + count):
            yield self._household(random.Random(self.seed * 1_000_003 + index))

    def _household(self, rng):
        names = self.names
        today = self.today
        size = rng.choices(range(1, 13), SIZE_WEIGHTS)[0]
        family = rng.choice(names.family)
        head_female = rng.random() < FEMALE_HEAD
        head_age = min(int(rng.triangular(19, 88, 34)), 95)
        members = [self._person(rng, family, 'female' if head_female
                else 'male', head_age, 'head')]
        maiden = rng.choice(names.family)
        if size > 1 and rng.random() < SPOUSE:
            spouse_age = max(18, head_age + rng.randint(-8, 4))
            members.append(self._person(rng, family,
                    'male' if head_female else 'female', spouse_age,
                    'spouse', additional=maiden))
            members[0].civil_status = members[1].civil_status = 'married'
        else:
            members[0].civil_status = rng.choice(
                ['single', 'widowed', 'separated', 'partnered'])
        while len(members) < size:
            draw = rng.random()
            if draw < PARENT and head_age < 70 and not any(
                    m.role == 'parent' for m in members):
                age = min(head_age + rng.randint(20, 32), 100)
                person = self._person(rng, family, rng.choice(
                        ['female', 'male']), age, 'parent')
            elif draw < PARENT + OTHER_RELATIVE:
                age = rng.randint(0, 70)
                person = self._person(rng, rng.choice(names.family),
                    rng.choice(['female', 'male']), age, 'other')
            else:
                age = min(int(rng.triangular(0, 26, 0)),
                    max(head_age - 16, 0))
                person = self._person(rng, family, rng.choice(
                        ['female', 'male']), age, 'child',
                    additional=maiden)
            members.append(person)
        registration = today - dt.timedelta(days=rng.randint(0, 3 * 365))
        area = self.area_codes[bisect.bisect_left(self.area_cum,
                rng.random() * self.area_cum[-1])]
        for person in members[:2]:
            chance = HEAD_PHONE if person.role == 'head' else SPOUSE_PHONE
            if person.role in {'head', 'spouse'} and rng.random() < chance:
                person.phone = self.phones.draw(rng)
        return Household(f'{family} Household', area, registration, members)

    def _person(self, rng, family, gender, age, role, additional=None):
        names = self.names
        pool = names.female if gender == 'female' else names.male
        if role != 'child' and rng.random() < 0.003:
            gender = 'other'
        birth_date = (years_before(self.today, age)
            - dt.timedelta(days=rng.randint(1, 364)))
        if age < self.child_age:
            band = 0
        elif age < self.elderly_age:
            band = 1
        else:
            band = 2
        return Person(
            family_name=family,
            given_name=rng.choice(pool),
            additional_name=additional or rng.choice(names.family),
            birth_date=birth_date,
            gender=gender,
            role=role,
            disability=rng.random() < DISABILITY[band],
            birth_date_approximate=band == 2 and rng.random() < 0.25,
            civil_status='single' if role in {'child', 'other'}
            and age >= 18 else None)

    def document(self, person, ordinal):
        "Give the person a national ID (adults) or a birth certificate."
        if person.birth_date <= self.adult_limit:
            person.id_type = 'national_id'
            person.id_number = national_id(ordinal)
        else:
            person.id_type = 'birth_certificate'
            person.id_number = birth_certificate(ordinal, person.birth_date)

