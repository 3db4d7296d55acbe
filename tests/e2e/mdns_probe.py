"""mDNS helpers the LAN tests run inside their namespaces (never in the host's).

    mdns_probe.py find CODE [TIMEOUT]   look for CODE with castapp's own browser, print the result
    mdns_probe.py list SECONDS          every castapp advert seen in that time, raw zeroconf
    mdns_probe.py watch                 print every castapp advert added or removed, until SIGTERM
    mdns_probe.py hostile CODE PORT     advertise malformed and misleading records for CODE

Each prints one JSON object per line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from castapp.discovery.mdns import find_receiver, lan_addresses
from castapp.discovery.record import SERVICE_TYPE, Advert, NotFound


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def find(code: str, timeout: float) -> None:
    start = time.monotonic()
    result = await find_receiver(code, timeout=timeout)
    elapsed = round(time.monotonic() - start, 3)
    fields = dataclasses.asdict(result)
    if isinstance(result, NotFound):
        emit("result", found=False, elapsed=elapsed, **{**fields, "reason": result.reason.value})
    else:
        emit("result", found=True, elapsed=elapsed, **fields)


def _browse(zc: AsyncZeroconf, changes: asyncio.Queue[tuple[str, str]]) -> AsyncServiceBrowser:
    def on_change(zeroconf: Zeroconf, service_type: str, name: str,
                  state_change: ServiceStateChange) -> None:
        changes.put_nowait((state_change.name.lower(), name))

    return AsyncServiceBrowser(zc.zeroconf, [SERVICE_TYPE], handlers=[on_change])


async def list_adverts(seconds: float) -> None:
    zc = AsyncZeroconf(interfaces=lan_addresses(), ip_version=IPVersion.V4Only)
    changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    browser = _browse(zc, changes)
    names: set[str] = set()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            change, name = await asyncio.wait_for(changes.get(), left)
        except TimeoutError:
            break
        if change == "added":
            names.add(name)
    adverts = []
    for name in sorted(names):
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if await info.async_request(zc.zeroconf, 1500):
            txt = {k.decode(): (v or b"").decode(errors="replace")
                   for k, v in info.properties.items()}
            adverts.append({"name": name, "port": info.port, "txt": txt,
                            "addresses": info.parsed_addresses(IPVersion.V4Only)})
    emit("adverts", adverts=adverts)
    await browser.async_cancel()
    await zc.async_close()


async def watch() -> None:
    zc = AsyncZeroconf(interfaces=lan_addresses(), ip_version=IPVersion.V4Only)
    changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    browser = _browse(zc, changes)
    emit("watching")

    async def pump() -> None:
        while True:
            change, name = await changes.get()
            emit(change, name=name)

    task = asyncio.create_task(pump())
    await until_terminated()
    task.cancel()
    await browser.async_cancel()
    await zc.async_close()


async def hostile(code: str, port: int) -> None:
    """Records a hostile machine could send: none of them may be taken for a receiver."""
    addresses = lan_addresses()
    good = Advert.for_code(code, "spoof", port, addresses).to_txt()
    elsewhere = Advert.for_code(code, "replayed", port, ["10.10.0.99"]).to_txt()
    newer = dataclasses.replace(Advert.for_code(code, "future", port, addresses), version=99)
    records: list[dict[str, object] | bytes] = [
        {**good, "n": "x" * 200, "x": "y" * 200},  # the whole record is too large
        {**good, "s": "zz" * 8},  # salt not hex
        {**good, "t": "abc"},  # tag of the wrong length
        {k: v for k, v in good.items() if k != "t"},  # no tag
        {**good, "v": "1" * 40},  # version not a small number
        {**good, "a": "s0"},  # unknown scheme
        {**good, "n": b"\xff\xfe"},  # not UTF-8
        b"\x05v=1\x00\x00" + b"\xff" * 5,  # truncated TXT strings
        elsewhere,  # a copy of a real tag made for another address
        newer.to_txt(),  # the right code, but a protocol this castapp does not speak
    ]
    zc = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
    for i, props in enumerate(records):
        info = AsyncServiceInfo(SERVICE_TYPE, f"hostile {i}.{SERVICE_TYPE}", port=port,
                                properties=props, server=f"hostile-{i}.local.",
                                parsed_addresses=addresses)
        await (await zc.async_register_service(info))
    emit("ready", records=len(records))
    await until_terminated()
    await zc.async_close()


def main(argv: list[str]) -> None:
    command, *rest = argv
    if command == "find":
        asyncio.run(find(rest[0], float(rest[1]) if len(rest) > 1 else 3.0))
    elif command == "list":
        asyncio.run(list_adverts(float(rest[0])))
    elif command == "watch":
        asyncio.run(watch())
    elif command == "hostile":
        asyncio.run(hostile(rest[0], int(rest[1])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
