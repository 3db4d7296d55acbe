"""The Containerfile builds an image that runs ``castapp serve`` as a user, reports healthy and
stops cleanly. Built with buildah and run with podman, both from Debian.

No registry is reachable from the test machine, so the base image is made here: a Debian
bookworm root with python3 from debootstrap, imported once as ``localhost/castapp-base``.
The image is rebuilt only when the Containerfile or the service code changed. Networks: the
container runs with ``--network=none``; the health check runs inside it, on its own loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pkgbuild import ROOT

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(1500)]

BASE = "localhost/castapp-base:bookworm"
# This machine mounts cgroup v1 controllers next to a cgroup v2 tree ("hybrid"), which crun
# refuses, and its hard resource limits are below podman's default ulimits: run with runc,
# cgroupfs and no default ulimits.
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n'


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: run scripts/setup.sh as root (Debian package {tool})")
    return path


def _run(*argv: str, env: dict[str, str], timeout: float = 900,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{argv}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def engine_env() -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.fail("building and running containers here needs root")
    for tool in ("podman", "buildah", "runc", "debootstrap"):
        _need(tool)
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        yield {**os.environ, "CONTAINERS_CONF": str(conf)}


def _image_exists(name: str, env: dict[str, str]) -> bool:
    return _run("podman", "image", "exists", name, env=env, check=False).returncode == 0


def _source_key() -> str:
    h = hashlib.sha256()
    paths = [ROOT / "Containerfile", ROOT / "packaging" / "server" / "pyproject.toml"]
    paths += sorted(p for p in (ROOT / "castapp").rglob("*.py") if "gui" not in p.parts)
    for path in paths:
        h.update(path.as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:12]


@pytest.fixture(scope="module")
def image(engine_env: dict[str, str]) -> str:
    env = engine_env
    if not _image_exists(BASE, env):
        with tempfile.TemporaryDirectory(dir=ROOT / "build") as tmp:
            root = Path(tmp) / "rootfs"
            _run("debootstrap", "--variant=minbase", "--include=python3,python3-venv",
                 "bookworm", str(root), "http://deb.debian.org/debian", env=env)
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            done = subprocess.run(["podman", "import", "-", BASE], stdin=tar.stdout,
                                  capture_output=True, text=True, env=env, timeout=600)
            tar.wait()
            assert done.returncode == 0, done.stderr
    name = f"localhost/castapp-server:{_source_key()}"
    if not _image_exists(name, env):
        # this machine reaches PyPI through a proxy with its own CA: lend the build its trust
        trust = [f"-v={p}:{p}:ro" for p in ("/etc/ssl/certs/ca-certificates.crt",
                                            "/etc/pip.conf") if Path(p).exists()]
        _run("buildah", "bud", "--format", "docker", "--isolation", "chroot", *trust,
             "--build-arg", f"PYTHON_IMAGE={BASE}", "-t", name, "-f",
             str(ROOT / "Containerfile"), str(ROOT), env=env)
    return name


def test_image_runs_the_service_as_a_user_healthy_and_stops_cleanly(image, engine_env):
    env, podman = engine_env, ("podman", "--runtime", "runc")
    inspected = json.loads(_run(*podman, "image", "inspect", image, env=env).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert inspected["Healthcheck"]["Test"][-2:] == ["castapp.serve_env", "--health"]
    assert not any(e.startswith("CASTAPP_ROOM_KEY=") for e in config["Env"])

    listed = _run(*podman, "run", "--rm", "--network=none", "--entrypoint", "python3", image,
                  "-c", "import importlib.util as u, json; print(json.dumps([m for m in "
                  "('PySide6', 'aiortc', 'av', 'cv2', 'numpy') if u.find_spec(m)]))",
                  env=env)
    assert json.loads(listed.stdout) == []

    bad = _run(*podman, "run", "--rm", "--network=none", "-e", "CASTAPP_TRUST_PROXY=perhaps",
               image, env=env, check=False)
    assert bad.returncode == 2 and "CASTAPP_TRUST_PROXY" in bad.stderr  # read from the env

    name = f"castapp-test-{os.getpid()}"
    _run(*podman, "run", "-d", "--name", name, "--network=none",
         "-e", "CASTAPP_ROOM_KEY=" + "ab" * 32, "-e", "CASTAPP_MAX_SENDERS=2", image, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            health = _run(*podman, "healthcheck", "run", name, env=env, check=False)
            if health.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        logs = _run(*podman, "logs", name, env=env).stdout
        assert health.returncode == 0, logs + health.stderr
        assert "room service on" in logs
        who = _run(*podman, "exec", name, "id", "-u", env=env).stdout.strip()
        assert who == "10001"
        _run(*podman, "stop", "-t", "20", name, env=env)
        state = json.loads(_run(*podman, "inspect", name, env=env).stdout)[0]["State"]
        assert state["ExitCode"] == 0  # SIGTERM: clients told, clean exit
    finally:
        _run(*podman, "rm", "-f", name, env=env, check=False)
