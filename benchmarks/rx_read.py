"""Reading a keyframe's burst of datagrams: batched reads against one datagram per loop pass.

A sender process puts a burst of RTP-sized datagrams (``--burst``, default 250: a 1080p
keyframe) on the receiver's socket while the receiver is blocked, so the whole burst waits
there; the receiver then lets its event loop read it and times that, from the moment it
unblocks to the burst's last datagram handed on. The socket belongs to aioice's own
``StunProtocol`` (which parses every datagram as a STUN message first, as on an ICE
connection), handing RTP to a stand-in connection; the loop carries a few dozen timers, as a
receiver's does. Two ways to read, in alternating rounds on fresh sockets:

* ``batched``: castapp's adaptations installed (:mod:`castapp.rtc.batchread`: up to 64
  datagrams a loop pass);
* ``single``: the same without batched reading (asyncio's own transport: one datagram a pass).

Each on asyncio's loop and on qasync's (the TV's windows run asyncio inside Qt). The figure to
read is ``batched_over_single`` (µs per datagram, medians over the rounds).

    python benchmarks/rx_read.py [--rounds 15] [--burst 250] [--loop asyncio|qasync|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes([0x80, 0x60]) + bytes(1198)
for line in sys.stdin:
    host, port, count = line.split()
    for _ in range(int(count)):
        s.sendto(payload, (host, int(port)))
    sys.stdout.write("sent\\n")
    sys.stdout.flush()
"""


class Connection:
    """What aioice's StunProtocol hands a non-STUN datagram to."""

    def __init__(self) -> None:
        self.count = 0
        self.want = 0
        self.done: asyncio.Future[float] | None = None

    def data_received(self, data: bytes, component: int) -> None:
        self.count += 1
        if self.count == self.want and self.done is not None and not self.done.done():
            self.done.set_result(time.perf_counter())

    def protocol_lost(self, protocol: Any) -> None:
        pass


async def one_round(sender: subprocess.Popen[str], burst: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per datagram for one burst read by a fresh ICE host socket."""
    import aioice

    loop = asyncio.get_running_loop()
    connection = Connection()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: aioice.ice.StunProtocol(connection),  # type: ignore[arg-type]
        local_addr=("127.0.0.1", 0))
    import socket

    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    protocol.local_candidate = aioice.Candidate(
        foundation="x", component=1, transport="udp", priority=1, host="127.0.0.1", port=1,
        type="host")
    await asyncio.sleep(0.01)  # readers registered
    connection.want = burst
    connection.done = loop.create_future()
    host, port = transport.get_extra_info("sockname")[:2]
    assert sender.stdin is not None and sender.stdout is not None
    sender.stdin.write(f"{host} {port} {burst}\n")
    sender.stdin.flush()
    sender.stdout.readline()  # blocks the loop: the whole burst waits on the socket
    start, cpu = time.perf_counter(), time.process_time()
    end = await asyncio.wait_for(connection.done, 10)
    cpu = time.process_time() - cpu
    transport.close()
    return (end - start) * 1e6 / burst, cpu * 1e6 / burst


async def measure(rounds: int, burst: int) -> dict[str, Any]:
    from castapp.rtc import adapt

    loop = asyncio.get_running_loop()
    timers = [loop.call_later(3600 + i, lambda: None) for i in range(40)]
    sender = subprocess.Popen([sys.executable, "-c", SENDER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    wall: dict[str, list[float]] = {"batched": [], "single": []}
    cpu: dict[str, list[float]] = {"batched": [], "single": []}
    try:
        for r in range(rounds + 1):
            for way in ("batched", "single") if r % 2 else ("single", "batched"):
                adapt.use_batched_reads(way == "batched")
                w, c = await one_round(sender, burst)
                if r:  # the first round warms up
                    wall[way].append(w)
                    cpu[way].append(c)
    finally:
        assert sender.stdin is not None
        sender.stdin.close()
        sender.wait(5)
        for t in timers:
            t.cancel()
        adapt.use_batched_reads(True)
    med = {way: statistics.median(v) for way, v in wall.items()}
    return {
        "us_per_datagram": {way: round(v, 2) for way, v in med.items()},
        "cpu_us_per_datagram": {way: round(statistics.median(v), 2) for way, v in cpu.items()},
        "batched_over_single": round(med["batched"] / med["single"], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--burst", type=int, default=250, help="datagrams a burst (default 250)")
    ap.add_argument("--loop", choices=("asyncio", "qasync", "both"), default="both")
    args = ap.parse_args()
    if args.rounds < 1 or not 1 <= args.burst <= 2000:
        ap.error("--rounds at least 1, --burst 1 to 2000")
    out: dict[str, Any] = {"burst": args.burst, "rounds": args.rounds}
    if args.loop in ("asyncio", "both"):
        out["asyncio"] = asyncio.run(measure(args.rounds, args.burst))
    if args.loop in ("qasync", "both"):
        from cast_stamp import run_on_qasync

        out["qasync"] = run_on_qasync(measure(args.rounds, args.burst))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
