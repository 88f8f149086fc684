"Documents of change requests: attachments with a document type."
from trytond.model import fields
from trytond.pool import PoolMeta


class Attachment(metaclass=PoolMeta):
    __name__ = 'ir.attachment'
    document_type = fields.Many2One('spp.change_request.document.type',
        "Document Type", ondelete='RESTRICT',
        help="What the document proves: a kind of change request may "
        "require documents of some types before it is submitted.")
