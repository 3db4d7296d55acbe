"""The admission policy alone: modes, PINs, single use, limits per sender and per room."""

from __future__ import annotations

import itertools

from castapp.session.admission import (
    AdmissionPolicy,
    FirstStep,
    PinRules,
    PinVerdict,
    resume_token,
)
from castapp.session.room import AdmissionMode


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_each_mode_says_what_a_new_sender_must_do() -> None:
    clock = Clock()
    steps = {m: AdmissionPolicy(m, clock).first_step() for m in AdmissionMode}
    assert steps == {AdmissionMode.OPEN: FirstStep.ON_SCREEN,
                     AdmissionMode.APPROVE: FirstStep.ASK_TV,
                     AdmissionMode.PIN: FirstStep.ASK_PIN}


def test_pins_are_fresh_four_digits_and_single_use() -> None:
    policy = AdmissionPolicy(AdmissionMode.PIN, Clock())
    pins = [policy.issue_pin(f"k{i}") for i in range(20)]
    assert all(len(pin) == 4 and pin.isdigit() for pin in pins)
    assert len(set(pins)) == 20  # never one still on screen or shown lately
    assert policy.check_pin("k0", pins[0]).verdict is PinVerdict.RIGHT
    assert policy.check_pin("k0", pins[0]).verdict is PinVerdict.NO_PIN  # used
    assert policy.check_pin("k1", pins[0]).verdict is PinVerdict.WRONG  # not its PIN
    assert policy.check_pin("nobody", "1234").verdict is PinVerdict.NO_PIN


def test_a_drawn_pin_equal_to_a_recent_one_is_drawn_again() -> None:
    draws = itertools.chain([42, 42, 42, 7], itertools.repeat(9))
    policy = AdmissionPolicy(AdmissionMode.PIN, Clock(), draw=lambda n: next(draws))
    assert policy.issue_pin("a") == "0042"
    assert policy.issue_pin("b") == "0007"


def test_too_many_wrong_answers_burn_the_pin_and_block_for_a_while() -> None:
    clock = Clock()
    policy = AdmissionPolicy(AdmissionMode.PIN, clock, PinRules(tries=3, cooldown_s=30.0))
    pin = policy.issue_pin("a")
    wrong = f"{(int(pin) + 1) % 10000:04d}"
    assert policy.check_pin("a", wrong).verdict is PinVerdict.WRONG
    assert policy.check_pin("a", wrong).verdict is PinVerdict.WRONG
    burnt = policy.check_pin("a", wrong)
    assert burnt.verdict is PinVerdict.BURNT and burnt.retry_after_s == 30.0
    fresh = policy.issue_pin("a")  # the TV shows a new one; the block stays
    assert fresh != pin
    blocked = policy.check_pin("a", fresh)
    assert blocked.verdict is PinVerdict.BLOCKED and 0 < blocked.retry_after_s <= 30.0
    clock.t += 31
    assert policy.check_pin("a", fresh).verdict is PinVerdict.RIGHT


def test_wrong_answers_across_the_room_are_limited_too() -> None:
    """A guesser rejoining under new peer ids for fresh tries meets the room-wide limit."""
    clock = Clock()
    policy = AdmissionPolicy(AdmissionMode.PIN, clock,
                             PinRules(tries=3, room_tries=5, room_window_s=60.0))
    for i in range(5):
        pin = policy.issue_pin(f"guesser{i}")
        assert policy.check_pin(f"guesser{i}", f"{(int(pin) + 1) % 10000:04d}").verdict \
            is PinVerdict.WRONG
    honest = policy.issue_pin("honest")
    assert policy.check_pin("honest", honest).verdict is PinVerdict.BLOCKED
    clock.t += 61
    assert policy.check_pin("honest", honest).verdict is PinVerdict.RIGHT


def test_resume_tokens_are_long_and_fit_the_protocol() -> None:
    token = resume_token()
    assert 16 <= len(token) <= 64 and token != resume_token()
