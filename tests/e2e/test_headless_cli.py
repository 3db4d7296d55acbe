"""The headless commands as separate processes in a private network namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(90)


def castapp(ns: str, *args: str) -> CastProc:
    return CastProc(in_namespace(ns, []), *args)


def test_receive_and_send_processes_cast_and_recover_from_a_killed_sender(tmp_path):
    with private_namespace() as ns:
        rx = castapp(ns, "receive", "--headless", "--listen", "127.0.0.1:0", "--stats",
                  "--state-dir", str(tmp_path), "--record", str(tmp_path / "shown.mkv"))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            rx.expect("state", state="waiting")
            url = f"ws://127.0.0.1:{port}/ws"
            tx = castapp(ns, "send", "--headless", "--server", url,
                         "--code", f"{code[:3]} {code[3:]}",
                         "--synthetic", "640x360", "--fps", "30", "--stats")
            try:
                tx.expect("state", state="casting")
                rx.expect("state", state="receiving")
                stats = rx.expect("stats")
                stats = rx.expect("stats")
                assert stats["fps"] > 10 and stats["codec"] == "video/H264"
                assert (stats["width"], stats["height"]) == (640, 360)
                assert stats["path"] == "host"
                sent = [tx.expect("stats") for _ in range(4)]
                assert all(s["path"] == "host" for s in sent)
                assert any(s["rtt_ms"] is not None for s in sent)
                assert sent[-1]["fps"] > 10
                tx.proc.kill()  # the laptop dies without a word
            finally:
                tx.stop()
            rx.expect("state", state="waiting", timeout=30)
            # a new sender can cast again with the same code
            tx2 = castapp(ns, "send", "--headless", "--server", url, "--code", code,
                       "--synthetic", "320x240", "--duration", "3")
            try:
                tx2.expect("state", state="casting")
                rx.expect("state", state="receiving")
                assert tx2.proc.wait(20) == 0
            finally:
                tx2.stop()
        finally:
            rx.stop()
        assert rx.proc.returncode == 0
        recorded = tmp_path / "shown.mkv"
        assert recorded.exists() and recorded.stat().st_size > 1000
        # the receiver's token is kept for the next start (and only the owner may read it)
        assert (tmp_path / "receiver-token").stat().st_mode & 0o777 == 0o600


def test_send_to_a_wrong_code_says_so(tmp_path):
    with private_namespace() as ns:
        rx = castapp(ns, "receive", "--headless", "--listen", "127.0.0.1:0",
                  "--state-dir", str(tmp_path))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            wrong = "000000" if code != "000000" else "111111"
            tx = castapp(ns, "send", "--headless", "--server", f"ws://127.0.0.1:{port}/ws",
                      "--code", wrong, "--synthetic", "320x240")
            err = tx.expect("error")
            assert err["code"] == "unknown_code"
            assert tx.proc.wait(10) == 1
        finally:
            rx.stop()
