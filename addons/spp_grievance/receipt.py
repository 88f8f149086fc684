"""The receipt handed or sent to a complainant: the reference, what was
received and what happens next, by when. It names no complainant, so it
can be printed for a confidential complaint too."""
from trytond.report import Report


class Receipt(Report):
    __name__ = 'spp.grievance.receipt'
