"""A sender that misbehaves at pairing, for the web TV tests (run in a namespace).

``python scripted_sender.py URL CODE MODE`` joins the TV's room and then, by ``MODE``:
``wrong_code`` pairs with another code; ``bad_point`` sends a PAKE message whose element is of
small order; ``silent`` sends its PAKE message and nothing after. Prints each thing the TV
sends as a JSON line (``admission``, ``pake``, ``confirm``, ``bye``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys

from castapp import protocol as p
from castapp.pairing import Pairing, PairingRole
from castapp.signaling.client import SignalingClient

SDP = "v=0\r\na=fingerprint:sha-256 AB:CD:EF\r\n"


def out(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def main(url: str, code: str, mode: str) -> None:
    client = SignalingClient(url, name="Mallory")
    await client.connect()
    joined = await client.join(code)
    tv = joined.receiver.peer_id
    me = client.peer_id or ""
    other = "000000" if code != "000000" else "111111"
    pairing = Pairing(PairingRole.SENDER, other if mode == "wrong_code" else code, me, tv)
    if mode == "bad_point":
        await client.send_signal(tv, p.PakeMessage(step=0, data=base64.b64encode(
            b"A" + bytes(32)).decode()))
    else:
        await client.send_signal(tv, pairing.start())
    out("sent", mode=mode)
    while True:
        ev = await client.next_event(60)
        if isinstance(ev, p.RelayedBye):
            out("bye", reason=ev.reason)
        elif isinstance(ev, p.RelayedSignal):
            msg = p.decode_peer(ev.body)
            if isinstance(msg, p.Admission):
                out("admission", state=msg.state.value)
            elif isinstance(msg, p.PakeMessage):
                out("pake")
                if mode == "wrong_code":
                    pairing.receive(msg)
                    await client.send_signal(tv, pairing.confirm(SDP))
                    await client.send_offer(tv, SDP)
            elif isinstance(msg, p.KeyConfirm):
                out("confirm", tampered=msg.tampered)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
