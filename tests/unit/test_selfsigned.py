"""The receiver's own HTTPS certificate is made once, kept, and replaced only when unusable."""

from __future__ import annotations

import datetime
import hashlib
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from castapp.selfsigned import CERT_FILE, KEY_FILE, load_or_create


def test_made_once_and_kept(tmp_path):
    first = load_or_create(tmp_path, "Meeting room", ["192.168.1.20", "not an address"])
    again = load_or_create(tmp_path, "Another name", ["10.0.0.5"])
    assert again.fingerprint == first.fingerprint
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o077 == 0  # the key: this user only
    cert = x509.load_pem_x509_certificate((tmp_path / CERT_FILE).read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert first.fingerprint.replace(":", "") == hashlib.sha256(der).hexdigest().upper()
    assert first.short == ":".join(first.fingerprint.split(":")[:8])
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1",
                                                                          "192.168.1.20"}
    assert isinstance(first.ssl_context(), ssl.SSLContext)


def test_an_unreadable_or_expired_certificate_is_replaced(tmp_path):
    first = load_or_create(tmp_path, "TV")
    (tmp_path / CERT_FILE).write_text("not a certificate")
    second = load_or_create(tmp_path, "TV")
    assert second.fingerprint != first.fingerprint
    assert load_or_create(tmp_path, "TV").fingerprint == second.fingerprint
    # an expired one: re-signed with the kept key, dated in the past
    key = serialization.load_pem_private_key((tmp_path / KEY_FILE).read_bytes(), None)
    old = x509.load_pem_x509_certificate((tmp_path / CERT_FILE).read_bytes())
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    expired = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)
               .public_key(old.public_key()).serial_number(1).not_valid_before(past)
               .not_valid_after(past + datetime.timedelta(days=1))
               .sign(key, old.signature_hash_algorithm))  # type: ignore[arg-type]
    (tmp_path / CERT_FILE).write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    third = load_or_create(tmp_path, "TV")
    assert third.fingerprint not in (first.fingerprint, second.fingerprint)
