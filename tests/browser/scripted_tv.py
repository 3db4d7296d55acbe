"""A TV that answers a browser sender with scripted admission signals (run in a namespace).

``python scripted_tv.py URL`` registers, prints ``{"event": "code"}``, then for the first
sender: ``waiting``, then a view hint and ``pin`` once its offer is in; a PIN answer of
``1111`` gets ``wrong_pin``, any other gets ``denied``. Every step is printed as a JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys

from castapp import protocol as p
from castapp.signaling.client import SignalingClient


def out(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def main(url: str) -> None:
    client = SignalingClient(url, name="Scripted TV")
    await client.connect()
    reg = await client.register()
    out("code", code=reg.code)
    sender = None
    async for ev in client.events():
        if isinstance(ev, p.PeerJoined) and sender is None:
            sender = ev.peer.peer_id
            out("joined", name=ev.peer.name)
            await client.send_signal(sender, p.Admission(state=p.AdmissionState.WAITING))
            out("sent", state="waiting")
        elif isinstance(ev, p.RelayedOffer) and ev.from_ == sender:
            out("offer", video="m=video" in ev.sdp, sendonly="a=sendonly" in ev.sdp,
                codecs=[c for c in ("VP8", "H264") if f" {c}/90000" in ev.sdp])
            await client.send_signal(sender, p.ViewHint(width=640, height=360, fps=15, tile=2,
                                                         tiles=4, spotlit=False))
            await asyncio.sleep(1.0)  # the offer is held while the TV asks for a PIN
            await client.send_signal(sender, p.Admission(state=p.AdmissionState.PIN,
                                                          pin_digits=4))
            out("sent", state="pin")
        elif isinstance(ev, p.RelayedSignal) and sender is not None:
            msg = p.decode_peer(ev.body)
            if isinstance(msg, p.PinAnswer):
                out("pin", pin=msg.pin)
                state = (p.AdmissionState.WRONG_PIN if msg.pin == "1111"
                         else p.AdmissionState.DENIED)
                await client.send_signal(sender, p.Admission(state=state, pin_digits=4))
                out("sent", state=state.value)
        elif isinstance(ev, p.PeerLeft):
            out("left", reason=str(ev.reason))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
