"""Who gets on the TV: the admission mode, one-time PINs and the limit on wrong PINs.

The policy holds no connection state; the receiver session asks it what a new sender must do
(:meth:`AdmissionPolicy.first_step`), for a fresh PIN per sender attempt
(:meth:`AdmissionPolicy.issue_pin`) and to judge a typed PIN (:meth:`AdmissionPolicy.check_pin`).

PINs are single use and never leave this process except on the TV screen. Wrong answers are
limited per sender attempt (the PIN is burnt after :attr:`PinRules.tries`) and across the room
(a sender that rejoins under a new peer id to get fresh tries meets the room-wide limit), so a
4-digit PIN cannot be guessed by trying.
"""

from __future__ import annotations

import enum
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from castapp.session.room import AdmissionMode


class FirstStep(enum.Enum):
    ON_SCREEN = "on_screen"  # open: straight on
    ASK_TV = "ask_tv"  # approve: the TV allows or denies
    ASK_PIN = "ask_pin"  # pin: the sender types the PIN the TV shows


class PinVerdict(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"  # try again
    BURNT = "burnt"  # too many wrong answers for this PIN: a new one is shown
    BLOCKED = "blocked"  # too many wrong answers lately: not even read
    NO_PIN = "no_pin"  # none outstanding for this sender (already used, or never issued)


@dataclass(frozen=True)
class PinCheck:
    verdict: PinVerdict
    #: Seconds until another answer is read, with ``BLOCKED`` (and after ``BURNT``).
    retry_after_s: float = 0.0


@dataclass(frozen=True)
class PinRules:
    digits: int = 4
    #: Wrong answers allowed for one PIN before it is burnt.
    tries: int = 3
    #: After a PIN is burnt, that sender's answers are not read for this long.
    cooldown_s: float = 30.0
    #: Wrong answers allowed across the whole room within ``room_window_s``.
    room_tries: int = 10
    room_window_s: float = 300.0


@dataclass
class _Outstanding:
    pin: str
    wrong: int = 0
    blocked_until: float = 0.0


class AdmissionPolicy:
    def __init__(
        self,
        mode: AdmissionMode,
        clock: Callable[[], float],
        rules: PinRules | None = None,
        draw: Callable[[int], int] = secrets.randbelow,
    ) -> None:
        self.mode = mode
        self.rules = rules or PinRules()
        self._now = clock
        self._draw = draw
        self._pins: dict[str, _Outstanding] = {}
        self._used: deque[str] = deque(maxlen=32)  # recent PINs are not shown again soon
        self._room_wrong: deque[float] = deque()

    def first_step(self) -> FirstStep:
        return {
            AdmissionMode.OPEN: FirstStep.ON_SCREEN,
            AdmissionMode.APPROVE: FirstStep.ASK_TV,
            AdmissionMode.PIN: FirstStep.ASK_PIN,
        }[self.mode]

    # -------------------------------------------------------------- PINs
    def issue_pin(self, key: str) -> str:
        """A fresh PIN for one sender attempt (``key`` names the attempt), unlike recent ones."""
        space = 10**self.rules.digits
        while True:
            pin = f"{self._draw(space):0{self.rules.digits}d}"
            if pin not in self._used and all(o.pin != pin for o in self._pins.values()):
                break
        old = self._pins.get(key)
        self._pins[key] = _Outstanding(pin, blocked_until=old.blocked_until if old else 0.0)
        self._used.append(pin)
        return pin

    def pin_for(self, key: str) -> str | None:
        held = self._pins.get(key)
        return held.pin if held else None

    def forget(self, key: str) -> None:
        self._pins.pop(key, None)

    def check_pin(self, key: str, typed: str) -> PinCheck:
        now = self._now()
        held = self._pins.get(key)
        if held is None:
            return PinCheck(PinVerdict.NO_PIN)
        room_wait = self._room_wait(now)
        if now < held.blocked_until or room_wait > 0:
            return PinCheck(PinVerdict.BLOCKED, max(held.blocked_until - now, room_wait))
        if secrets.compare_digest(typed.encode(), held.pin.encode()):
            del self._pins[key]  # single use
            return PinCheck(PinVerdict.RIGHT)
        held.wrong += 1
        self._room_wrong.append(now)
        if held.wrong >= self.rules.tries:
            held.blocked_until = now + self.rules.cooldown_s
            return PinCheck(PinVerdict.BURNT, self.rules.cooldown_s)
        return PinCheck(PinVerdict.WRONG)

    def _room_wait(self, now: float) -> float:
        window = self.rules.room_window_s
        while self._room_wrong and now - self._room_wrong[0] > window:
            self._room_wrong.popleft()
        if len(self._room_wrong) < self.rules.room_tries:
            return 0.0
        return self._room_wrong[0] + window - now


def resume_token() -> str:
    """The secret an admitted sender presents to get its place back after reconnecting."""
    return secrets.token_urlsafe(24)
