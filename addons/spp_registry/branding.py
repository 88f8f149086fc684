"""The product's name in the web client instead of "Tryton".

sao's index.html loads `custom.js` from the web root after sao itself. The
npm package ships none, so trytond's static file handler passes the request
on to the application, where this route answers it: every topology that
serves sao through trytond (`make demo`, gunicorn, the Docker image) gets
the name from `[spp] product_name` without a file to generate or patch. A
`custom.js` put in the web root by hand would be served instead.
"""
import json

from trytond import config
from trytond.protocols.wrappers import Response
from trytond.wsgi import app

DEFAULT_PRODUCT_NAME = 'SP-MIS'

# Sao.config.title feeds the window title and the menu bar; the login
# dialog, titled "Login" only, gets the name in front.
SCRIPT = """(function() {
    var name = %(name)s;
    document.title = name;
    if (typeof Sao == 'undefined') {
        return;
    }
    Sao.config.title = name;
    var login_dialog = Sao.Session.login_dialog;
    Sao.Session.login_dialog = function() {
        var dialog = login_dialog.apply(this, arguments);
        var title = dialog.header.find('.modal-title');
        var version = title.find('small').detach();
        var text = name + ' \\u2013 ' + Sao.i18n.gettext("Login");
        title.attr('title', text).text(text + ' ').append(version);
        return dialog;
    };
})();
"""


def product_name():
    "The name the web client shows ([spp] product_name)."
    return (config.get('spp', 'product_name', default='').strip()
        or DEFAULT_PRODUCT_NAME)


@app.route('/custom.js', methods=['GET'])
def custom_js(request):
    script = SCRIPT % {'name': json.dumps(product_name())}
    return Response(script, content_type='text/javascript; charset=utf-8',
        headers={'Cache-Control': 'no-cache'})
