# Registry of individuals and groups (households) for the SP-MIS.
#
# Every trytond process of a deployment imports this module when its pool
# starts (trytond imports every available module), and every deployment has
# it: the safeguards each server needs are installed here, and the route
# that names the product in the web client (branding).
from . import (
    branding, generic_rest, log_privacy, record_rules, sqlite_connections)

log_privacy.install()
generic_rest.install()
sqlite_connections.install()
record_rules.install()

__all__ = ['branding']
