"""DCI message signatures (the envelope's `signature` string).

Format (the spec's MsgSignature example):

    Signature: namespace="spdci", kidId="{sender_id}|{key_id}|{algorithm}",
    algorithm="ed25519", created="1606970629", expires="1607030629",
    headers="(created) (expires) digest", signature="<base64>"

The signed string is three lines:

    (created): <created>
    (expires): <expires>
    digest: BLAKE-512=<base64 BLAKE2b-512 of the canonical body>

where the canonical body is the JSON of {"header": ..., "message": ...}
with sorted keys, no spaces and UTF-8 (`canonical()`). Algorithms:
`ed25519`, and `rsa-sha256` (RSASSA-PKCS1-v1_5 with SHA-256).

The registry signs its answers and callbacks with the key of
`[spp_dci] signing_key` (a PEM private key file) when it is configured."""
import base64
import hashlib
import json
import re
import time

from trytond import config

ALGORITHMS = {'ed25519', 'rsa-sha256'}
MAX_AGE = 300
PARAMETER = re.compile(r'(\w+)="([^"]*)"')


class SignatureFault(Exception):
    "code: err.signature.missing or err.signature.invalid"

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def canonical(envelope):
    body = {'header': envelope.get('header'),
        'message': envelope.get('message')}
    return json.dumps(body, sort_keys=True, separators=(',', ':'),
        ensure_ascii=False).encode('utf-8')


def signing_string(created, expires, envelope):
    digest = base64.b64encode(
        hashlib.blake2b(canonical(envelope), digest_size=64).digest())
    return (f'(created): {created}\n(expires): {expires}\n'
        f'digest: BLAKE-512={digest.decode()}').encode()


def load_public_key(pem):
    "The public key of a PEM text, or ValueError."
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    key = serialization.load_pem_public_key(pem.encode())
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, 'ed25519'
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("RSA keys need at least 2048 bits.")
        return key, 'rsa-sha256'
    raise ValueError("Only Ed25519 and RSA keys are supported.")


def load_private_key(pem):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key, 'ed25519'
    if isinstance(key, rsa.RSAPrivateKey):
        return key, 'rsa-sha256'
    raise ValueError("Only Ed25519 and RSA keys are supported.")


def sign(envelope, private_key, algorithm, kid, lifetime=MAX_AGE,
        now=None):
    "The signature string of an envelope."
    created = int(now if now is not None else time.time())
    expires = created + lifetime
    content = signing_string(created, expires, envelope)
    if algorithm == 'ed25519':
        raw = private_key.sign(content)
    else:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        raw = private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return (f'Signature: namespace="spdci", kidId="{kid}", '
        f'algorithm="{algorithm}", created="{created}", '
        f'expires="{expires}", headers="(created) (expires) digest", '
        f'signature="{base64.b64encode(raw).decode()}"')


def verify(envelope, public_key, algorithm, now=None):
    "Check the envelope's signature with the sender's key: SignatureFault."
    from cryptography.exceptions import InvalidSignature
    value = envelope.get('signature')
    if not value:
        raise SignatureFault('err.signature.missing',
            "This sender must sign its messages.")
    if not isinstance(value, str) or len(value) > 4096:
        raise SignatureFault('err.signature.invalid',
            "signature: a Signature string.")
    parameters = dict(PARAMETER.findall(value))
    now = int(now if now is not None else time.time())
    try:
        created = int(parameters['created'])
        expires = int(parameters['expires'])
        raw = base64.b64decode(parameters['signature'], validate=True)
    except (KeyError, ValueError):
        raise SignatureFault('err.signature.invalid',
            "signature: created, expires and signature are required.")
    if parameters.get('algorithm', algorithm) != algorithm:
        raise SignatureFault('err.signature.invalid',
            f"signature: this sender's key signs with {algorithm}.")
    if created > now + 60 or expires < now or expires - created > 3600:
        raise SignatureFault('err.signature.invalid',
            "signature: expired or not yet valid.")
    content = signing_string(created, expires, envelope)
    try:
        if algorithm == 'ed25519':
            public_key.verify(raw, content)
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            public_key.verify(raw, content, padding.PKCS1v15(),
                hashes.SHA256())
    except InvalidSignature:
        raise SignatureFault('err.signature.invalid',
            "signature: does not match the message.")


_signer = {}


def signer():
    "(private key, algorithm, kid) from the configuration, or None."
    path = config.get('spp_dci', 'signing_key', default=None)
    if not path:
        return None
    if path not in _signer:
        with open(path, 'rb') as key_file:
            key, algorithm = load_private_key(key_file.read())
        sender_id = config.get('spp_dci', 'sender_id', default='spp-mis')
        key_id = config.get('spp_dci', 'key_id', default='1')
        _signer[path] = (key, algorithm,
            f'{sender_id}|{key_id}|{algorithm}')
    return _signer[path]


def sign_envelope(envelope):
    "Add the registry's signature to an answer when a key is configured."
    configured = signer()
    if configured and envelope.get('header'):
        key, algorithm, kid = configured
        envelope['signature'] = sign(envelope, key, algorithm, kid)
    return envelope
