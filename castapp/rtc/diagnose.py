"""Why a connection could not be set up, and whether the network is back.

aiortc may stay "connecting" for ever, so sessions give connection set-up a deadline and then
ask :func:`diagnose` what went wrong. The answer is a :class:`Diagnosis`; :func:`describe`
words it in English for the command line (a GUI translates the value itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import ssl as ssl_module

from aioice import stun, turn

from castapp.rtc.ice import IceChooser, TurnServer

log = logging.getLogger(__name__)


class Diagnosis(enum.Enum):
    NO_ANSWER = "no_answer"
    NO_PATH_NO_TURN = "no_path_no_turn"
    RELAY_ONLY_NO_TURN = "relay_only_no_turn"
    TURN_REFUSED = "turn_refused"
    TURN_UNREACHABLE = "turn_unreachable"
    TURN_UNTRUSTED = "turn_untrusted"
    NO_PATH = "no_path"


_WORDS = {
    Diagnosis.NO_ANSWER: "the other end did not answer the connection request",
    Diagnosis.NO_PATH_NO_TURN: "no direct path between the two networks and no TURN server "
    "configured",
    Diagnosis.RELAY_ONLY_NO_TURN: "relay-only was asked for but no TURN server is configured",
    Diagnosis.TURN_REFUSED: "the TURN server refused the credentials",
    Diagnosis.TURN_UNREACHABLE: "the TURN server could not be reached",
    Diagnosis.TURN_UNTRUSTED: "the TURN server's TLS certificate is not trusted",
    Diagnosis.NO_PATH: "no path between the two ends, not even through the TURN relay",
}


def describe(diagnosis: Diagnosis) -> str:
    return _WORDS[diagnosis]


class TurnProbe(enum.Enum):
    OK = "ok"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    UNTRUSTED = "untrusted"  # turns: with a certificate this machine does not trust

    @property
    def diagnosis(self) -> Diagnosis | None:
        """What a failed probe means for the user; None when the server works."""
        return {TurnProbe.REFUSED: Diagnosis.TURN_REFUSED,
                TurnProbe.UNREACHABLE: Diagnosis.TURN_UNREACHABLE,
                TurnProbe.UNTRUSTED: Diagnosis.TURN_UNTRUSTED}.get(self)


async def probe_turn(server: TurnServer, timeout_s: float = 3.0) -> TurnProbe:
    """Try one TURN allocation with ``server``'s credentials, then release it.

    A refusal (401) or an untrusted certificate comes back within a round trip; only an
    unreachable server takes ``timeout_s``.
    """
    transport = "udp" if server.over_udp else "tcp"
    ssl = server.url.lower().startswith("turns:")
    try:
        relay, _ = await asyncio.wait_for(
            turn.create_turn_endpoint(asyncio.DatagramProtocol, server.address,
                                      server.username, server.credential,
                                      ssl=ssl, transport=transport),
            timeout_s,
        )
    except stun.TransactionFailed as exc:
        code = exc.response.attributes.get("ERROR-CODE", (0, ""))[0]
        log.info("TURN allocation refused (%s)", code)
        return TurnProbe.REFUSED if code in (401, 403, 437, 441) else TurnProbe.UNREACHABLE
    except ssl_module.SSLCertVerificationError as exc:
        log.info("TURN server certificate not trusted: %s", exc.verify_message)
        return TurnProbe.UNTRUSTED
    except (TimeoutError, OSError, stun.TransactionError, ConnectionError):
        return TurnProbe.UNREACHABLE
    relay.close()
    return TurnProbe.OK


async def diagnose(chooser: IceChooser, gathered: set[str], answered: bool,
                   probe: TurnProbe | None = None) -> Diagnosis:
    """Why a connection did not come up, from what it gathered and a TURN probe (``probe``:
    the result of one made already: a refusal or an untrusted certificate is the answer)."""
    if probe in (TurnProbe.REFUSED, TurnProbe.UNTRUSTED) and probe.diagnosis is not None:
        return probe.diagnosis
    if not answered:
        return Diagnosis.NO_ANSWER
    server = chooser.turn
    if server is None:
        return Diagnosis.RELAY_ONLY_NO_TURN if chooser.relay_only else Diagnosis.NO_PATH_NO_TURN
    if "relay" in gathered:
        return Diagnosis.NO_PATH
    if probe is None or probe is TurnProbe.OK:
        probe = await probe_turn(server)
    return probe.diagnosis or Diagnosis.TURN_UNREACHABLE


# ---------------------------------------------------------------------- network probes
class _StunAnswer(asyncio.DatagramProtocol):
    def __init__(self, tid: bytes, answered: asyncio.Future[bool]) -> None:
        self.tid = tid
        self.answered = answered

    def datagram_received(self, data: bytes, addr: object) -> None:
        with contextlib.suppress(ValueError):
            msg = stun.parse_message(data)
            if msg.transaction_id == self.tid and not self.answered.done():
                self.answered.set_result(True)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP unreachable: keep trying
        pass


async def stun_answers(address: tuple[str, int], timeout_s: float = 0.3) -> bool:
    """Whether a STUN server answers one binding request (retried) within ``timeout_s``."""
    loop = asyncio.get_running_loop()
    tid = os.urandom(12)
    answered: asyncio.Future[bool] = loop.create_future()
    request = stun.Message(message_method=stun.Method.BINDING,
                           message_class=stun.Class.REQUEST, transaction_id=tid)
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _StunAnswer(tid, answered), remote_addr=address)
    except OSError:
        return False
    try:
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            with contextlib.suppress(OSError):
                transport.sendto(bytes(request))
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(answered),
                                              min(0.1, deadline - loop.time()))
        return False
    finally:
        transport.close()


async def tcp_answers(address: tuple[str, int], timeout_s: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout_s)
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def network_answers(chooser: IceChooser) -> bool | None:
    """Whether the STUN/TURN server answers now; ``None`` when there is none to ask."""
    stun_addr = chooser.plan.stun_address
    if stun_addr is not None and not chooser.skip_stun:
        return await stun_answers(stun_addr)
    server = chooser.turn
    if server is None:
        return None
    if server.over_udp:
        return await stun_answers(server.address)  # a TURN server answers STUN binding too
    return await tcp_answers(server.address)
