"""A SAML identity provider in a few functions, for the tests: a key and
self-signed certificate, its metadata, and signed responses (signed with
pyXMLSecurity, the pure-Python backend of pysaml2)."""
import base64
import datetime as dt
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol'
SAML = 'urn:oasis:names:tc:SAML:2.0:assertion'
DS = 'http://www.w3.org/2000/09/xmldsig#'
MD = 'urn:oasis:names:tc:SAML:2.0:metadata'


def key_and_certificate(name):
    "(private key PEM, certificate PEM) of a new self-signed identity."
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode(),
        certificate.public_bytes(serialization.Encoding.PEM).decode())


def _b64_certificate(certificate_pem):
    return ''.join(line for line in certificate_pem.splitlines()
        if not line.startswith('-----'))


def metadata(entity_id, sso_url, certificate_pem):
    "The IdP's metadata: its entity id, signing certificate, SSO endpoint."
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{_b64_certificate(certificate_pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService
        Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def _instant(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def response(issuer, audience, acs_url, uid, key_file, lifetime=300):
    """A SAMLResponse (base64, as the HTTP-POST binding carries it) that
    says `uid` signed in at `issuer`, signed with the PEM key of key_file."""
    import xmlsec  # pyXMLSecurity
    now = dt.datetime.now(dt.timezone.utc)
    later = _instant(now + dt.timedelta(seconds=lifetime))
    response_id, assertion_id = f'_{uuid.uuid4().hex}', f'_{uuid.uuid4().hex}'
    document = etree.fromstring(f"""<samlp:Response xmlns:samlp="{SAMLP}"
    xmlns:saml="{SAML}" ID="{response_id}" Version="2.0"
    IssueInstant="{_instant(now)}" Destination="{acs_url}">
  <saml:Issuer>{issuer}</saml:Issuer>
  <ds:Signature xmlns:ds="{DS}">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="#{response_id}">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
  </ds:Signature>
  <samlp:Status>
    <samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
  </samlp:Status>
  <saml:Assertion ID="{assertion_id}" Version="2.0"
      IssueInstant="{_instant(now)}">
    <saml:Issuer>{issuer}</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">{uuid.uuid4().hex}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{later}"
            Recipient="{acs_url}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{_instant(now - dt.timedelta(seconds=60))}"
        NotOnOrAfter="{later}">
      <saml:AudienceRestriction>
        <saml:Audience>{audience}</saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{_instant(now)}"
        SessionIndex="{assertion_id}">
      <saml:AuthnContext>
        <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>
      </saml:AuthnContext>
    </saml:AuthnStatement>
    <saml:AttributeStatement>
      <saml:Attribute Name="uid"
          NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
        <saml:AttributeValue>{uid}</saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>""", etree.XMLParser(remove_blank_text=True))
    xmlsec.sign(document, str(key_file))
    return base64.b64encode(etree.tostring(document)).decode()
