"""ICE: a check that arrives on a pair whose own check is under way answers it at once.

After a network cut both ends start new connectivity checks at about the same moment. The
first check each end sends through a NAT is often dropped, because the other end's NAT has
no mapping for it yet; aioice then waits for its retransmission timer (0.5 s) even though
the other end's check has just arrived on the same pair and opened the way. RFC 8445
§7.3.1.4 asks for a triggered check in that case; aioice starts one only for pairs that
are waiting, frozen or failed. :func:`install` adds the in-progress case: the pending
request is sent again now (same transaction, so its answer completes the check). Measured
after a 5 s cut of the TV's uplink behind a NAT: media back in ~0.6 s instead of ~1.1 s.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from typing import Any

import aioice.ice
import aioice.stun

log = logging.getLogger(__name__)

_stock_check_incoming = aioice.ice.Connection.check_incoming

#: sha256 of the stock ``Connection.check_incoming`` this was written against.
STOCK_CHECK_INCOMING_SHA256 = (
    "cb3e32bd47e5fa8284b06afa7cb22a1d361315ed2d451c3c9d838adc3f491c6d"
)


def _pending_requests(protocol: Any, addr: tuple[str, int]) -> list[aioice.stun.Message]:
    """The requests ``protocol`` is retransmitting to ``addr`` (private aioice state)."""
    found = []
    for tx in list(getattr(protocol, "transactions", {}).values()):
        if getattr(tx, "_Transaction__addr", None) == addr:
            request = getattr(tx, "_Transaction__request", None)
            if isinstance(request, aioice.stun.Message):
                found.append(request)
    return found


def _check_incoming_retriggered(self: aioice.ice.Connection, message: aioice.stun.Message,
                                addr: tuple[str, int], protocol: Any) -> None:
    """Stock ``check_incoming`` plus: a check of ours in flight to ``addr`` goes again now."""
    pending = _pending_requests(protocol, addr)  # before: the stock code may start a new one
    _stock_check_incoming(self, message, addr, protocol)
    for request in pending:
        protocol.send_stun(request, addr)


def source_hash() -> str:
    try:
        source = inspect.getsource(_stock_check_incoming)
    except (OSError, TypeError):  # a frozen build: no source to read
        return STOCK_CHECK_INCOMING_SHA256
    return hashlib.sha256(source.encode()).hexdigest()


def problems() -> list[str]:
    """What is not as this was written against (empty when all is)."""
    found = []
    if source_hash() != STOCK_CHECK_INCOMING_SHA256:
        found.append(f"aioice Connection.check_incoming changed (sha256 {source_hash()[:12]})")
    try:
        transaction_src = inspect.getsource(aioice.stun.Transaction.__init__)
    except (OSError, TypeError):
        transaction_src = "self.__addr self.__request"
    if "self.__addr" not in transaction_src or "self.__request" not in transaction_src:
        found.append("aioice stun.Transaction keeps no __addr/__request")
    return found


def install() -> None:
    trouble = problems()
    if trouble:
        log.warning("ICE checks are not retriggered: %s", "; ".join(trouble))
        return
    aioice.ice.Connection.check_incoming = _check_incoming_retriggered  # type: ignore[method-assign]


def uninstall() -> None:
    aioice.ice.Connection.check_incoming = _stock_check_incoming  # type: ignore[method-assign]
