"""The demo's data protection: two organisations the registry is shared
with (a health insurer and the statistics office), every household's
consent to programme delivery given at registration, three in four
households' consent to referral to health insurers (one INSERT … SELECT
each, as a registration campaign's wizard records them), and the first
of these withdrawn, so that the insurer's API
client does not see it."""
import datetime as dt

from sql import Literal

from trytond.pool import Pool
from trytond.transaction import Transaction

RECIPIENTS = [
    ('NHI', "National Health Insurance", 'recipient_type_health_insurer'),
    ('PSA', "Statistics Office", 'recipient_type_statistics'),
    ]


def ref(xml_id):
    return Pool().get('ir.model.data').get_id('spp_consent', xml_id)


def load_consents(today):
    pool = Pool()
    Recipient = pool.get('spp.consent.recipient')
    Consent = pool.get('spp.consent')
    Recipient.create([{'code': code, 'name': name, 'type': ref(type_)}
            for code, name, type_ in RECIPIENTS])
    given_on = today - dt.timedelta(days=200)
    record_group_consents('purpose_service', 'data_category_household',
        'recipient_type_ministry', given_on, 'public_task', every=1)
    record_group_consents('purpose_referral', 'data_category_identifying',
        'recipient_type_health_insurer', given_on, 'consent', every=4)
    referral = Consent.search([('purpose', '=', ref('purpose_referral'))])
    Consent.withdraw([min(referral, key=lambda c: c.registrant.id)])


def record_group_consents(purpose, category, recipient_type, given_on,
        lawful_basis, every):
    """A given consent of every group, but one in `every` (every=1: all),
    for `purpose` with one data category and recipient type."""
    pool = Pool()
    Consent = pool.get('spp.consent')
    Party = pool.get('party.party')
    Event = pool.get('spp.consent.event')
    consent = Consent.__table__()
    party = Party.__table__()
    cursor = Transaction().connection.cursor()
    stamp = dt.datetime.now()
    where = party.registrant_type == 'group'
    if every > 1:
        where &= (party.id % every) != 0
    cursor.execute(*consent.insert([consent.registrant, consent.purpose,
                consent.processing, consent.lawful_basis, consent.state,
                consent.requested_on, consent.given_on,
                consent.collection_method, consent.given_by,
                consent.notice, consent.create_uid, consent.create_date],
            party.select(party.id, Literal(ref(purpose)),
                Literal(Consent.processing.sql_format(
                        ['collect', 'store', 'use', 'share'])),
                Literal(lawful_basis), Literal('given'), Literal(given_on),
                Literal(given_on), Literal('signed_form'),
                Literal('subject'), Literal("Registration notice 2026"),
                Literal(0), Literal(stamp), where=where)))
    new = consent.select(consent.id, where=(consent.create_date == stamp)
        & (consent.purpose == ref(purpose)))
    for name, field, value in [
            ('spp.consent-spp.consent.data_category', 'category', category),
            ('spp.consent-spp.consent.recipient_type', 'type',
                recipient_type)]:
        relation = pool.get(name).__table__()
        cursor.execute(*relation.insert([relation.consent,
                    getattr(relation, field), relation.create_uid,
                    relation.create_date],
                consent.select(consent.id, Literal(ref(value)), Literal(0),
                    Literal(stamp), where=consent.id.in_(new))))
    event = Event.__table__()
    cursor.execute(*event.insert([event.consent, event.date, event.state,
                event.create_uid, event.create_date],
            consent.select(consent.id, Literal(stamp), Literal('given'),
                Literal(0), Literal(stamp), where=consent.id.in_(new))))
