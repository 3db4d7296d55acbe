"""mDNS helpers the LAN tests run inside their namespaces (never in the host's).

    mdns_probe.py find CODE [TIMEOUT]   look for CODE with castapp's own browser, print the result
    mdns_probe.py list SECONDS          every castapp advert seen in that time, raw zeroconf
    mdns_probe.py watch                 print every castapp advert added or removed, until SIGTERM
    mdns_probe.py hostile PORT FAKES    advertise malformed records, a newer version, and FAKES
                                        well-formed fakes whose services hang or lie

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


async def hostile(port: int, fakes: int) -> None:
    """Records a hostile machine could send: none of them may be taken for a receiver, and
    however many there are, they may not hide a real one."""
    addresses = lan_addresses()
    good = Advert.for_receiver("spoof").to_txt()
    newer = dataclasses.replace(Advert.for_receiver("future"), version=99)
    records: list[dict[str, object] | bytes] = [
        {**good, "n": "x" * 200, "x": "y" * 200},  # the whole record is too large
        {k: v for k, v in good.items() if k != "a"},  # no check scheme
        {**good, "v": "1" * 40},  # version not a small number
        {**good, "a": "s1", "s": "00" * 8, "t": "abcd"},  # the old offline-testable tag
        {**good, "n": b"\xff\xfe"},  # not UTF-8
        b"\x05v=1\x00\x00" + b"\xff" * 5,  # truncated TXT strings
        newer.to_txt(),  # a protocol this castapp does not speak
    ]
    # well-formed fakes: half point at a service that accepts and never answers, half at
    # one that answers every probe with a made-up proof
    held: list[asyncio.StreamWriter] = []

    async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    async def liar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(2048)
        body = b'{"pake":"AAAA","confirm":"AAAA"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(tarpit, addresses[0], port),
               await asyncio.start_server(liar, addresses[0], port + 1)]
    zc = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
    infos = [AsyncServiceInfo(SERVICE_TYPE, f"hostile {i}.{SERVICE_TYPE}", port=port,
                              properties=props, server=f"hostile-{i}.local.",
                              parsed_addresses=addresses) for i, props in enumerate(records)]
    infos += [AsyncServiceInfo(SERVICE_TYPE, f"Fake TV {i}.{SERVICE_TYPE}", port=port + i % 2,
                               properties=good, server=f"fake-{i}.local.",
                               parsed_addresses=addresses) for i in range(fakes)]
    waits = await asyncio.gather(*(zc.async_register_service(info) for info in infos))
    await asyncio.gather(*waits)
    emit("ready", records=len(records), fakes=fakes)
    await until_terminated()
    for server in servers:
        server.close()
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
        asyncio.run(hostile(int(rest[0]), int(rest[1])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
