"""Pairing: a PAKE over the cast code, then key confirmation bound to the DTLS fingerprints.

See :mod:`castapp.pairing.pake` and ``docs/security.md``.
"""

from castapp.pairing.pake import (
    Pairing,
    PairingError,
    PairingFailedError,
    PairingRole,
    TamperedError,
    fingerprints,
)

__all__ = ["Pairing", "PairingError", "PairingFailedError", "PairingRole", "TamperedError",
           "fingerprints"]
