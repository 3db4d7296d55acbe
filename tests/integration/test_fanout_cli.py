"""``castapp send CODE CODE``: real processes in a private namespace, two receivers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(120)


def test_send_to_two_codes_casts_to_both_with_lines_for_each(tmp_path):
    with private_namespace() as ns:
        rx1 = CastProc(in_namespace(ns, []), "receive", "--headless", "--listen", "127.0.0.1:0",
                       "--admission", "open", "--state-dir", str(tmp_path / "a"))
        rx2 = None
        try:
            port = rx1.expect("service")["port"]
            url = f"ws://127.0.0.1:{port}/ws"
            code1 = rx1.expect("code")["code"]
            rx2 = CastProc(in_namespace(ns, []), "receive", "--headless", "--server", url,
                           "--admission", "open", "--state-dir", str(tmp_path / "b"))
            code2 = rx2.expect("code")["code"]
            tx = CastProc(in_namespace(ns, []), "send", "--headless", "--server", url, code1,
                          code2, "--synthetic", "640x360", "--stats", "--duration", "10")
            try:
                for rx in (rx1, rx2):
                    rx.expect("state", state="receiving", timeout=40)
                assert tx.proc.wait(60) == 0
                tx.drain()
                casting = {e["receiver"] for e in tx.seen
                           if e["event"] == "state" and e["state"] == "casting"}
                assert casting == {1, 2}
                routes = {e["receiver"] for e in tx.seen if e["event"] == "route"}
                assert routes == {1, 2}
                stats = [e for e in tx.seen if e["event"] == "stats"]
                assert {e["receiver"] for e in stats} == {1, 2}
                assert all(e["fps"] is None or e["fps"] > 5 for e in stats[2:])
            finally:
                tx.stop()
        finally:
            rx1.stop()
            if rx2 is not None:
                rx2.stop()


def test_the_same_code_twice_is_refused_in_words(tmp_path):
    with private_namespace() as ns:
        tx = CastProc(in_namespace(ns, []), "send", "--headless", "--server",
                      "ws://127.0.0.1:9/ws", "123456", "123 456", "--synthetic", "320x180")
        try:
            err = tx.expect("error", timeout=20)
            assert "twice" in err["message"]
            assert tx.proc.wait(15) == 2
        finally:
            tx.stop()
