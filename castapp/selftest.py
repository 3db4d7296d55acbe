"""``castapp --self-test``: a whole cast inside one process, on loopback only.

Starts an embedded room service on ``127.0.0.1`` (any free port), casts a synthetic test
pattern with a real sender session to a real receiver session for a few seconds and
checks that frames arrive with increasing pattern counters. Every build runs it as its
smoke test: it exercises the room service, WebRTC (ICE, DTLS, SRTP), the H.264 encoder and
decoder. When PySide6 is importable it also shows the received frames in the video widget
on Qt's offscreen platform, which proves the bundled Qt plugins load.

ICE is restricted to the loopback interface for the run (aioice otherwise offers only
the machine's network addresses) and no STUN or TURN servers are used, so nothing leaves
the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import aioice.ice

from castapp.rtc import pattern
from castapp.rtc.capture import SyntheticSource
from castapp.rtc.receive import ReceivedFrame
from castapp.session.receiver import ReceiverSession, ReceiverState
from castapp.session.sender import SenderSession, SenderState
from castapp.signaling.rooms import RoomConfig
from castapp.signaling.server import RoomServer, ServiceConfig
from castapp.signaling.tokens import TokenSigner
from castapp.signaling.turn import IceConfig

WIDTH, HEIGHT, FPS = 640, 360, 30.0
#: Fewest frames with a readable counter a few seconds of casting must deliver.
MIN_FRAMES = 15

T = TypeVar("T")


class SelfTestError(Exception):
    """A step of the self-test failed; the message says which and why."""


@dataclass
class SelfTestResult:
    ok: bool
    reason: str = ""
    frames: int = 0
    counters_read: int = 0
    first_counter: int | None = None
    last_counter: int | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    connect_s: float | None = None
    elapsed_s: float = 0.0
    qt: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def summary(self) -> str:
        if not self.ok:
            return f"castapp self-test FAILED: {self.reason}"
        lines = [
            f"castapp self-test passed in {self.elapsed_s:.1f} s",
            f"  cast: {self.frames} frames {self.width}x{self.height} {self.codec or '?'}, "
            f"counters {self.first_counter}..{self.last_counter} increasing, "
            f"connected in {self.connect_s:.2f} s",
        ]
        if self.qt:
            lines.append("  qt: " + ", ".join(f"{k}={v}" for k, v in sorted(self.qt.items())))
        return "\n".join(lines)


def _loopback_addresses(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """ICE host candidates on 127.0.0.1 only, for the duration of the block."""
    saved = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = _loopback_addresses
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = saved


class _Screen:
    """Collects received frames and the counters read from them."""

    def __init__(self, keep: int = 3) -> None:
        self.frames = 0
        self.counters: list[int] = []
        self.size: tuple[int, int] | None = None
        self.last: list[Any] = []  # a few decoded frames for the video widget check
        self._keep = keep
        self.arrived = asyncio.Event()

    def __call__(self, received: ReceivedFrame) -> None:
        self.frames += 1
        self.size = (received.width, received.height)
        value = pattern.read_counter(received.frame.to_ndarray(format="gray"))
        if value is not None:
            self.counters.append(value)
        self.last = [*self.last, received.frame][-self._keep:]
        self.arrived.set()


async def _step(what: str, aw: Awaitable[T], timeout: float) -> T:
    try:
        return await asyncio.wait_for(aw, timeout)
    except TimeoutError as exc:
        raise SelfTestError(f"{what}: no answer within {timeout:.0f} s") from exc
    except SelfTestError:
        raise
    except Exception as exc:  # broad: the self-test reports whatever a step hits, as its result
        raise SelfTestError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _check_counters(counters: list[int]) -> None:
    if len(counters) < MIN_FRAMES:
        raise SelfTestError(
            f"only {len(counters)} frames with a readable pattern arrived (need {MIN_FRAMES})"
        )
    wrapped = 1 << pattern.COUNTER_BITS
    for a, b in itertools.pairwise(counters):
        if (b - a) % wrapped == 0 or (b - a) % wrapped > wrapped // 2:
            raise SelfTestError(f"pattern counters out of order: {a} then {b}")


async def _cast(result: SelfTestResult, duration_s: float, screen: _Screen) -> None:
    rooms = RoomConfig(ice=IceConfig())  # no STUN, no TURN: host candidates only
    server = RoomServer(ServiceConfig(host="127.0.0.1", port=0, rooms=rooms),
                        TokenSigner(secrets.token_bytes(32)))
    source = SyntheticSource(WIDTH, HEIGHT, fps=FPS)
    receiver: ReceiverSession | None = None
    sender: SenderSession | None = None
    try:
        await _step("starting the room service", server.start(), 5)
        receiver = ReceiverSession(server.url, name="Self-test receiver", on_frame=screen)
        sender = SenderSession(server.url, source, name="Self-test sender")
        status = await _step("registering the receiver", receiver.start(), 5)
        started = time.monotonic()
        await _step("joining the receiver's room", sender.cast(status.code or ""), 5)
        await _step("connecting the peers", sender.wait_for(SenderState.CASTING, 10), 11)
        await _step("receiving the first frame", screen.arrived.wait(), 5)
        result.connect_s = round(time.monotonic() - started, 3)
        await _step("showing the cast", receiver.wait_for(ReceiverState.RECEIVING, 5), 6)
        await asyncio.sleep(duration_s)
        stats = await sender.stats()
        result.codec = stats.codec if stats is not None else None
    finally:
        if sender is not None:
            await sender.close()
        source.stop()
        if receiver is not None:
            await receiver.stop()
        await server.stop()


def _qt_check(frames: list[Any]) -> dict[str, Any]:
    from castapp.gui.selftest_view import check_video_path

    return check_video_path(frames)


def qt_available() -> bool:
    return importlib.util.find_spec("PySide6") is not None


async def run_async(duration_s: float = 3.0, *, qt: bool | None = None) -> SelfTestResult:
    """Run the self-test in the current event loop; never raises for a failed check."""
    started = time.monotonic()
    result = SelfTestResult(ok=False)
    screen = _Screen()
    try:
        with loopback_only():
            await _cast(result, duration_s, screen)
        result.frames = screen.frames
        result.counters_read = len(screen.counters)
        if screen.counters:
            result.first_counter, result.last_counter = screen.counters[0], screen.counters[-1]
        if screen.size is not None:
            result.width, result.height = screen.size
        if screen.size != (WIDTH, HEIGHT):
            raise SelfTestError(f"frames arrived at {screen.size}, sent at {(WIDTH, HEIGHT)}")
        _check_counters(screen.counters)
        if qt if qt is not None else qt_available():
            try:
                result.qt = _qt_check(screen.last)
            except Exception as exc:  # broad: the self-test reports whatever Qt hits
                raise SelfTestError(f"showing frames with Qt: {type(exc).__name__}: {exc}") from exc
        result.ok = True
    except SelfTestError as exc:
        result.reason = str(exc)
    result.elapsed_s = round(time.monotonic() - started, 3)
    return result


def run(
    duration_s: float = 3.0, *, timeout_s: float = 20.0, qt: bool | None = None
) -> SelfTestResult:
    """Run the self-test in a new event loop, bounded by ``timeout_s``."""

    async def bounded() -> SelfTestResult:
        try:
            return await asyncio.wait_for(run_async(duration_s, qt=qt), timeout_s)
        except TimeoutError:
            return SelfTestResult(ok=False, reason=f"did not finish within {timeout_s:.0f} s",
                                  elapsed_s=timeout_s)

    return asyncio.run(bounded())


def main(as_json: bool = False, out: Callable[[str], None] | None = None) -> int:
    """Run it, print the result; 0 when it passed, 1 otherwise."""
    result = run()
    write = out or (lambda text: print(text, file=sys.stdout if result.ok else sys.stderr))
    write(result.to_json() if as_json else result.summary())
    return 0 if result.ok else 1
