"""``castapp send CODE CODE``: real processes in a private namespace, two receivers."""

from __future__ import annotations

import sys
import time
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


def test_in_text_each_tv_is_said_once_and_not_after_its_cast_ended(tmp_path):
    """Two TVs each with its own room service; the second is switched off mid-cast."""
    with private_namespace() as ns:
        rxs = [CastProc(in_namespace(ns, []), "receive", "--headless", "--listen",
                        "127.0.0.1:0", "--no-advertise", "--admission", "open",
                        "--state-dir", str(tmp_path / name)) for name in ("a", "b")]
        tx = None
        try:
            links = [f"castapp://127.0.0.1:{rx.expect('service')['port']}/"
                     f"{rx.expect('code')['code']}" for rx in rxs]
            tx = CastProc(in_namespace(ns, []), "send", "--headless", *links, "--synthetic",
                          "640x360", "--duration", "12", json_lines=False)
            for rx in rxs:
                rx.expect("state", state="receiving", timeout=40)
            time.sleep(1.0)
            rxs[1].stop()  # the second TV goes away, and its room service with it
            assert tx.proc.wait(60) == 0
            lines = [line.strip() for line in tx.other]
            for n in (1, 2):
                said = [line for line in lines if line.startswith(f"castapp: TV {n}: ")]
                casting = next(i for i, line in enumerate(said) if "Casting to" in line)
                # the casting line says the route: no "Media path: direct" right after it
                assert "Media path" not in " ".join(said[casting + 1:casting + 2]), said
            tv2 = [line for line in lines if line.startswith("castapp: TV 2: ")]
            # it went on with "Room service unreachable — retrying in 1 s" for a TV whose
            # cast had ended
            assert tv2[-1] == "castapp: TV 2: The receiver ended the cast.", tv2
            assert lines[-1] == "castapp: The cast ended."  # at --duration, as one TV's does
        finally:
            if tx is not None:
                tx.stop()
            for rx in rxs:
                rx.stop()
