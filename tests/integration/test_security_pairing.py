"""A malicious room service that rewrites DTLS fingerprints cannot watch a paired cast.

Real aiortc peers in a private network namespace, paired over the cast code through
castapp's own service; in the malicious runs its relay swaps the fingerprints of the offer,
the answer or both for its own certificate's. Both ends must refuse with the tampering
message and a security log line, and the receiver must decode no frame; the honest run casts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from netns import in_namespace, private_namespace

pytestmark = pytest.mark.timeout(120)
SCRIPT = str(Path(__file__).with_name("security_cast.py"))
TAMPERED = "The connection was tampered with — not casting."


def cast(mode: str) -> tuple[dict, str]:
    with private_namespace() as ns:
        done = subprocess.run(in_namespace(ns, [sys.executable, SCRIPT, mode]),
                              capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_the_honest_service_casts():
    result, log = cast("honest")
    assert result["receiver_error"] is None and result["sender_error"] is None
    assert result["frames"] > 20, result
    assert "security:" not in log


@pytest.mark.parametrize("mode", ["offer", "answer", "both"])
def test_a_service_that_swaps_fingerprints_is_refused_by_both_ends(mode):
    result, log = cast(mode)
    assert result["rewritten"] >= 1  # the attack really happened
    assert result["receiver_error"] == TAMPERED and result["sender_error"] == TAMPERED, result
    assert result["frames"] == 0  # no frame was shown
    assert log.count("security: The connection was tampered with") >= 1


def test_a_wrong_pin_never_completes_the_pake():
    result, log = cast("wrong_pin")
    mismatch = "The code did not match; check the code on the TV and try again."
    assert result["receiver_error"] == mismatch and result["sender_error"] == mismatch, result
    assert result["frames"] == 0
    assert "tampered" not in log  # a wrong secret is not mistaken for an attack
