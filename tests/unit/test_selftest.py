"""``castapp --self-test`` run from the source tree: in-process and through the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aioice.ice
import pytest

from castapp import selftest

ROOT = Path(__file__).resolve().parents[2]


async def test_a_cast_on_loopback_passes():
    original = aioice.ice.get_host_addresses
    result = await selftest.run_async(1.5, qt=False)
    assert result.ok, result.reason
    assert result.counters_read >= selftest.MIN_FRAMES
    assert result.last_counter is not None and result.first_counter is not None
    assert result.last_counter > result.first_counter
    assert (result.width, result.height) == (selftest.WIDTH, selftest.HEIGHT)
    assert result.codec and "264" in result.codec
    assert result.qt == {}
    assert "self-test passed" in result.summary()
    # the loopback restriction lasts only for the run
    assert aioice.ice.get_host_addresses is original


def test_loopback_only_offers_127_0_0_1_and_restores():
    original = aioice.ice.get_host_addresses
    with selftest.loopback_only():
        assert aioice.ice.get_host_addresses() == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=False, use_ipv6=True) == []
    assert aioice.ice.get_host_addresses is original


@pytest.mark.parametrize(
    ("counters", "problem"),
    [
        (list(range(5)), "only 5 frames"),
        ([*range(20), 19, 20], "out of order: 19 then 19"),
        ([*range(20), 3], "out of order: 19 then 3"),
    ],
)
def test_counter_check_names_the_problem(counters, problem):
    with pytest.raises(selftest.SelfTestError, match=problem):
        selftest._check_counters(counters)


def test_counter_check_accepts_gaps_and_wraparound():
    top = 1 << selftest.pattern.COUNTER_BITS
    selftest._check_counters([*range(top - 10, top), *range(0, 20, 2)])


def test_a_failure_is_reported_with_its_reason():
    result = selftest.SelfTestResult(ok=False, reason="only 3 frames arrived")
    assert result.summary() == "castapp self-test FAILED: only 3 frames arrived"
    assert json.loads(result.to_json())["ok"] is False


def test_command_prints_json_and_exits_0():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "castapp", "--self-test", "--json"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["qt"]["platform"] == "offscreen" and result["qt"]["counter"] >= 0
