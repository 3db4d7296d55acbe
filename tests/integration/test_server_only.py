"""The room service installed alone (``castapp-server``) in a fresh venv, without the desktop
app's libraries, runs ``castapp serve`` and passes the relay tests against it.

The venv lives under ``build/server-venv/`` keyed by the two pyproject files, so only a change
of dependencies builds it again (about a minute); the castapp code itself is reinstalled into it
when it changed (a few seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import test_relay
from redis_server import RedisServer, free_port

from castapp import protocol as p

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIST = ROOT / "packaging" / "server"
ABSENT = ("PySide6", "shiboken6", "aiortc", "av", "cv2", "mss", "numpy", "qasync")

pytestmark = pytest.mark.timeout(600)


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=540,
                          **kw)  # type: ignore[call-overload]  # kw holds only run() options


@pytest.fixture(scope="session")
def lean_venv() -> Path:
    """A venv with castapp-server installed from this checkout, and nothing else."""
    deps_key = _digest([ROOT / "pyproject.toml", SERVER_DIST / "pyproject.toml"])
    venv = ROOT / "build" / "server-venv" / deps_key
    python = venv / "bin" / "python"
    if not (venv / ".deps-ok").exists():
        shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(venv.parent, ignore_errors=True)  # older keys
        made = _run([sys.executable, "-m", "venv", str(venv)])
        assert made.returncode == 0, made.stderr
        done = _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                     str(SERVER_DIST)])
        assert done.returncode == 0, done.stdout + done.stderr
        (venv / ".deps-ok").write_text("ok\n")
    sources = sorted(p for p in (ROOT / "castapp").rglob("*.py") if "gui" not in p.parts)
    code_key = _digest(sources)
    stamp = venv / ".code"
    if not stamp.exists() or stamp.read_text() != code_key:
        done = _run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                     "--no-deps", "--force-reinstall", str(SERVER_DIST)])
        assert done.returncode == 0, done.stdout + done.stderr
        stamp.write_text(code_key)
    return venv


def test_the_lean_install_has_none_of_the_desktop_libraries(lean_venv: Path) -> None:
    probe = ("import importlib.util, json; "
             f"print(json.dumps([m for m in {list(ABSENT)!r} if importlib.util.find_spec(m)]))")
    done = _run([str(lean_venv / "bin" / "python"), "-c", probe], cwd="/")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    listed = _run([str(lean_venv / "bin" / "python"), "-m", "pip", "list", "--format=json"])
    names = {d["name"].lower() for d in json.loads(listed.stdout)}
    assert "castapp-server" in names
    assert not names & {"pyside6", "pyside6-essentials", "aiortc", "av", "opencv-python",
                        "opencv-python-headless", "mss", "numpy", "redis"}


def test_commands_work_or_say_what_to_install(lean_venv: Path) -> None:
    exe = str(lean_venv / "bin" / "castapp")
    helped = _run([exe, "--help"], cwd="/")
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "receive" in helped.stdout
    version = _run([exe, "--version"], cwd="/")
    assert version.returncode == 0 and re.fullmatch(r"castapp \S+\n", version.stdout)
    assert _run([exe, "serve", "--help"], cwd="/").returncode == 0
    for argv in (["receive", "--headless"], ["send", "--headless", "123456"], ["--self-test"]):
        done = _run([exe, *argv], cwd="/")
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert "pip install castapp" in done.stderr and "Traceback" not in done.stderr


@dataclass
class LeanService:
    url: str
    http: str
    proc: subprocess.Popen[str]
    log: list[str]


def _start(lean_venv: Path, state: Path, *extra: str) -> LeanService:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["CASTAPP_ROOM_KEY"] = "k" * 32
    proc = subprocess.Popen(
        [str(lean_venv / "bin" / "castapp"), "--log-level", "DEBUG", "serve", "--host",
         "127.0.0.1", "--port", str(port), "--state-dir", str(state), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd="/",
    )
    assert proc.stdout is not None
    log: list[str] = []
    for line in proc.stdout:
        log.append(line)
        if "room service on" in line:
            break
    else:
        proc.wait(10)
        pytest.fail("castapp serve did not start:\n" + "".join(log))
    reader = threading.Thread(target=lambda: log.extend(proc.stdout or ()), daemon=True)
    reader.start()
    return LeanService(f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}", proc, log)


def _stop(service: LeanService) -> None:
    service.proc.terminate()
    assert service.proc.wait(15) == 0, "".join(service.log[-20:])


@pytest.fixture(scope="module")
def lean_service(lean_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        LeanService]:
    service = _start(lean_venv, tmp_path_factory.mktemp("state"))
    yield service
    _stop(service)


RELAY_CHECKS = [
    test_relay.test_register_join_and_relay_round_trip,
    test_relay.test_sender_leaving_is_told_to_receiver_at_once,
    test_relay.test_receiver_closing_the_room_tells_senders,
    test_relay.test_senders_cannot_reach_each_other,
    test_relay.test_signal_bodies_are_relayed_unread_and_decoded_by_the_peer,
]


@pytest.mark.parametrize("check", RELAY_CHECKS, ids=lambda f: f.__name__.removeprefix("test_"))
async def test_relay_checks_pass_against_the_lean_service(lean_service, make_client, check):
    await check(lean_service, make_client)


async def test_codes_and_tokens_stay_out_of_the_lean_service_log(lean_service, make_client):
    receiver = await make_client(lean_service.url)
    sender = await make_client(lean_service.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    await receiver.close()
    await sender.next_event(5)
    text = "".join(lean_service.log)
    assert "joined room" in text  # the DEBUG log did record the pairing
    assert reg.code not in text and reg.token not in text


def test_health_and_metrics(lean_service) -> None:
    with urllib.request.urlopen(lean_service.http + "/healthz", timeout=5) as resp:
        assert resp.status == 200
    with urllib.request.urlopen(lean_service.http + "/metrics", timeout=5) as resp:
        assert "castapp_connections" in resp.read().decode()


async def test_the_lean_service_shares_rooms_through_redis(lean_venv, make_client, tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    a = _start(lean_venv, tmp_path / "a", "--redis", redis.url)
    b = _start(lean_venv, tmp_path / "b", "--redis", redis.url)
    try:
        receiver = await make_client(a.url)
        sender = await make_client(b.url)
        reg = await receiver.register()
        joined = await sender.join(reg.code)
        assert joined.receiver.peer_id == receiver.peer_id
        await sender.send_offer(receiver.peer_id, "v=0 across")
        assert isinstance(await receiver.next_event(5), p.PeerJoined)
        assert await receiver.next_event(5) == p.RelayedOffer(from_=sender.peer_id,
                                                              sdp="v=0 across")
    finally:
        _stop(a)
        _stop(b)
        redis.stop()
