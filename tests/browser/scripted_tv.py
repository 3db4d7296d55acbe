"""A TV that answers a browser sender with scripted admission signals (run in a namespace).

``python scripted_tv.py URL [MODE]`` registers, prints ``{"event": "code"}``, then for the
first sender, by ``MODE``:

``pin`` (the default): ``waiting``, a view hint, then ``pin`` (the PIN is ``2468``). The sender
pairs over code and PIN: a pairing whose confirmation does not check gets ``wrong_pin``, one
that checks gets ``allowed``; its offer (checked against the confirmed fingerprint) gets
``denied``. A PIN sent in clear is printed as ``clear_pin``.

``wrong_code``: ``allowed`` at once, then it pairs with another code and answers the offer
with an SDP of its own (a TV that does not know the code).

Every step is printed as a JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys

from castapp import protocol as p
from castapp.pairing import Pairing, PairingError, PairingRole
from castapp.signaling.client import SignalingClient

PIN = "2468"
ANSWER = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
          "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23"
          ":45:67:89:AB:CD:EF:01:23:45:67:89\r\n")


def out(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def main(url: str, mode: str) -> None:
    client = SignalingClient(url, name="Scripted TV")
    await client.connect()
    reg = await client.register()
    me = client.peer_id or ""
    out("code", code=reg.code)
    sender = None
    pairing: Pairing | None = None
    code = reg.code if mode == "pin" else ("000000" if reg.code != "000000" else "111111")
    async for ev in client.events():
        if isinstance(ev, p.PeerJoined) and sender is None:
            sender = ev.peer.peer_id
            out("joined", name=ev.peer.name)
            if mode == "wrong_code":
                await client.send_signal(sender, p.Admission(state=p.AdmissionState.ALLOWED))
                out("sent", state="allowed")
                continue
            await client.send_signal(sender, p.Admission(state=p.AdmissionState.WAITING))
            out("sent", state="waiting")
            await asyncio.sleep(1.0)
            await client.send_signal(sender, p.ViewHint(width=640, height=360, fps=15, tile=2,
                                                         tiles=4, spotlit=False))
            await client.send_signal(sender, p.Admission(state=p.AdmissionState.PIN,
                                                          pin_digits=4))
            out("sent", state="pin")
        elif isinstance(ev, p.RelayedOffer) and ev.from_ == sender:
            out("offer", video="m=video" in ev.sdp, sendonly="a=sendonly" in ev.sdp,
                codecs=[c for c in ("VP8", "H264") if f" {c}/90000" in ev.sdp],
                confirmed=pairing is not None and pairing.confirmed)
            if mode == "wrong_code":
                await client.send_answer(sender, ANSWER)
                out("sent", state="answer")
                continue
            assert pairing is not None
            pairing.check_remote_sdp(ev.sdp)  # raises (and the script fails) if not
            await client.send_signal(sender, p.Admission(state=p.AdmissionState.DENIED))
            out("sent", state="denied")
        elif isinstance(ev, p.RelayedSignal) and sender is not None:
            msg = p.decode_peer(ev.body)
            if isinstance(msg, p.PinAnswer):
                out("clear_pin", pin=msg.pin)
            elif isinstance(msg, p.PakeMessage):
                pairing = Pairing(PairingRole.RECEIVER, code, sender, me,
                                  pin=PIN if mode == "pin" else None, attempt=msg.attempt)
                start = pairing.start()
                pairing.receive(msg)
                await client.send_signal(sender, start)
                out("pake", attempt=msg.attempt)
            elif isinstance(msg, p.KeyConfirm) and pairing is not None and mode == "wrong_code":
                # confirms without checking, under its own key: the sender must not believe it
                pairing._state = type(pairing._state).CONFIRMED
                pairing._fp[PairingRole.SENDER] = msg.fingerprint
                await client.send_signal(sender, pairing.confirm(ANSWER))
                out("confirm", ok=False, tampered=msg.tampered)
            elif isinstance(msg, p.KeyConfirm) and pairing is not None:
                try:
                    pairing.check_confirm(msg)
                except PairingError:
                    out("confirm", ok=False, tampered=msg.tampered)
                    await client.send_signal(sender, p.Admission(
                        state=p.AdmissionState.WRONG_PIN, pin_digits=4))
                    out("sent", state="wrong_pin")
                    continue
                out("confirm", ok=True)
                await client.send_signal(sender, p.Admission(state=p.AdmissionState.ALLOWED))
                out("sent", state="allowed")
        elif isinstance(ev, p.PeerLeft):
            out("left", reason=str(ev.reason))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "pin"))
