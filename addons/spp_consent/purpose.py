"""The vocabularies consent records are made of: purposes, data
categories, data recipients and their types.

Purposes and data categories carry the W3C Data Privacy Vocabulary term
they stand for (`dpv:ServiceProvision`, `pd:Financial`…), so that a
record can be exchanged in the terms of ISO/IEC TS 27560."""
from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields


class CodedMixin(DeactivableMixin):
    "A short code, unique, and a name: what the vocabularies share."
    __slots__ = ()
    code = fields.Char("Code", required=True, strip=True)
    name = fields.Char("Name", required=True, translate=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'spp_consent.msg_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))


class Purpose(CodedMixin, ModelSQL, ModelView):
    "Processing Purpose"
    __string__ = "Processing Purpose"
    __name__ = 'spp.consent.purpose'
    dpv_term = fields.Char("DPV Term",
        help="The W3C Data Privacy Vocabulary purpose this one is "
        "(e.g. dpv:ServiceProvision).")
    description = fields.Text("Description", translate=True,
        help="What is done with the data for this purpose, in the words "
        "the registrant is told.")


class DataCategory(CodedMixin, ModelSQL, ModelView):
    "Personal Data Category"
    __string__ = "Personal Data Category"
    __name__ = 'spp.consent.data_category'
    dpv_term = fields.Char("DPV Term",
        help="The W3C Data Privacy Vocabulary category "
        "(e.g. pd:Identifying, pd:Financial).")


class RecipientType(CodedMixin, ModelSQL, ModelView):
    "Data Recipient Type"
    __string__ = "Data Recipient Type"
    __name__ = 'spp.consent.recipient_type'


class Recipient(CodedMixin, ModelSQL, ModelView):
    "Data Recipient"
    __string__ = "Data Recipient"
    __name__ = 'spp.consent.recipient'
    type = fields.Many2One('spp.consent.recipient_type', "Type",
        required=True, ondelete='RESTRICT',
        help="A consent given to every recipient of this type covers "
        "this organisation.")
