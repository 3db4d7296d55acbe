"""``castapp receive --headless`` as a meeting-room TV: presenters said as lines, commands typed.

A real receiver process (its own room service) and real ``castapp send`` processes in a
private network namespace; the TV's commands go to the receiver's stdin as a person would
type them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(120)


def tv(ns: str, tmp_path: Path, *args: str) -> CastProc:
    return CastProc(in_namespace(ns, []), "receive", "--headless", "--listen", "127.0.0.1:0",
                    "--no-advertise", "--state-dir", str(tmp_path / "tv"), *args,
                    stdin=subprocess.PIPE)


def sender(ns: str, port: int, code: str, name: str, *more: str,
           json_lines: bool = True) -> CastProc:
    return CastProc(in_namespace(ns, []), "send", "--headless", "--server",
                    f"ws://127.0.0.1:{port}/ws", "--code", code, "--synthetic", "320x240",
                    "--fps", "10", "--name", name, *more, json_lines=json_lines)


def said(proc: CastProc) -> list[str]:
    return [line.strip() for line in proc.other if line.startswith("castapp: ")]


def test_approve_on_a_headless_tv_allow_deny_and_stop_typed_on_stdin(tmp_path):
    with private_namespace() as ns:
        rx = tv(ns, tmp_path, "--admission", "approve")
        senders: list[CastProc] = []
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            rx.expect("help")  # how to send
            ada = sender(ns, port, code, "Ada", json_lines=False)  # as a person reads it
            senders.append(ada)
            asking = rx.expect("call", name="Ada", phase="asking", timeout=30)
            assert asking["n"] == 1
            rx.type("allow 1")
            rx.expect("call", name="Ada", phase="showing", timeout=40)
            bob = sender(ns, port, code, "Bob", json_lines=False)
            senders.append(bob)
            rx.expect("call", name="Bob", phase="asking", timeout=30)
            rx.type("deny bob")
            rx.expect("call", name="Bob", phase="ended", timeout=20)
            assert bob.proc.wait(20) != 0  # the TV said no: a non-zero exit
            rx.type("stop Ada")
            rx.expect("call", name="Ada", phase="ended", timeout=20)
            assert ada.proc.wait(20) != 0
            # each said once, as the last line (it used to come twice and then "Type the
            # code shown on the TV.")
            for who, end in ((bob, "castapp: The TV said no."),
                             (ada, "castapp: The TV stopped your cast.")):
                lines = said(who)
                assert lines[-1] == end and lines.count(end) == 1, lines
            rx.type("allow 7")
            assert rx.expect("command", ok=False)["command"] == "allow"
        finally:
            for s in senders:
                s.stop()
            rx.finish()


def test_pin_on_a_headless_tv_is_read_by_the_presenter_and_typed_in(tmp_path):
    with private_namespace() as ns:
        rx = tv(ns, tmp_path, "--admission", "pin")
        lin: CastProc | None = None
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            lin = CastProc(in_namespace(ns, []), "send", "--headless", "--server",
                           f"ws://127.0.0.1:{port}/ws", "--code", code, "--synthetic",
                           "320x240", "--fps", "10", "--name", "Linus", stdin=subprocess.PIPE)
            pin = rx.expect("call", name="Linus", phase="pin", timeout=30)["pin"]
            assert len(pin) == 4 and pin.isdigit()
            lin.expect("admitting", pin=True, timeout=20)
            lin.type("four")  # not digits: said at once, nothing tried, asked again
            lin.expect("admitting", pin=True, problem="not_a_pin", timeout=20)
            time.sleep(1.0)
            assert not [c for c in rx.drain() if c.get("event") == "call"]  # the same PIN
            assert not [line for line in lin.other if "Task exception" in line], lin.other
            lin.type("0000" if pin != "0000" else "1111")
            lin.expect("state", state="admitting", timeout=20)  # refused: asked again
            assert not any(c.get("phase") == "showing" for c in rx.drain()
                           if c.get("event") == "call")
            pin = next((c["pin"] for c in reversed(rx.seen)
                        if c.get("event") == "call" and c.get("pin")), pin)  # a new one, if so
            lin.type(pin)
            rx.expect("call", name="Linus", phase="showing", timeout=40)
            lin.expect("state", state="casting", timeout=20)
        finally:
            if lin is not None:
                lin.stop()
            rx.finish()
