"""Keeping the TV's presenters in step: their frames arrive together, not one after another.

Each presenter's laptop captures on its own clock, so with four tiles the TV gets a frame
every 10 ms or so, one presenter after another, and wakes up for each. On a small TV box
every wake-up from idle costs more than the work it does: caches have gone cold and the
core has slowed down (measured on a 2-core machine: a 640×360 frame decoded 38 ms after
the last one costs 270 µs of CPU, right after it 58 µs). Frames that arrive together are
handled in one wake-up, warm.

A sender that captures on a fixed grid (a moving picture, the test pattern; see
``FrameSource``) can move its grid. :class:`PhaseAligner` watches when each presenter's
frames arrive, finds each one's phase on a :data:`PERIOD_S` grid (the capture rate senders
use), and asks those out of step with the first presenter to move their capture clock by
the difference (:class:`castapp.protocol.Phase`). A presenter whose frames do not keep to
the grid (a screen that changes now and then, another frame rate) is left alone; the
others keep in step with the first one that keeps to it. Clocks drift apart by parts per
million, so a presenter is asked again when it has drifted more than :data:`TOLERANCE_S`,
and no more often than every :data:`HOLD_S`, twice that after a second ask, and so on up to
:data:`MAX_HOLD_S` (a presenter that cannot move, such as a portal capture that follows the
compositor, is not asked every few seconds for ever).
"""

from __future__ import annotations

import cmath
import math
from collections import deque

#: The grid phases are measured on: senders capture at 30 frames a second unless told
#: otherwise, and a lower rate asked for a tile keeps to that grid (frames are skipped).
PERIOD_S = 1 / 30
#: Frames each presenter's phase is measured over.
WINDOW = 45
#: Fewer frames than this since the last ask: not measured yet.
MIN_FRAMES = 30
#: How closely a presenter's frames must keep to the grid to be moved: the length of the
#: mean of their phases as unit vectors. 1 is exact; 3 ms of jitter on a 33 ms grid gives
#: 0.85, 5 ms 0.64 (the phase is still known within a millisecond over 45 frames); frames
#: at random phases give about 0.15, a 60 Hz grid (two phases half a period apart) 0.
MIN_REGULARITY = 0.5
#: Out of step by more than this: asked to move.
TOLERANCE_S = 0.003
#: A presenter is asked at most this often, the wait doubling with each ask up to the most.
HOLD_S = 3.0
MAX_HOLD_S = 60.0


def wrapped(offset_s: float, period_s: float = PERIOD_S) -> float:
    """``offset_s`` brought into [-period/2, period/2)."""
    return (offset_s + period_s / 2) % period_s - period_s / 2


class PhaseAligner:
    """Arrival phases of the presenters' frames, and the moves that bring them in step."""

    def __init__(self, period_s: float = PERIOD_S, window: int = WINDOW,
                 min_frames: int = MIN_FRAMES, tolerance_s: float = TOLERANCE_S,
                 hold_s: float = HOLD_S) -> None:
        self.period_s = period_s
        self.window = window
        self.min_frames = min_frames
        self.tolerance_s = tolerance_s
        self.hold_s = hold_s
        self._arrivals: dict[str, deque[float]] = {}  # by call key, in arrival order
        self._asked_at: dict[str, float] = {}
        self._asks: dict[str, int] = {}  # by call key
        self.asked = 0
        """Moves asked for so far."""

    def frame(self, key: str, at: float) -> None:
        """A frame of presenter ``key`` arrived at ``at`` (monotonic seconds)."""
        arrivals = self._arrivals.get(key)
        if arrivals is None:
            arrivals = self._arrivals[key] = deque(maxlen=self.window)
        arrivals.append(at)

    def forget(self, key: str) -> None:
        self._arrivals.pop(key, None)
        self._asked_at.pop(key, None)
        self._asks.pop(key, None)

    def phase(self, key: str) -> tuple[float, float] | None:
        """(phase in seconds within the period, regularity 0-1) of ``key``'s frames, or None
        before enough have arrived."""
        arrivals = self._arrivals.get(key)
        if arrivals is None or len(arrivals) < self.min_frames:
            return None
        turn = 2 * math.pi / self.period_s
        mean = sum(cmath.exp(1j * ((t % self.period_s) * turn)) for t in arrivals) / len(arrivals)
        return (cmath.phase(mean) % (2 * math.pi)) / turn, abs(mean)

    def offsets(self) -> dict[str, float]:
        """Seconds each regular presenter is behind the first regular one (wrapped)."""
        ref: float | None = None
        out: dict[str, float] = {}
        for key in self._arrivals:
            measured = self.phase(key)
            if measured is None or measured[1] < MIN_REGULARITY:
                continue
            if ref is None:
                ref = measured[0]
            out[key] = wrapped(measured[0] - ref, self.period_s)
        return out

    def due(self, now: float) -> dict[str, float]:
        """The moves to ask for now: seconds each presenter's capture clock is to move
        (negative: sooner). Each one's measurement starts again after it is asked."""
        moves: dict[str, float] = {}
        if len(self._arrivals) < 2:
            return moves
        for key, behind in self.offsets().items():
            asks = self._asks.get(key, 0)
            hold = min(self.hold_s * 2 ** max(0, asks - 1), MAX_HOLD_S)
            if abs(behind) <= self.tolerance_s or now - self._asked_at.get(key, -math.inf) < hold:
                continue
            moves[key] = -behind
            self._asked_at[key] = now
            self._asks[key] = asks + 1
            self._arrivals[key].clear()  # frames from before the move say nothing of after
            self.asked += 1
        return moves
