"""The online code check of LAN discovery: a SPAKE2 exchange with a candidate's service.

Adverts carry nothing derived from the code (see ``docs/discovery.md``). A sender that found
some receivers on the LAN asks each one's service, over HTTP ``POST /probe``, to prove that it
shows the code, without ever sending the code: the sender sends a SPAKE2 message made from the
code; the service answers with its own, made from the code of the receiver it hosts, and a MAC
under the shared key. Only a service whose receiver shows the same code can make that MAC, and
a fake service learns nothing it can test offline (one online guess per probe, and a wrong
guess is all it gets). The real service counts every probe as a join attempt against its
limits, so probing is no faster a way to guess than joining.

While the service is guarded (codes are being guessed) the secret is the code and the guard
PIN the TV shows, and the answer says ``guarded``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass

import aiohttp
import msgspec
from spake2 import SPAKE2_A, SPAKE2_B
from spake2.spake2 import SPAKEError

from castapp.pairing.pake import password

PATH = "/probe"
_ID_SENDER = b"castapp probe sender"
_ID_SERVICE = b"castapp probe service"
_CONFIRM = b"castapp probe confirm v1"
#: SPAKE2 messages are 33 bytes; anything much larger is not one.
_MAX_FIELD = 128


class ProbeRequest(msgspec.Struct):
    pake: str


class ProbeReply(msgspec.Struct):
    pake: str
    confirm: str
    guarded: bool = False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    if len(text) > _MAX_FIELD:
        raise ValueError("field too long")
    return base64.b64decode(text, validate=True)


def _confirm(key: bytes) -> bytes:
    return hmac.new(key, _CONFIRM, hashlib.sha256).digest()


def answer(request: bytes, code: str, pin: str | None) -> ProbeReply:
    """The service's side: raises ValueError for a malformed request."""
    try:
        msg = msgspec.json.decode(request, type=ProbeRequest)
        side = SPAKE2_B(password(code, pin), idA=_ID_SENDER, idB=_ID_SERVICE)
        mine = side.start()
        key = side.finish(_unb64(msg.pake))
    except (msgspec.MsgspecError, SPAKEError, ValueError, AssertionError) as exc:
        raise ValueError("not a probe") from exc
    return ProbeReply(pake=_b64(mine), confirm=_b64(_confirm(key)), guarded=pin is not None)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    matches: bool
    #: The service is guarded: without the TV's PIN the code alone does not match.
    guarded: bool = False


class Prober:
    """The sender's side of one probe."""

    def __init__(self, code: str, pin: str | None = None) -> None:
        self._side = SPAKE2_A(password(code, pin), idA=_ID_SENDER, idB=_ID_SERVICE)
        self.request = msgspec.json.encode(ProbeRequest(pake=_b64(self._side.start())))

    def check(self, reply: bytes) -> ProbeResult:
        """Whether the reply proves the same code; never raises for what the network sent."""
        try:
            msg = msgspec.json.decode(reply, type=ProbeReply)
            key = self._side.finish(_unb64(msg.pake))
            ok = hmac.compare_digest(_confirm(key), _unb64(msg.confirm))
        except (msgspec.MsgspecError, SPAKEError, ValueError, AssertionError, RecursionError):
            return ProbeResult(False)
        return ProbeResult(ok, msg.guarded)


async def probe(http: aiohttp.ClientSession, base_url: str, code: str, *,
                pin: str | None = None, timeout: float = 1.5) -> ProbeResult:
    """Ask the service at ``base_url`` (``http://host:port``) whether it shows ``code``.

    A service that does not answer in ``timeout``, answers anything but a matching proof, or
    cannot be reached, does not match."""
    loop = asyncio.get_running_loop()
    prober = await loop.run_in_executor(None, Prober, code, pin)
    try:
        async with asyncio.timeout(timeout), http.post(
            base_url + PATH, data=prober.request,
            headers={"Content-Type": "application/json"}) as resp:
            if resp.status != 200:
                return ProbeResult(False)
            body = await resp.content.read(1024)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return ProbeResult(False)
    return await loop.run_in_executor(None, prober.check, body)
