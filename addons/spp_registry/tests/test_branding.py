"/custom.js names the product in sao: [spp] product_name, or SP-MIS."
import json
import unittest

from werkzeug.test import Client

from trytond import config
from trytond.wsgi import app

from trytond.modules.spp_registry import branding


class BrandingTestCase(unittest.TestCase):
    "Product name in the web client"

    def setUp(self):
        if not config.has_section('spp'):
            config.add_section('spp')
        self.addCleanup(config.set, 'spp', 'product_name', '')

    def script(self):
        response = Client(app).get('/custom.js')
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.mimetype.endswith('javascript'))
        return response.get_data(as_text=True)

    def test_default_name(self):
        "Without a setting, the client says SP-MIS"
        config.set('spp', 'product_name', '')
        self.assertIn('var name = "SP-MIS";', self.script())

    def test_configured_name(self):
        "The configured name reaches the script as a JavaScript string"
        name = 'Kaagapay "Registry" </script>'
        config.set('spp', 'product_name', name)
        script = self.script()
        self.assertIn(f'var name = {json.dumps(name)};', script)
        self.assertIn('Sao.config.title = name;', script)
        self.assertEqual(branding.product_name(), name)
