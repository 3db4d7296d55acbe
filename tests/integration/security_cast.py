"""A cast between two real aiortc peers through castapp's room service, paired over the code.

Run inside a private network namespace (aiortc skips 127.0.0.1): the service listens on
198.51.100.1, both peers run here and are driven directly through the signaling client and
``castapp.pairing``, the way a sender and a receiver session call them:

    security_cast.py honest|offer|answer|both|wrong_pin

``offer``, ``answer`` and ``both`` run a MALICIOUS service: castapp's own, with a relay that
rewrites the DTLS fingerprints of the offers, the answers or both to those of a certificate it
holds. ``wrong_pin`` runs an honest service, but the TV and the sender mix different PINs
into the PAKE, as when the wrong PIN is typed. Prints one JSON object: what each end saw and
how many frames the receiver decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import sys
from typing import Any

import msgspec
from aiortc import RTCCertificate, RTCSessionDescription

from castapp import protocol as p
from castapp.pairing import (
    Pairing,
    PairingError,
    PairingFailedError,
    PairingRole,
    TamperedError,
)
from castapp.rtc import peer
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import FrameReceiver
from castapp.rtc.track import CaptureTrack
from castapp.signaling.client import SignalingClient
from castapp.signaling.rooms import Rooms
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner

log = logging.getLogger("castapp.security")
HOST = "198.51.100.1"
_FP_LINE = re.compile(r"^a=fingerprint:.*$\r?\n?", re.M)


class TamperingRooms(Rooms):
    """The room logic with a relay that swaps DTLS fingerprints for its own."""

    rewrite: tuple[type, ...] = ()
    fingerprints: tuple[str, ...] = ()
    rewritten = 0

    def _swap(self, sdp: str) -> str:
        lines = "".join(f"a=fingerprint:{fp}\r\n" for fp in self.fingerprints)
        out, n = _FP_LINE.subn("", sdp)
        self.rewritten += 1 if n else 0
        # put ours where the first media section's attributes are
        return out.replace("a=setup:", lines + "a=setup:", 1)

    async def _relay(self, member: Any, msg: p.RelayMessage) -> None:
        # the relay is where a service in the middle would change what it passes on
        if isinstance(msg, p.Offer) and p.RelayedOffer in self.rewrite:
            msg = msgspec.structs.replace(msg, sdp=self._swap(msg.sdp))
        if isinstance(msg, p.Answer) and p.RelayedAnswer in self.rewrite:
            msg = msgspec.structs.replace(msg, sdp=self._swap(msg.sdp))
        await super()._relay(member, msg)


class Peer:
    """What either end needs: its signaling client, its pairing and the next message."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.pairing: Pairing | None = None
        self.error: str | None = None

    async def next(self, *kinds: type, timeout: float = 15.0) -> Any:
        while True:
            ev = await self.client.next_event(timeout)
            if isinstance(ev, p.RelayedBye) and ev.reason == "pairing failed":
                raise PairingFailedError()  # the other end found the keys differ
            if isinstance(ev, p.RelayedSignal):
                body = p.decode_peer(ev.body)
                if isinstance(body, kinds):
                    return body
            elif isinstance(ev, kinds):
                return ev

    async def signal(self, to: str, msg: p.PeerMessage) -> None:
        await self.client.send_signal(to, msg)

    async def expect_confirm(self) -> None:
        assert self.pairing is not None
        self.pairing.check_confirm(await self.next(p.KeyConfirm))

    async def refuse(self, to: str, exc: PairingError) -> None:
        """End the call: the security log line, and the notice when this end found it."""
        self.error = str(exc)
        log.warning("security: %s (peer %s)", exc, to)
        if self.pairing is not None:
            with contextlib.suppress(PairingError):
                await self.signal(to, self.pairing.tamper_notice())
        tampered = isinstance(exc, TamperedError)
        await self.client.send_bye(to, "tampered" if tampered else "pairing failed")


async def run_receiver(rx: Peer, code: str, frames: list[int], pin: str | None) -> None:
    joined = await rx.next(p.PeerJoined)
    sender = joined.peer.peer_id
    me = rx.client.peer_id or ""
    rx.pairing = Pairing(PairingRole.RECEIVER, code, sender, me, pin=pin)
    await rx.signal(sender, rx.pairing.start())
    pc = peer.make_peer_connection([])
    try:
        rx.pairing.receive(await rx.next(p.PakeMessage))
        await rx.expect_confirm()  # the sender's fingerprint, under the shared key
        offer = await rx.next(p.RelayedOffer)
        rx.pairing.check_remote_sdp(offer.sdp)  # before applying it
        received = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track: object) -> None:
            r = FrameReceiver(track, lambda f: frames.append(f.seq))  # type: ignore[arg-type]
            r.start()
            received.set_result(r)

        await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await rx.signal(sender, rx.pairing.confirm(pc.localDescription.sdp))
        await rx.client.send_answer(sender, pc.localDescription.sdp)
        # the sender may still find the answer tampered with: its notice ends the call
        watch = asyncio.create_task(rx.expect_confirm())
        done, _ = await asyncio.wait([watch], timeout=4.0)
        if watch in done:
            watch.result()
        else:
            watch.cancel()
        if received.done():
            await received.result().stop()
    except PairingError as exc:
        await rx.refuse(sender, exc)
    finally:
        await pc.close()


async def run_sender(tx: Peer, code: str, pin: str | None) -> None:
    joined = await tx.client.join(code)
    receiver = joined.receiver.peer_id
    me = tx.client.peer_id or ""
    tx.pairing = Pairing(PairingRole.SENDER, code, me, receiver, pin=pin)
    await tx.signal(receiver, tx.pairing.start())
    source = SyntheticSource(320, 240, 30)
    source.start()
    pc = peer.make_peer_connection([])
    try:
        tx.pairing.receive(await tx.next(p.PakeMessage))
        peer.add_video_sender(pc, CaptureTrack(source))
        await pc.setLocalDescription(await pc.createOffer())
        await tx.signal(receiver, tx.pairing.confirm(pc.localDescription.sdp))
        await tx.client.send_offer(receiver, pc.localDescription.sdp)
        await tx.expect_confirm()  # both fingerprints, as the receiver saw them
        answer = await tx.next(p.RelayedAnswer)
        tx.pairing.check_remote_sdp(answer.sdp)  # before applying it
        await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
        await asyncio.sleep(4.0)  # cast
    except PairingError as exc:
        await tx.refuse(receiver, exc)
    finally:
        await pc.close()
        source.stop()


async def main(mode: str) -> dict[str, object]:
    config = ServiceConfig(host=HOST, port=0)
    signer = TokenSigner(secrets.token_bytes(32))
    server = RoomServer(config, signer)
    if mode not in ("honest", "wrong_pin"):
        rooms = TamperingRooms(server.store, signer, config.rooms, server.rooms.clock)
        rooms.rewrite = {"offer": (p.RelayedOffer,), "answer": (p.RelayedAnswer,),
                         "both": (p.RelayedOffer, p.RelayedAnswer)}[mode]
        rooms.fingerprints = tuple(f"{f.algorithm} {f.value}" for f in
                                   RTCCertificate.generateCertificate().getFingerprints())
        server.rooms = rooms
    await server.start()
    rx = Peer(SignalingClient(server.url, name="tv"))
    tx = Peer(SignalingClient(server.url, name="laptop"))
    frames: list[int] = []
    try:
        await rx.client.connect()
        await tx.client.connect()
        code = (await rx.client.register()).code
        pins = ("4821", "4822") if mode == "wrong_pin" else (None, None)
        await asyncio.wait_for(asyncio.gather(run_receiver(rx, code, frames, pins[0]),
                                              run_sender(tx, code, pins[1])), 40)
    finally:
        await rx.client.close()
        await tx.client.close()
        await server.stop()
    return {"mode": mode, "receiver_error": rx.error, "sender_error": tx.error,
            "frames": len(frames), "rewritten": getattr(server.rooms, "rewritten", 0)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(asyncio.run(main(sys.argv[1]))), flush=True)
