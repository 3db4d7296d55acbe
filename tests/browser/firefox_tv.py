"""Debian's Firefox ESR driven over WebDriver BiDi (no driver, nothing downloaded).

Run inside the test's network namespace: ``python firefox_tv.py BASE_URL WORKDIR [--cast]``.
Starts ``firefox-esr --headless --remote-debugging-port`` on a fresh profile, opens ``/tv``
(which registers with a WebCrypto Ed25519 proof and shows its code and QR code), then the
sender page with that code, and prints one JSON line with what it found. With ``--cast`` it
prints the code (``{"event": "code"}``) and stays on the TV page while an app sender casts to
it, then reports what the page received.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))

FIREFOX = "/usr/bin/firefox-esr"
PREFS = {
    "browser.shell.checkDefaultBrowser": False, "app.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False, "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False, "media.autoplay.default": 0,
    "media.navigator.permission.disabled": True, "media.peerconnection.ice.loopback": True,
    "network.connectivity-service.enabled": False, "extensions.update.enabled": False,
    # host candidates as addresses, not mDNS names aiortc cannot resolve
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.default_address_only": False,
    "media.peerconnection.ice.link_local": True,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bidi:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json(timeout=30)
            if msg.get("id") == self.next_id:
                if msg.get("type") == "error":
                    raise RuntimeError(f"{method}: {msg.get('message') or msg}")
                return msg["result"]

    async def value(self, context: str, function: str, *args: Any) -> Any:
        """Call a JS function in the page; its result comes back through JSON."""
        res = await self.call(
            "script.callFunction",
            functionDeclaration=f"async (...a) => JSON.stringify(await ({function})(...a))",
            arguments=[{"type": "string", "value": json.dumps(x)} for x in args],
            target={"context": context}, awaitPromise=True)
        if res.get("type") == "exception":
            raise RuntimeError(json.dumps(res.get("exceptionDetails"))[:500])
        raw = res["result"].get("value")
        return json.loads(raw) if isinstance(raw, str) else None

    async def until(self, context: str, function: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = await self.value(context, function)
            if got:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(function)
            await asyncio.sleep(0.2)


RECEIVED = """async () => ({
  connection: document.body.dataset.connection || '', casting: document.body.dataset.casting || '',
  verified: document.body.dataset.verified || '', state: document.body.dataset.tvstate || '',
  width: document.getElementById('video').videoWidth,
  stats: await window.castappReceiveStats()})"""


async def watch_cast(bidi: Bidi, ctx: str, seconds: float = 40.0) -> dict[str, Any]:
    """Poll the TV until its video shows frames (or the time is up); the last look."""
    deadline = time.monotonic() + seconds
    while True:
        got = await bidi.value(ctx, RECEIVED)
        stats = got.get("stats") or {}
        if (got["width"] and (stats.get("framesDecoded") or 0) > 30) \
                or time.monotonic() > deadline or got["connection"] == "failed":
            return dict(got)
        await asyncio.sleep(0.3)


async def main(base: str, work: Path, cast: bool = False) -> dict[str, Any]:
    profile = work / "firefox-profile"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "user.js").write_text("".join(
        f'user_pref("{k}", {json.dumps(v)});\n' for k, v in PREFS.items()))
    port = free_port()
    env = dict(os.environ, MOZ_HEADLESS="1")
    fox = subprocess.Popen([FIREFOX, "--headless", "--no-remote", "--profile", str(profile),
                            f"--remote-debugging-port={port}", "about:blank"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    ws = await http.ws_connect(f"ws://127.0.0.1:{port}/session", max_msg_size=0)
                    break
                except aiohttp.ClientError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.3)
            bidi = Bidi(ws)
            caps = await bidi.call("session.new", capabilities={})
            version = caps["capabilities"].get("browserVersion")
            tree = await bidi.call("browsingContext.getTree")
            ctx = tree["contexts"][0]["context"]
            await bidi.call("browsingContext.navigate", context=ctx, url=f"{base}/tv",
                            wait="complete")
            code = await bidi.until(ctx, "() => document.body.dataset.code", 20)
            if cast:  # an app sender casts to this TV now: report what the page receives
                print(json.dumps({"event": "code", "code": code}), flush=True)
                return {"event": "result", "version": version, "code": code,
                        "cast": await watch_cast(bidi, ctx)}
            keyed = await bidi.value(ctx, "() => document.body.dataset.keyed")
            qr = await bidi.until(ctx, "() => !document.getElementById('qr').hidden", 10)
            # the QR code's link opens the sender page with the code filled in
            await bidi.call("browsingContext.navigate", context=ctx, url=f"{base}/#{code}",
                            wait="complete")
            await bidi.until(ctx, "() => document.body.dataset.ready === '1'", 10)
            page = await bidi.value(ctx, "() => ({code: document.getElementById('code').value,"
                                    " share: !!navigator.mediaDevices.getDisplayMedia,"
                                    " status: document.getElementById('status').textContent,"
                                    " disabled: document.getElementById('share').disabled})")
            return {"event": "result", "version": version, "code": code, "keyed": keyed,
                    "qr": qr, "sender_page": page}
    finally:
        fox.terminate()
        try:
            fox.wait(10)
        except subprocess.TimeoutExpired:
            fox.kill()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], Path(sys.argv[2]), "--cast" in sys.argv[3:]))),
          flush=True)
