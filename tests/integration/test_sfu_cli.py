"""``castapp serve --sfu`` and ``castapp send --via-sfu CODE CODE``: real processes, a real
Janus, all in a private namespace."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import CastProc, castapp_env
from sfu_support import SECRET, free_port, janus_in_namespace

pytestmark = pytest.mark.timeout(60)


def wait_port(port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def test_send_via_sfu_reaches_two_receivers_with_one_upload(tmp_path):
    with janus_in_namespace(tmp_path) as janus:
        # this thread is inside the namespace: every process started here is too
        port = free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "castapp", "serve", "--port", str(port), "--state-dir",
             str(tmp_path / "svc"), "--sfu", janus.url],
            env=castapp_env(CASTAPP_SFU_SECRET=SECRET), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        procs: list[CastProc] = []
        try:
            wait_port(port)
            url = f"ws://127.0.0.1:{port}/ws"
            codes = []
            for name in ("a", "b"):
                rx = CastProc([], "receive", "--headless", "--server", url, "--admission",
                              "open", "--state-dir", str(tmp_path / name))
                procs.append(rx)
                codes.append(rx.expect("code", timeout=20)["code"])
            tx = CastProc([], "send", "--headless", "--server", url, "--via-sfu", *codes,
                          "--synthetic", "640x360", "--stats", "--duration", "8")
            procs.append(tx)
            for rx in procs[:2]:
                rx.expect("state", state="receiving", timeout=30)
            assert tx.proc.wait(40) == 0, (tx.other, janus.log_tail())
            tx.drain()
            casting = {e["receiver"] for e in tx.seen
                       if e["event"] == "state" and e["state"] == "casting"}
            assert casting == {1, 2}
            stats = [e for e in tx.seen if e["event"] == "stats"]
            assert {e["receiver"] for e in stats} == {1, 2}
            assert all(e["fps"] is None or e["fps"] > 5 for e in stats[2:]), stats
            assert any(e["kbps"] > 0 and e["width"] == 640 for e in stats), stats
        finally:
            for proc in procs:
                proc.stop()
            serve.terminate()
            serve.wait(10)


@pytest.mark.parametrize("sfu", ["none", "down"])
def test_send_via_sfu_without_a_working_sfu_says_so(tmp_path, sfu):
    with janus_in_namespace(tmp_path):
        port = free_port()
        extra = ["--sfu", f"ws://127.0.0.1:{free_port()}/"] if sfu == "down" else []
        serve = subprocess.Popen(
            [sys.executable, "-m", "castapp", "serve", "--port", str(port), "--state-dir",
             str(tmp_path / "svc"), *extra], env=castapp_env(CASTAPP_SFU_SECRET="s"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs: list[CastProc] = []
        try:
            wait_port(port)
            url = f"ws://127.0.0.1:{port}/ws"
            rx = CastProc([], "receive", "--headless", "--server", url, "--admission", "open",
                          "--state-dir", str(tmp_path / "a"))
            procs.append(rx)
            code = rx.expect("code", timeout=20)["code"]
            tx = CastProc([], "send", "--headless", "--server", url, "--via-sfu", code,
                          "--synthetic", "320x180", "--duration", "15")
            procs.append(tx)
            assert tx.proc.wait(12) != 0, "it stops at once, not at --duration"
            tx.drain()
            said = " ".join(str(e.get("message", "")) for e in tx.seen)
            expected = "runs no SFU" if sfu == "none" else "could not be reached."
            assert expected in said and "Traceback" not in said, tx.seen
            assert "Error(" not in said, tx.seen
        finally:
            for proc in procs:
                proc.stop()
            serve.terminate()
            serve.wait(10)
