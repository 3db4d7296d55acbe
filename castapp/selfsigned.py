"""The receiver's own HTTPS certificate: self-signed, made once, kept in its state folder.

A guest's browser can share a screen only from a secure page, and a page at a LAN address is
secure only over HTTPS. Nobody hands a meeting-room receiver a certificate for its address,
so it makes one itself (ECDSA P-256, valid ten years) the first time and keeps it, so its
fingerprint stays the same across restarts: the browser warns about it ("not private"), and
the TV shows the start of its SHA-256 fingerprint for those who compare before going on.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from castapp.settings import write_secret

log = logging.getLogger(__name__)

CERT_FILE = "https-cert.pem"
KEY_FILE = "https-key.pem"
VALID_DAYS = 3650
#: Bytes of the SHA-256 fingerprint the TV shows (the start of what browsers show).
SHORT_BYTES = 8


@dataclass(frozen=True)
class Identity:
    cert: Path
    key: Path
    #: SHA-256 of the certificate (DER), as browsers show it: ``AB:CD:…`` (32 pairs).
    fingerprint: str

    @property
    def short(self) -> str:
        """The first :data:`SHORT_BYTES` pairs of the fingerprint, for the TV to show."""
        return ":".join(self.fingerprint.split(":")[:SHORT_BYTES])

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def fingerprint_of(cert: x509.Certificate) -> str:
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def load_or_create(folder: Path, name: str, addresses: Iterable[str] = ()) -> Identity:
    """The certificate kept in ``folder``, or a new one for ``name`` and ``addresses`` (kept
    for next time). Raises OSError when the folder cannot be written."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC):
            return Identity(cert_path, key_path, fingerprint_of(cert))
        log.info("the HTTPS certificate in %s has expired; making a new one", folder)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:  # unreadable: a new one (the fingerprint changes)
        log.warning("cannot read the HTTPS certificate in %s (%s); making a new one", folder, exc)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (name or "castapp")[:64])])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for address in ("127.0.0.1", *addresses):
        try:
            ip = x509.IPAddress(ipaddress.ip_address(address))
        except ValueError:
            continue
        if ip not in alt:
            alt.append(ip)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    write_secret(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Identity(cert_path, key_path, fingerprint_of(cert))
