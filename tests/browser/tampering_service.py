"""castapp's room service with a malicious relay, for the browser tests (run in a namespace).

``python tampering_service.py PORT offer|answer|both|honest`` serves the pages and the room
service on 127.0.0.1:PORT; its relay swaps the DTLS fingerprints of the offers, the answers
or both for those of a certificate it holds (tests/integration/security_cast.py). Prints
``{"event": "ready"}``, then ``{"event": "rewritten", "count": N}`` each time it changed one.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

from aiortc import RTCCertificate

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from security_cast import TamperingRooms

from castapp import protocol as p
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner


class CountingRooms(TamperingRooms):
    def _swap(self, sdp: str) -> str:
        out = super()._swap(sdp)
        print(json.dumps({"event": "rewritten", "count": self.rewritten}), flush=True)
        return out


async def main(port: int, mode: str) -> None:
    config = ServiceConfig(host="127.0.0.1", port=port)
    signer = TokenSigner(secrets.token_bytes(32))
    server = RoomServer(config, signer)
    rooms = CountingRooms(server.store, signer, config.rooms, server.rooms.clock)
    rooms.rewrite = {"offer": (p.RelayedOffer,), "answer": (p.RelayedAnswer,),
                     "both": (p.RelayedOffer, p.RelayedAnswer), "honest": ()}[mode]
    rooms.fingerprints = tuple(f"{f.algorithm} {f.value}" for f in
                               RTCCertificate.generateCertificate().getFingerprints())
    server.rooms = rooms
    await server.start()
    print(json.dumps({"event": "ready", "url": server.url}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
