# Audit trail of the SP-MIS: who did what and who saw whom, in an
# append-only, hash-chained log (see README.rst).
