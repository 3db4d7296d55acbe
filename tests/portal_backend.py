"""A ScreenCast portal backend for tests: the part of the Wayland stack that cannot run here.

xdg-desktop-portal-wlr (Debian 12: 0.7.0) refuses to start a screencast when the
compositor offers screencopy v3 but no DMA-BUF format, which is always the case without a
GPU (/dev/dri): sway's pixman renderer offers shared memory only (upstream
emersion/xdg-desktop-portal-wlr#289). This process takes its place on the private session
bus as ``org.freedesktop.impl.portal.ScreenCast`` behind the real xdg-desktop-portal
frontend, and does what xdpw does with the means available: it grabs the compositor's
output through wlr-screencopy (``grim``) and offers it as a PipeWire video source node
(GStreamer ``pipewiresink``). Everything castapp talks to is real: the frontend (request
objects, sessions, restore tokens in the permission store, ``OpenPipeWireRemote``),
PipeWire, WirePlumber and the compositor.

"The dialog" is the moment a real backend would ask the user; it prints ``{"dialog": N}``
so the test can count how often the user would have been asked. A restore token the
frontend hands back (as ``restore_data``) skips it, as in real backends.

Run: ``python portal_backend.py OUTPUT_NAME``; prints ``{"ready": true}`` once it owns
its bus name.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import Proxy, open_dbus_connection

NAME = "org.freedesktop.impl.portal.desktop.castapptest"
PATH = "/org/freedesktop/portal/desktop"
SCREENCAST = "org.freedesktop.impl.portal.ScreenCast"
PROPS = "org.freedesktop.DBus.Properties"
RESTORE_KEY = "castapp-test-output"


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class Backend:
    def __init__(self, output: str) -> None:
        self.output = output
        self.conn = open_dbus_connection(bus="SESSION")
        reply = Proxy(message_bus, self.conn).RequestName(NAME, 4)  # do not queue
        if reply != (1,):
            raise SystemExit(f"cannot own {NAME}: {reply}")
        self.sessions: dict[str, dict[str, Any]] = {}
        self.dialogs = 0
        self.producer: subprocess.Popen[bytes] | None = None
        self.tmp = tempfile.mkdtemp(prefix="castapp-portal-")

    # ------------------------------------------------------------------ PipeWire source
    def start_producer(self) -> int:
        if self.producer is not None and self.producer.poll() is None:
            return self.node_id
        png = os.path.join(self.tmp, "screen.png")
        subprocess.run([shutil.which("grim") or "grim", "-c", "-o", self.output, png],
                       check=True, timeout=20)
        name = f"castapp-test-screen-{os.getpid()}"
        self.producer = subprocess.Popen(
            [shutil.which("gst-launch-1.0") or "gst-launch-1.0", "-q", "multifilesrc",
             f"location={png}", "loop=true", "caps=image/png,framerate=30/1", "!", "pngdec",
             "!", "videoconvert", "!", "video/x-raw,format=BGRx", "!", "pipewiresink",
             "mode=provide",
             f"stream-properties=props,media.class=Video/Source,node.name={name}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            dump = subprocess.run([shutil.which("pw-dump") or "pw-dump"], capture_output=True,
                                  text=True, timeout=20).stdout
            for obj in json.loads(dump or "[]"):
                props = (obj.get("info") or {}).get("props") or {}
                if obj.get("type", "").endswith("Node") and props.get("node.name") == name:
                    self.node_id = int(obj["id"])
                    return self.node_id
            time.sleep(0.2)
        raise RuntimeError("the PipeWire source node did not appear")

    # ------------------------------------------------------------------ methods
    def create_session(self, handle: str, session: str, app_id: str,
                       options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.sessions[session] = {"restore": None, "cursor": 0}
        return 0, {"session_id": ("s", session.rsplit("/", 1)[-1])}

    def select_sources(self, handle: str, session: str, app_id: str,
                       options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.sessions.get(session)
        if state is None:
            return 2, {}
        opts = {k: v[1] for k, v in options.items()}
        state["cursor"] = int(opts.get("cursor_mode", 0))
        state["persist"] = int(opts.get("persist_mode", 0))
        restore = opts.get("restore_data")
        if restore is not None and restore[0] == RESTORE_KEY:
            state["restore"] = restore
        return 0, {}

    def start(self, handle: str, session: str, app_id: str, parent: str,
              options: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        state = self.sessions.get(session)
        if state is None:
            return 2, {}
        if state["restore"] is None:
            self.dialogs += 1
            say(dialog=self.dialogs, cursor_mode=state["cursor"], persist_mode=state["persist"])
        node = self.start_producer()
        results: dict[str, Any] = {
            "streams": ("a(ua{sv})", [(node, {
                "size": ("(ii)", (self.size()[0], self.size()[1])),
                "source_type": ("u", 1),
                "position": ("(ii)", (0, 0)),
            })]),
        }
        if state.get("persist"):
            results["persist_mode"] = ("u", state["persist"])
            results["restore_data"] = ("(suv)", (RESTORE_KEY, 1, ("s", self.output)))
        return 0, results

    def size(self) -> tuple[int, int]:
        import struct

        with open(os.path.join(self.tmp, "screen.png"), "rb") as f:
            head = f.read(24)
        return struct.unpack(">II", head[16:24])

    # ------------------------------------------------------------------ loop
    def serve(self) -> None:
        say(ready=True)
        while True:
            msg = self.conn.receive()
            if msg.header.message_type != MessageType.method_call:
                continue
            iface = msg.header.fields.get(HeaderFields.interface)
            member = msg.header.fields.get(HeaderFields.member)
            path = msg.header.fields.get(HeaderFields.path)
            try:
                reply = self.dispatch(msg, iface, member, path)
            except Exception as exc:  # answer the frontend instead of leaving it waiting
                reply = new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", (str(exc),))
            if reply is not None:
                self.conn.send(reply)

    def dispatch(self, msg: Any, iface: str | None, member: str | None, path: str | None) -> Any:
        if iface == PROPS and member in ("Get", "GetAll"):
            values = {"AvailableSourceTypes": ("u", 1), "AvailableCursorModes": ("u", 3),
                      "version": ("u", 4)}
            if member == "Get":
                return new_method_return(msg, "v", (values[msg.body[1]],))
            return new_method_return(msg, "a{sv}", (values,))
        if iface == SCREENCAST:
            handler = {"CreateSession": self.create_session,
                       "SelectSources": self.select_sources, "Start": self.start}.get(member or "")
            if handler is not None:
                code, results = handler(*msg.body)
                return new_method_return(msg, "ua{sv}", (code, results))
        if iface == "org.freedesktop.impl.portal.Session" and member == "Close":
            self.sessions.pop(path or "", None)
            return new_method_return(msg)
        if iface == "org.freedesktop.impl.portal.Request" and member == "Close":
            return new_method_return(msg)
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),))


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below runs
    backend = Backend(sys.argv[1] if len(sys.argv) > 1 else "HEADLESS-1")
    try:
        backend.serve()
    finally:
        if backend.producer is not None:
            backend.producer.terminate()
            backend.producer.wait(5)
        shutil.rmtree(backend.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
