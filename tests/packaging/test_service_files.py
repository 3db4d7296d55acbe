"""The operator's files: the container recipe passes hadolint, the systemd unit passes
systemd-analyze with a low exposure score, and serve options read from the environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pkgbuild import ROOT

from castapp.serve_env import argv_from_env, env_name

UNIT = ROOT / "packaging" / "systemd" / "castapp-serve@.service"


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is missing: run scripts/setup.sh (make setup)")
    return found


def test_containerfile_passes_hadolint() -> None:
    done = subprocess.run([_tool("hadolint"), "--failure-threshold", "info",
                           str(ROOT / "Containerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_container_runs_as_a_user_with_a_health_check() -> None:
    text = (ROOT / "Containerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001", final, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*castapp\.serve_env\", \"--health\"", final, re.M)
    assert "CASTAPP_ROOM_KEY" not in final.split("ENV", 1)[1]  # no secret baked in


def test_systemd_unit_verifies_and_is_sandboxed(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    castapp = shutil.which("castapp", path=str(Path(sys.executable).parent))
    assert castapp is not None
    unit = tmp_path / "castapp-serve@8801.service"
    # the packaged path and manual page do not exist on a development machine
    text = UNIT.read_text().replace("/usr/bin/castapp", castapp)
    unit.write_text(re.sub(r"^Documentation=.*\n", "", text, flags=re.M))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    score = subprocess.run([analyze, "security", "--offline=true", str(unit)],
                           capture_output=True, text=True)
    level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", score.stdout + score.stderr)
    assert level is not None, score.stdout + score.stderr
    assert float(level.group(1)) <= 2.0, score.stdout


def test_every_serve_option_has_an_environment_name() -> None:
    env = {"CASTAPP_HOST": "0.0.0.0", "CASTAPP_PORT": "9000", "CASTAPP_TRUST_PROXY": "yes",
           "CASTAPP_TURN": "turn:a.example:3478 turns:a.example:5349",
           "CASTAPP_MAX_SENDERS": "2", "CASTAPP_REDIS": "redis://not-taken-from-here",
           "CASTAPP_TURN_SECRET": "kept in the environment"}
    assert argv_from_env(env) == [
        "--host", "0.0.0.0", "--port", "9000", "--turn", "turn:a.example:3478",
        "--turn", "turns:a.example:5349", "--max-senders", "2", "--trust-proxy"]
    assert argv_from_env({"CASTAPP_TRUST_PROXY": "0"}) == []
    assert env_name("--instance-ttl") == "CASTAPP_INSTANCE_TTL"
    with pytest.raises(ValueError, match="CASTAPP_TRUST_PROXY"):
        argv_from_env({"CASTAPP_TRUST_PROXY": "perhaps"})


def test_serve_env_runs_the_service_and_answers_the_health_check(tmp_path: Path) -> None:
    from redis_server import free_port

    port = str(free_port())
    env = {"PATH": "/usr/bin:/bin", "CASTAPP_HOST": "127.0.0.1", "CASTAPP_PORT": port,
           "CASTAPP_STATE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "castapp.serve_env"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        seen = ""
        while "room service on" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        assert f"ws://127.0.0.1:{port}/ws" in seen, seen
        ok = subprocess.run([sys.executable, "-m", "castapp.serve_env", "--health"], env=env,
                            capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stderr
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
    down = subprocess.run([sys.executable, "-m", "castapp.serve_env", "--health"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "healthz" in down.stderr
