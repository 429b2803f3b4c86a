"""Sign-in protocols of the cloud test server (cloud_server.py): the checks
an identity provider makes, with `cryptography` (installed with moto).

- Entra ID client assertions (RFC 7523): an RS256 JWT whose header names
  the client certificate by its SHA-1 thumbprint (`x5t`), signed with its
  key, for the token endpoint (`aud`), issued by and about the client.
- Google service-account self-signed JWTs: RS256 with the key file's key,
  `iss` = `sub` = the client email, a `scope` claim, not expired.
"""

import base64
import json
import time

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token):
    """The header and claims of a JWT, or None if it is not one."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    try:
        return json.loads(b64url_decode(pieces[0])), json.loads(b64url_decode(pieces[1]))
    except ValueError:
        return None


def signature_ok(token, public_key):
    head, body, signature = token.split(".")
    try:
        public_key.verify(b64url_decode(signature), f"{head}.{body}".encode(),
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


class ClientCertificate:
    """The certificate an Entra ID application registered."""

    def __init__(self, pem_path):
        data = open(pem_path, "rb").read()
        self.cert = x509.load_pem_x509_certificate(data)
        self.x5t = b64url(self.cert.fingerprint(hashes.SHA1()))

    def check(self, assertion, client, audience):
        """None if `assertion` is good, else Entra ID's error description."""
        decoded = parts(assertion)
        if decoded is None:
            return "AADSTS50027: JWT token is invalid or malformed."
        header, claims = decoded
        if header.get("alg") != "RS256" or header.get("x5t") != self.x5t:
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
        if not signature_ok(assertion, self.cert.public_key()):
            return "AADSTS700027: Client assertion contains an invalid signature."
        if claims.get("aud") != audience:
            return f"AADSTS700016: Client assertion audience claim does not match: {claims.get('aud')}."
        if claims.get("iss") != client or claims.get("sub") != client:
            return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
        now = time.time()
        if not (claims.get("nbf", 0) - 300 <= now < claims.get("exp", 0)):
            return "AADSTS700024: Client assertion is not within its valid time range."
        return None


class ServiceAccount:
    """A Google service account and its key (the key file's public half)."""

    def __init__(self, key_path):
        key = json.load(open(key_path))
        self.email = key["client_email"]
        private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
        self.public_key = private.public_key()

    def accepts(self, token):
        """Whether `token` is this account's valid self-signed JWT."""
        decoded = parts(token)
        if decoded is None:
            return False
        header, claims = decoded
        return (header.get("alg") == "RS256" and claims.get("iss") == self.email
                and claims.get("sub") == self.email and "scope" in claims
                and claims.get("exp", 0) > time.time() and signature_ok(token, self.public_key))
