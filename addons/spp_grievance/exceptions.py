from trytond.exceptions import UserError


class GrievanceError(UserError):
    "A grievance cannot be handled so (workflow, missing reason)."
