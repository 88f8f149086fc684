"""trytond's generic REST API is not served: 404 for `/<db>/rest/...` and
for its key requests (`/<db>/user/application/`).

That API reads and writes any model with a user application key
(res.user.application), outside everything the project's API (spp_api,
`/<db>/api/v1/`) puts around a call: scopes, areas, expiry, revocation,
rate limits and the call log. Nothing in the project uses it: sao talks
JSON-RPC, integrators spp_api. user_application.py keeps the keys to
administrators and makes them expire, for the trytond modules that check
such keys on routes of their own.
"""
import sys

from werkzeug.exceptions import HTTPException, NotFound

# The routes' endpoints, by the module that registers them.
NOT_SERVED = {
    'trytond.protocols.rest': None,             # every route of the module
    'trytond.res.routes': {'user_application'},
    }


def refused_endpoints(app):
    "The endpoint functions of app's routes that are not served."
    endpoints = set()
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        names = NOT_SERVED.get(getattr(endpoint, '__module__', None), ())
        if names is None or getattr(endpoint, '__name__', None) in names:
            endpoints.add(endpoint)
    return endpoints


def install():
    """Answer 404 for the routes of refused_endpoints() (once).

    Only where trytond.wsgi is imported: every HTTP server imports it (its
    `app`) before it starts the pool, which imports this module; other
    processes serve no routes, and importing it here would read trytond's
    configuration before a tool has loaded its own."""
    if 'trytond.wsgi' not in sys.modules:
        return
    from trytond.wsgi import app
    if getattr(app.dispatch_request, '_spp_refuses', False):
        return
    refused = refused_endpoints(app)
    dispatch_request = app.dispatch_request

    # The rules stay as trytond made them (werkzeug indexes them by
    # endpoint): the request is matched once more and refused before
    # trytond dispatches it.
    def dispatch_request_refusing(request):
        try:
            endpoint, _ = app.url_map.bind_to_environ(
                request.environ).match()
        except HTTPException:
            endpoint = None
        if endpoint in refused:
            return NotFound()
        return dispatch_request(request)
    dispatch_request_refusing._spp_refuses = True
    app.dispatch_request = dispatch_request_refusing
