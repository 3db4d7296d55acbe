"""Time to first frame across NATs: ``castapp send`` behind one router, ``receive`` behind another.

Builds the five-namespace topology of ``tests/nat_topology.py`` (two NATed LANs, a public
network with coturn and ``castapp serve``), then for each scenario starts a headless receiver
behind router B and a sender (synthetic 640x360 at 30 fps) behind router A, and measures from
the sender's start to the receiver showing the first frame ("receiving"), plus the route the
media took. Scenarios:

- ``cone_stun``: cone NAT on both routers, the service hands out STUN only;
- ``cone``: cone NAT, STUN + TURN (the first pair to answer wins);
- ``relay_only``: cone NAT, both ends ``--relay-only``;
- ``symmetric``: symmetric NAT on both routers, STUN + TURN;
- ``udp_blocked``: cone NAT, all UDP dropped at both routers: TURN over TCP after the UDP
  attempt's 5 s gathering timeout on each side.

Each scenario runs ``--runs`` times (new processes each time). Prints one JSON object.
Needs root, iproute2, nftables and coturn. Run with the project's virtualenv Python:
``.venv/bin/python benchmarks/cast_nat.py``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from castproc import CastProc
from nat_topology import NatTopology, RoomService, start_coturn, stop

SCENARIOS = ("cone_stun", "cone", "relay_only", "symmetric", "udp_blocked")


def one_run(topo: NatTopology, url: str, state: Path, flags: list[str]) -> dict[str, Any]:
    rx = CastProc(topo.exec_argv("hostB", []), "receive", "--headless", "--admission", "open",
                                               "--server", url,
                  "--state-dir", str(state), *flags)
    try:
        code = rx.expect("code")["code"]
        rx.expect("state", state="waiting")
        started = time.time()
        tx = CastProc(topo.exec_argv("hostA", []), "send", "--headless", "--server", url,
                      "--code", code, "--synthetic", "640x360", "--fps", "30", *flags)
        try:
            shown = rx.expect("state", state="receiving", timeout=40)
            route = rx.expect("route", timeout=5)["route"]
            return {"first_frame_ms": round((shown["t"] - started) * 1000), "route": route}
        finally:
            tx.stop()
    finally:
        rx.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    topo = NatTopology()
    with tempfile.TemporaryDirectory(prefix="castapp-nat-") as tmp:
        work = Path(tmp)
        try:
            topo.build()
            secret = secrets.token_urlsafe(16)
            coturn = start_coturn(topo, work / "coturn", secret)
            full = RoomService(topo, work / "full", secret).start()
            stun_only = RoomService(topo, work / "stun", secret, port=8767,
                                    with_turn=False).start()
            try:
                for name in args.scenarios:
                    topo.reset()
                    topo.set_nat("symmetric" if name == "symmetric" else "cone")
                    topo.block_udp(name == "udp_blocked")
                    url = stun_only.url if name == "cone_stun" else full.url
                    flags = ["--relay-only"] if name == "relay_only" else []
                    runs = [one_run(topo, url, work / f"{name}-{i}", flags)
                            for i in range(args.runs)]
                    times = [r["first_frame_ms"] for r in runs]
                    results[name] = {
                        "first_frame_ms_median": statistics.median(times),
                        "first_frame_ms": times,
                        "routes": sorted({r["route"] for r in runs}),
                    }
            finally:
                full.stop()
                stun_only.stop()
                stop(coturn)
        finally:
            topo.close()
    print(json.dumps({"benchmark": "cast_nat", "runs": args.runs,
                      "note": "from starting the sender process to the first frame shown",
                      "scenarios": results}, indent=2))


if __name__ == "__main__":
    main()
