"""Log written by the room service while a connection flood holds it at its file limit.

Starts ``castapp serve`` and, as the reference, a stock aiohttp server on the same asyncio
(the same backlog and default logging, so what castapp would write without its connection
guard), each in its own process allowed only ``--files`` open files; floods each with
``--connections`` TCP connections from ``--addresses`` loopback addresses for ``--seconds``,
and prints one JSON object: log bytes per second for both and their ratio.

    python benchmarks/log_flood.py [--files 64] [--connections 600] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = """
import asyncio, logging, sys
from aiohttp import web
logging.basicConfig(level=logging.INFO)
async def main():
    app = web.Application()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on ws://127.0.0.1:{port}/ws", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def flood(argv: list[str], files: int, connections: int, addresses: int, seconds: float,
          workdir: Path) -> float:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    log_path = workdir / f"log-{len(list(workdir.iterdir()))}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, preexec_fn=limit)
    socks: list[socket.socket] = []
    try:
        line = proc.stdout.readline().decode()  # type: ignore[union-attr]
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        time.sleep(0.5)
        before, t0 = log_path.stat().st_size, time.monotonic()
        for i in range(connections):
            s = socket.socket()
            s.bind((f"127.0.{20 + i % addresses}.1", 0))
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            socks.append(s)
        time.sleep(seconds)
        return (log_path.stat().st_size - before) / (time.monotonic() - t0)
    finally:
        for s in socks:
            s.close()
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=64)
    ap.add_argument("--connections", type=int, default=600)
    ap.add_argument("--addresses", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = (args.files, args.connections, args.addresses, args.seconds, work)
        castapp = flood([sys.executable, "-m", "castapp", "serve", "--port", "0",
                         "--state-dir", str(work / "state")], *common)
        reference = flood([sys.executable, "-c", REFERENCE], *common)
    print(json.dumps({
        "files": args.files, "connections": args.connections, "seconds": args.seconds,
        "castapp_log_bytes_per_s": round(castapp, 1),
        "reference_log_bytes_per_s": round(reference, 1),
        "ratio": round(castapp / reference, 6) if reference else None,
    }))


if __name__ == "__main__":
    main()
