"""A sender refused because the room is full hears it once, in words that fit the room
service's limit, and ``castapp send`` exits non-zero.

Real ``castapp serve`` (two senders per room), ``castapp receive --headless`` and two
``castapp send`` processes, in a private network namespace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(90)
FULL = "The room is full: no one else can present on this TV right now."


def test_a_sender_over_the_service_limit_is_told_once_and_exits_1(tmp_path: Path) -> None:
    with private_namespace() as ns:
        service = CastProc(in_namespace(ns, []), "--log-level", "INFO", "serve", "--host",
                           "127.0.0.1", "--port", "8765", "--max-senders", "1",
                           "--state-dir", str(tmp_path / "service"), json_lines=False)
        rx = tx1 = tx2 = None
        try:
            rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--admission", "open",
                          "--server", "ws://127.0.0.1:8765/ws", "--state-dir",
                          str(tmp_path / "rx"))
            code = rx.expect("code", timeout=30)["code"]
            sender = ("send", "--headless", "--no-audio", "--synthetic", "320x240",
                      "--server", "ws://127.0.0.1:8765/ws", code)
            tx1 = CastProc(in_namespace(ns, []), *sender, "--name", "Ada")
            rx.expect("call", name="Ada", timeout=30)
            tx2 = CastProc(in_namespace(ns, []), *sender, "--name", "Grace")
            status = tx2.proc.wait(30)
            tx2.drain()
            errors = [line for line in tx2.seen if line.get("event") == "error"]
            assert status == 1, tx2.other
            # one sentence, once, true whatever the service's limit is (one here)
            assert [e["code"] for e in errors] == ["room_full"], errors
            assert errors[0]["message"] == FULL
            # as a person reads it: said once
            tx3 = CastProc(in_namespace(ns, []), *sender, "--name", "Lin", json_lines=False)
            assert tx3.proc.wait(30) == 1
            tx3.proc.wait()
            said = [line for line in tx3.other if FULL in line]
            assert len(said) == 1, tx3.other
            assert "Traceback" not in "".join(tx2.other + tx3.other)
            assert tx1.proc.poll() is None  # the first one goes on
        finally:
            for proc in (tx2, tx1, rx, service):
                if proc is not None:
                    proc.stop()
