from trytond.model import fields
from trytond.pool import Pool, PoolMeta


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @fields.depends("party")
    def _phone_country_codes(self):
        # Numbers typed without an international prefix are read as numbers
        # of the registry's country when the party has no address country.
        yield from super()._phone_country_codes()
        Configuration = Pool().get('spp.registry.configuration')
        country = Configuration(1).phone_country
        if country:
            yield country.code
