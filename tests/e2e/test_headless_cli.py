"""The headless commands as separate processes in a private network namespace."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from castproc import CastProc, JsonProc, castapp_env
from netns import in_namespace, private_namespace
from xvfb import xvfb

pytestmark = pytest.mark.timeout(90)


def castapp(ns: str, *args: str) -> CastProc:
    return CastProc(in_namespace(ns, []), *args)


def castapp_json(*args: str) -> CastProc:
    return CastProc([], *args)


def test_receive_and_send_processes_cast_and_recover_from_a_killed_sender(tmp_path):
    with private_namespace() as ns:
        rx = castapp(ns, "receive", "--headless", "--admission", "open",
                         "--listen", "127.0.0.1:0", "--stats",
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


@contextmanager
def headless_tv(ns: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A headless receiver in ``open`` admission; yields its service URL and code."""
    rx = castapp(ns, "receive", "--headless", "--admission", "open", "--listen", "127.0.0.1:0",
                 "--state-dir", str(tmp_path))
    try:
        port = rx.expect("service")["port"]
        yield f"ws://127.0.0.1:{port}/ws", rx.expect("code")["code"]
    finally:
        rx.stop()


def test_send_to_a_wrong_code_says_so_once(tmp_path):
    with private_namespace() as ns, headless_tv(ns, tmp_path) as (url, code):
        wrong = "000000" if code != "000000" else "111111"
        base = ("send", "--headless", "--no-audio", "--server", url, "--synthetic", "320x240")
        tx = castapp(ns, *base, "--code", wrong)
        err = tx.expect("error")
        assert err["code"] == "unknown_code"
        assert tx.proc.wait(10) == 1
        # as a person reads it: one sentence, once
        bad = CastProc(in_namespace(ns, []), *base, wrong, json_lines=False)
        assert bad.proc.wait(20) == 1
        time.sleep(0.2)  # the reader thread takes the last lines
        said = [line for line in bad.other if "No receiver is showing this code" in line]
        assert len(said) == 1, bad.other


def test_as_a_person_reads_it_a_stopped_cast_ends_in_one_line(tmp_path):
    with private_namespace() as ns, headless_tv(ns, tmp_path) as (url, code):
        tx = CastProc(in_namespace(ns, []), "send", "--headless", "--no-audio", "--server", url,
                      "--synthetic", "320x240", "--duration", "3", code, json_lines=False)
        assert tx.proc.wait(40) == 0, tx.other
        time.sleep(0.2)
        lines = [line.strip() for line in tx.other if line.startswith("castapp: ")]
        casting = next(i for i, line in enumerate(lines) if line.startswith("castapp: Casting to "))
        assert "on screen: full" in lines[casting] and "(direct)" in lines[casting], lines
        # ... said once: not again as lines of their own right under it
        assert not any(line in ("castapp: on screen: full", "castapp: Media path: direct")
                       for line in lines[casting + 1:casting + 3]), lines
        # the end of a cast the person stopped, not the window's "type the code"
        assert lines[-1] == "castapp: The cast ended.", lines


# ---------------------------------------------------------------------- failures said
# Each failure ends the command with one sentence on stderr and a non-zero exit status,
# never a traceback, at the default log level a user runs with.
def run_castapp(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "castapp", *args], capture_output=True,
                          text=True, timeout=timeout, env=castapp_env())


def said(out: subprocess.CompletedProcess[str]) -> str:
    """The one sentence a failed command said; fails on a traceback or more sentences."""
    assert "Traceback" not in out.stderr, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("castapp: ")]
    assert len(lines) == 1, out.stderr
    return lines[0].removeprefix("castapp: ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def service(tmp_path: Path, *args: str) -> Iterator[str]:
    """A real ``castapp serve`` on a loopback port; yields its URL."""
    proc = JsonProc([sys.executable, "-m", "castapp", "--log-level", "WARNING", "serve",
                     "--port", "0", "--state-dir", str(tmp_path / "service"), *args])
    try:
        deadline = time.monotonic() + 30
        while not any("room service on" in line for line in proc.other):
            assert time.monotonic() < deadline and proc.proc.poll() is None, proc.other
            time.sleep(0.05)
        line = next(line for line in proc.other if "room service on" in line)
        yield line.split(" on ", 1)[1].strip()
    finally:
        proc.stop()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_a_monitor_that_does_not_exist_is_said_with_those_that_do(tmp_path):
    with service(tmp_path) as url, xvfb(1024, 768) as display:
        out = run_castapp("send", "--headless", "--server", url, "482913", "--monitor", "9",
                          "--display", display)
    assert out.returncode == 2  # what was asked for is not there: bad input
    assert said(out) == "Monitor 9 does not exist; this computer has 1: 1 (1024x768)."
    assert "casting" not in out.stdout.lower()


def test_a_size_the_pattern_cannot_take_is_said_not_a_traceback(tmp_path):
    from castapp.rtc.capture import SyntheticSource

    try:
        SyntheticSource(1680, 1050)
        problem = None
    except ValueError as exc:
        problem = str(exc)
    with private_namespace() as ns:
        rx = castapp(ns, "receive", "--headless", "--admission", "open", "--listen", "127.0.0.1:0",
                     "--state-dir", str(tmp_path))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            out = subprocess.run(
                in_namespace(ns, [sys.executable, "-m", "castapp", "send", "--headless",
                                  "--server", f"ws://127.0.0.1:{port}/ws", code,
                                  "--synthetic", "1680x1050", "--duration", "2"]),
                capture_output=True, text=True, timeout=60, env=castapp_env())
        finally:
            rx.stop()
    assert "Traceback" not in out.stderr, out.stderr
    if problem is None:  # the pattern takes this size: it is cast
        assert out.returncode == 0, out.stderr
        assert "Casting to" in out.stdout
    else:
        assert out.returncode == 1
        assert said(out) == f"Cannot cast a picture of 1680x1050: {problem}"


def test_a_refused_registration_ends_the_receiver_with_one_sentence(tmp_path):
    with service(tmp_path, "--registrations", "1") as url:
        first = castapp_json("receive", "--headless", "--admission", "open", "--server", url,
                             "--state-dir", str(tmp_path / "a"))
        try:
            first.expect("code")
            out = run_castapp("receive", "--headless", "--admission", "open", "--server", url,
                              "--state-dir", str(tmp_path / "b"), timeout=30)
        finally:
            first.stop()
    assert out.returncode == 1
    sentence = said(out)
    assert sentence.startswith("Too many attempts. Wait a moment and try again. (retry in ")


def test_an_unreachable_service_is_said(tmp_path):
    out = run_castapp("send", "--headless", "--server", f"ws://127.0.0.1:{free_port()}/ws",
                      "482913", "--synthetic", "320x240")
    assert out.returncode == 1
    assert said(out) == "The room service cannot be reached."


def test_an_untrusted_certificate_of_the_service_is_named_as_such(tmp_path):
    cert, key = self_signed(tmp_path)
    expected = "The room service's TLS certificate is not trusted by this computer."
    with service(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as url:
        assert url.startswith("wss://")
        started = time.monotonic()
        out = run_castapp("send", "--headless", "--server", url, "482913",
                          "--synthetic", "320x240")
        assert out.returncode == 1 and said(out) == expected
        out = run_castapp("receive", "--headless", "--admission", "open", "--server", url,
                          "--state-dir", str(tmp_path / "rx"), timeout=30)
        assert out.returncode == 1 and said(out) == expected
        assert time.monotonic() - started < 20  # said at once, not after retrying for long


def test_a_receiver_that_cannot_listen_says_where_and_why(tmp_path):
    # an address this machine does not have: binding fails, nothing is sent anywhere
    out = run_castapp("receive", "--headless", "--admission", "open", "--listen", "192.0.2.1:8765",
                      "--state-dir", str(tmp_path))
    assert out.returncode == 1
    assert said(out).startswith("Cannot start the room service on 192.0.2.1:8765: ")


def test_a_state_folder_that_cannot_be_used_is_named_as_such(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = run_castapp("receive", "--headless", "--admission", "open", "--listen",
                      "127.0.0.1:0", "--no-advertise", "--state-dir", str(blocker / "state"))
    assert out.returncode == 1
    assert said(out).startswith(f"Cannot keep this TV's code and keys in {blocker / 'state'}: ")


def test_bad_input_is_said_with_usage_status(tmp_path):
    out = run_castapp("send", "--headless", "48")
    assert out.returncode == 2
    assert said(out) == "This is not a cast code or castapp link: not a valid code"
    out = run_castapp("send", "--headless")
    assert out.returncode == 2 and said(out) == "Type the code shown on the TV."


def test_a_screen_that_goes_away_mid_cast_is_said(tmp_path):
    with private_namespace() as ns:
        rx = castapp(ns, "receive", "--headless", "--admission", "open", "--listen", "127.0.0.1:0",
                     "--state-dir", str(tmp_path))
        try:
            port = rx.expect("service")["port"]
            code = rx.expect("code")["code"]
            with xvfb(640, 480) as display:
                tx = castapp(ns, "send", "--headless", "--server", f"ws://127.0.0.1:{port}/ws",
                             code, "--display", display)
                tx.expect("state", state="casting")
            # the X server is gone: the capture fails while casting
            err = tx.expect("error", timeout=20)
            assert err["code"] == "source_failed"
            assert err["message"].startswith("Cannot capture the screen: ")
            assert tx.proc.wait(20) == 1
        finally:
            rx.stop()
    assert not any("Traceback" in line for line in tx.other), "".join(tx.other)


def test_a_recording_that_cannot_be_written_is_said_before_starting(tmp_path):
    out = run_castapp("receive", "--headless", "--admission", "open",
                      "--listen", "127.0.0.1:0", "--state-dir",
                      str(tmp_path), "--record", str(tmp_path / "missing" / "shown.mkv"))
    assert out.returncode == 2
    assert said(out) == f"Cannot record to {tmp_path / 'missing' / 'shown.mkv'}: " \
        "the folder does not exist"
    out = run_castapp("receive", "--headless", "--admission", "open",
                      "--listen", "127.0.0.1:0", "--state-dir",
                      str(tmp_path), "--record", str(tmp_path / "shown.txt"))
    assert out.returncode == 2 and "must end in .mkv, .mp4, .mov" in said(out)


def test_a_receiver_stopped_while_its_service_is_unreachable_exits_cleanly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "castapp", "receive", "--headless",
                             "--admission", "open", "--server", f"ws://127.0.0.1:{free_port()}/ws",
                             "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=castapp_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while "Room service unreachable" not in line:  # said while it retries
            assert line, proc.stderr.read() if proc.stderr else ""
            line = proc.stdout.readline()
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "never retrieved" not in err, err


def test_service_settings_that_cannot_work_are_said_before_listening(tmp_path):
    """Each of these used to start a service nobody could use (no presenter allowed, a
    heartbeat of 0 s, no message allowed) or stop with a Python error (a port past 65535)."""
    for flags, sentence in (
        (["--port", "99999"], "the port must be 0 to 65535, not 99999"),
        (["--max-senders", "0"], "a room takes 1 to 16 senders, not 0"),
        (["--max-senders", "-3"], "a room takes 1 to 16 senders, not -3"),
        (["--heartbeat", "0"], "the heartbeat interval must be more than 0 and at most 300 s"),
        (["--grace", "-5"], "the time a code stays reserved cannot be negative"),
        (["--message-rate", "0"], "at least one message per second must be allowed"),
        (["--registrations", "0"], "at least one registration per address must be allowed"),
        (["--failed-joins", "-1"], "the failed joins allowed cannot be negative"),
    ):
        out = run_castapp("serve", "--state-dir", str(tmp_path), *flags, timeout=30)
        assert "Traceback" not in out.stderr, out.stderr
        assert out.returncode == 2, (flags, out.stderr)
        assert out.stderr.strip() == f"castapp serve: {sentence}", (flags, out.stderr)


def said_lines(proc: CastProc) -> list[str]:
    return [line.strip() for line in list(proc.other) if line.startswith("castapp: ")]


def wait_said(proc: CastProc, text: str, timeout: float = 30.0, after: int = 0) -> int:
    """Wait until ``proc`` said a line containing ``text`` (past its first ``after``
    lines); returns how many lines it had said then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = said_lines(proc)
        if any(text in line for line in lines[after:]):
            return len(lines)
        time.sleep(0.1)
    raise AssertionError(f"no line with {text!r}; said: {said_lines(proc)}")


def test_a_service_restart_mid_cast_is_said_once_and_the_cast_goes_on(tmp_path):
    """The standalone room service restarts while a laptop casts: media goes on (it never
    passed through the service); the receiver does not report its presenter as leaving and
    coming back; the sender's "reachable again" names no code (it has none); no sentence is
    said twice in a row."""
    with private_namespace() as ns:
        def service() -> CastProc:
            return CastProc(in_namespace(ns, []), "serve", "--host", "127.0.0.1", "--port",
                            "8800", "--state-dir", str(tmp_path / "service"),
                            json_lines=False)

        url = "ws://127.0.0.1:8800/ws"
        sv = service()
        rx = tx = None
        try:
            time.sleep(1.5)
            rx = CastProc(in_namespace(ns, []), "receive", "--headless", "--server", url,
                          "--admission", "open", "--state-dir", str(tmp_path / "tv"),
                          json_lines=False)
            wait_said(rx, "Cast code ")
            code = next(line for line in said_lines(rx) if "Cast code " in line)[-7:]
            tx = CastProc(in_namespace(ns, []), "send", "--headless", "--no-audio",
                          "--server", url, "--synthetic", "640x360", "--name", "Ada", code,
                          json_lines=False)
            wait_said(rx, "Ada is on screen")
            before = wait_said(tx, "Casting to")
            sv.stop()
            wait_said(tx, "Room service unreachable", after=before)
            time.sleep(2)
            sv = service()
            wait_said(tx, "Room service reachable again", after=before)
            wait_said(rx, "Room service reachable again; cast code " + code)
            time.sleep(3)  # the sender joins again and resumes its place meanwhile
            assert tx.proc.poll() is None and rx.proc.poll() is None
            rx_said, tx_said = said_lines(rx), said_lines(tx)  # before anyone stops
        finally:
            for proc in (tx, rx, sv):
                if proc is not None:
                    proc.stop()
        on_screen = rx_said.index("castapp: [1] Ada is on screen")
        # the presenter's own line says it; the TV's overall line does not say it again
        assert "castapp: Ada is casting" not in rx_said, rx_said
        assert "castapp: A sender is connecting…" not in rx_said, rx_said
        assert not any("stopped presenting" in line or "is connecting" in line
                       for line in rx_said[on_screen:]), rx_said
        back = [line for line in tx_said if "reachable again" in line]
        assert back == ["castapp: Room service reachable again"], tx_said
        for lines in (rx_said, tx_said):
            assert all(a != b for a, b in itertools.pairwise(lines)), lines


def test_a_cast_without_a_sound_server_says_so_in_one_plain_sentence(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "castapp", "send", "--headless", "--synthetic", "320x240",
         "--server", "ws://127.0.0.1:1/ws", "482913"], capture_output=True, text=True,
        timeout=60, env=castapp_env(PULSE_SERVER=f"unix:{tmp_path}/no-such-socket"))
    lines = [line for line in out.stdout.splitlines() if line.startswith("castapp: ")]
    # it used to say "no sound: sound is not available on this system: no PulseAudio or
    # PipeWire sound server answered on @DEFAULT_MONITOR@; the picture is sent without it"
    assert lines[0] == ("castapp: The picture is sent without sound: no PulseAudio or "
                        "PipeWire sound server answered."), out.stdout


def test_a_person_at_a_sender_sees_castapps_lines_not_its_log(tmp_path):
    """The session's state changes and ICE checks used to be logged, timestamped, between
    the sender's own lines at the default level; they show with --log-level INFO."""
    argv = [sys.executable, "-m", "castapp", "send", "--headless", "--no-audio",
            "--synthetic", "320x240", "--server", "ws://127.0.0.1:1/ws", "482913"]
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env=castapp_env())
    assert quiet.returncode == 1
    assert " INFO " not in quiet.stderr + quiet.stdout, quiet.stderr
    assert "castapp: The room service cannot be reached." in quiet.stderr
    told = subprocess.run([*argv[:3], "--log-level", "INFO", *argv[3:]], capture_output=True,
                          text=True, timeout=60, env=castapp_env())
    assert " INFO castapp.session.machine: sender: idle -> joining" in told.stderr, told.stderr
