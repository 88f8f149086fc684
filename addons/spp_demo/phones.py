"""Mobile phone numbers valid for a country, drawn fast.

`phonenumbers` is asked once per prefix (which leading digits make a valid
mobile number, and how such a number is written); numbers are then drawn
by filling the remaining digits and formatted from that template, which is
what phonenumbers itself would answer for every number of the prefix."""
import random

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

PREFIX_DIGITS = 3
PROBES = 8


class MobileNumbers:

    def __init__(self, country='PH', seed=0):
        self.country = country
        example = phonenumbers.example_number_for_type(
            country, PhoneNumberType.MOBILE)
        if example is None:
            raise ValueError(f"no mobile numbers known for {country}")
        self.country_code = example.country_code
        national = str(example.national_number)
        self.length = len(national)
        rng = random.Random(f'phones-{country}-{seed}')
        self.templates = []
        for prefix in range(10 ** (PREFIX_DIGITS - 1), 10 ** PREFIX_DIGITS):
            prefix = str(prefix)
            template = self._template(prefix, rng)
            if template:
                self.templates.append((prefix, template))
        if not self.templates:
            raise ValueError(f"no mobile prefix found for {country}")
        self.by_prefix = dict(self.templates)

    def _template(self, prefix, rng):
        "The INTERNATIONAL format of the prefix's numbers, or None."
        formats = set()
        rest = self.length - len(prefix)
        for _ in range(PROBES):
            digits = prefix + ''.join(
                rng.choice('0123456789') for _ in range(rest))
            number = phonenumbers.parse(f'+{self.country_code}{digits}')
            if (not phonenumbers.is_valid_number(number)
                    or phonenumbers.number_type(number)
                    != PhoneNumberType.MOBILE):
                return None
            text = phonenumbers.format_number(
                number, PhoneNumberFormat.INTERNATIONAL)
            # Where each national digit goes in the written form.
            formats.add(_shape(text, digits))
        if len(formats) != 1:
            return None
        return formats.pop()

    def draw(self, rng):
        "A random mobile number in E.164 form (+<country><national>)."
        prefix, _ = self.templates[rng.randrange(len(self.templates))]
        rest = self.length - len(prefix)
        return (f'+{self.country_code}{prefix}'
            f'{rng.randrange(10 ** rest):0{rest}d}')

    def format(self, e164):
        "The INTERNATIONAL form, as phonenumbers writes it."
        national = e164[len(str(self.country_code)) + 1:]
        template = self.by_prefix[national[:PREFIX_DIGITS]]
        return template.format(*national)


def _shape(text, digits):
    """Replace the national digits of `text` by {} placeholders, from the
    end (the country code comes first and stays)."""
    out = []
    remaining = list(digits)
    for char in reversed(text):
        if char.isdigit() and remaining:
            remaining.pop()
            out.append('{}')
        elif char in '{}':
            out.append(char * 2)
        else:
            out.append(char)
    return ''.join(reversed(out))
