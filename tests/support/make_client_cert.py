"""Writes an Entra ID application's client certificate for the tests: an
RSA key and a self-signed certificate, as one PEM file (certificate and
PKCS#8 key, what `certificate:` reads), the certificate alone (what the
application registered, for the test server) and a PKCS#12 file sealed
with --password.

Usage: make_client_cert.py --dir DIR --password PASSWORD
"""

import argparse
import datetime
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--password", required=True)
args = parser.parse_args()

out = pathlib.Path(args.dir)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudmarker-test-client")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
cert_pem = cert.public_bytes(serialization.Encoding.PEM)
key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
(out / "client-cert.pem").write_bytes(cert_pem)
(out / "client.pem").write_bytes(cert_pem + key_pem)
(out / "client.pfx").write_bytes(pkcs12.serialize_key_and_certificates(
    b"cloudmarker-test-client", key, cert, None,
    serialization.BestAvailableEncryption(args.password.encode())))
print("READY", flush=True)
