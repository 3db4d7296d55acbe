"""Zero configuration on a LAN: receivers host the room service and are found by their code.

Three hosts on one bridge, each a network namespace made by the test; castapp runs as separate
processes inside them and mDNS stays inside them: the host namespace's multicast counter must
not move.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc, JsonProc
from netns import bridged_lan, in_namespace, multicast_sent

pytestmark = pytest.mark.timeout(120)
PROBE = str(Path(__file__).with_name("mdns_probe.py"))


def probe(ns: str, *args: str) -> JsonProc:
    return JsonProc(in_namespace(ns, [sys.executable, PROBE, *args]))


def castapp(ns: str, *args: str, json_lines: bool = True) -> CastProc:
    return CastProc(in_namespace(ns, []), *args, json_lines=json_lines)


def receiver(ns: str, state: Path, *args: str) -> CastProc:
    return castapp(ns, "receive", "--headless", "--admission", "open",
                       "--state-dir", str(state), *args)


@pytest.fixture
def lan() -> Iterator[list[str]]:
    """Three hosts on a bridge; fails if any multicast left from the host namespace."""
    before = multicast_sent()
    with bridged_lan(3) as hosts:
        yield hosts
        # mDNS did happen, in the namespaces: the check below is not vacuous
        assert sum(multicast_sent(ns) for ns in hosts) > 0
    assert multicast_sent() == before, "multicast was sent from the host namespace"
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in names for ns in hosts)


def started(rx: CastProc) -> tuple[str, dict]:
    """Wait until a receiver shows its code and is advertised; its code and help line."""
    code = rx.expect("code")["code"]
    help_line = rx.expect("help")
    assert rx.expect("advert")["advertised"] is True
    return code, help_line


def test_sender_finds_receiver_by_code_and_casts(lan, tmp_path):
    h1, h2, _ = lan
    rx = receiver(h1, tmp_path, "--stats")
    try:
        service = rx.expect("service")
        assert (service["address"], service["port"]) == ("10.10.0.11", 8765)
        code, help_line = started(rx)
        assert help_line["link"] == f"http://10.10.0.11:8765/#{code}"
        tx = castapp(h2, "send", "--headless", f"{code[:3]} {code[3:]}",
                          "--synthetic", "640x360", "--fps", "30", "--stats")
        try:
            found = tx.expect("found")
            assert (found["host"], found["port"]) == ("10.10.0.11", 8765)
            tx.expect("state", state="casting")
            rx.expect("state", state="receiving")
            stats = [rx.expect("stats") for _ in range(2)][-1]
            assert stats["fps"] > 10 and (stats["width"], stats["height"]) == (640, 360)
            assert stats["path"] == "host"
            assert tx.expect("stats")["path"] == "host"
        finally:
            tx.stop()
        rx.expect("state", state="waiting", timeout=30)
    finally:
        status = rx.finish()
    assert status == 0


def test_two_receivers_are_told_apart_by_code(lan, tmp_path):
    h1, h2, h3 = lan
    receivers = [receiver(h1, tmp_path / "a"), receiver(h2, tmp_path / "b")]
    try:
        ports = [rx.expect("service")["port"] for rx in receivers]
        receivers.append(receiver(h1, tmp_path / "c"))  # a second one on the same machine
        ports.append(receivers[2].expect("service")["port"])
        assert ports[:2] == [8765, 8765]
        assert ports[2] not in (0, 8765)  # 8765 was taken on that machine: any free port
        codes = [started(rx)[0] for rx in receivers]
        assert len(set(codes)) == 3
        for i in (2, 1, 0):
            tx = castapp(h3, "send", "--headless", codes[i], "--synthetic", "320x240",
                              "--duration", "2")
            try:
                found = tx.expect("found")
                assert (found["host"], found["port"]) == (f"10.10.0.1{1 if i != 1 else 2}",
                                                          ports[i])
                tx.expect("state", state="casting")
                receivers[i].expect("state", state="receiving")
                assert tx.proc.wait(20) == 0
            finally:
                tx.stop()
    finally:
        statuses = [rx.finish() for rx in receivers]
    assert statuses == [0, 0, 0]


def test_receiver_that_quits_disappears(lan, tmp_path):
    h1, h2, h3 = lan
    watcher = probe(h3, "watch")
    rx = receiver(h1, tmp_path)
    try:
        watcher.expect("watching")
        code, _ = started(rx)
        added = watcher.expect("added")
        assert probe(h2, "find", code).expect("result")["found"] is True
        assert rx.finish() == 0
        # goodbye packets: a browser forgets it at once, not when its records expire
        assert watcher.expect("removed", timeout=5)["name"] == added["name"]
        gone = probe(h2, "find", code, "3").expect("result")
        assert gone["found"] is False and gone["reason"] == "no_answer"
        assert gone["seen"] == 0 and gone["elapsed"] < 4
        tx = castapp(h2, "send", "--headless", code, "--synthetic", "320x240")
        err = tx.expect("error")
        assert err["code"] == "not_found" and err["reason"] == "no_answer"
        assert tx.proc.wait(10) == 1
    finally:
        rx.stop()
        watcher.stop()
    assert rx.proc.returncode == 0


def test_receiver_on_a_standalone_service_does_not_advertise(lan, tmp_path):
    h1, h2, h3 = lan
    service = castapp(h3, "serve", "--host", "10.10.0.13", "--state-dir",
                      str(tmp_path / "service"), json_lines=False)
    standalone = receiver(h1, tmp_path / "a", "--server", "ws://10.10.0.13:8765/ws")
    control = receiver(h2, tmp_path / "b")  # an embedded one: proves browsing works here
    try:
        code = standalone.expect("code")["code"]
        # the link to show is the standalone service's (the same as the window's QR code)
        assert standalone.expect("help")["link"] == f"http://10.10.0.13:8765/#{code}"
        standalone.expect("state", state="waiting")
        started(control)
        adverts = probe(h3, "list", "3").expect("adverts")["adverts"]
        assert [a["addresses"] for a in adverts] == [["10.10.0.12"]]
        assert all(code not in str(a) for a in adverts)
        missing = probe(h3, "find", code).expect("result")
        assert missing["found"] is False and missing["seen"] == 1
        # its code works through the service's address, given as a link
        tx = castapp(h2, "send", "--headless", f"castapp://10.10.0.13:8765/{code}",
                          "--synthetic", "320x240", "--duration", "2")
        try:
            tx.expect("state", state="casting")
            standalone.expect("state", state="receiving")
            assert tx.proc.wait(20) == 0
        finally:
            tx.stop()
    finally:
        statuses = [rx.finish() for rx in (standalone, control)]
        service.stop()
    assert statuses == [0, 0]


def test_hostile_adverts_are_not_taken_for_a_receiver(lan, tmp_path):
    h1, h2, h3 = lan
    # 60 fakes: more than any cap on adverts a browse would look at
    hostile = probe(h3, "hostile", "8765", "60")
    try:
        ready = hostile.expect("ready", timeout=60)
        assert (ready["records"], ready["fakes"]) == (7, 60)
        # malformed, old-scheme, newer-protocol and fake records: nothing is found, the
        # newer one is named, and the fakes only cost time
        result = probe(h2, "find", "135 790").expect("result", timeout=30)
        assert result["found"] is False and result["reason"] == "incompatible"
        assert result["name"] == "future" and result["version"] == 99
        assert result["seen"] >= 61
        assert result["elapsed"] < 3 + 10 + 1
        rx = receiver(h1, tmp_path)
        try:
            code, _ = started(rx)
            found = probe(h2, "find", code).expect("result", timeout=30)
            assert found["found"] is True and found["host"] == "10.10.0.11"
        finally:
            status = rx.finish()
        assert status == 0
    finally:
        hostile.stop()
