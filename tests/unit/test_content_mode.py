"""Content classification from change patterns, with a fake clock; the Auto controller."""

from __future__ import annotations

import threading

import numpy as np

from castapp.rtc.change import CompareFilter
from castapp.rtc.content import AutoController, ContentClassifier, Mode, vertical_shift
from castapp.rtc.encoder import EncoderConfig, EncoderLink

W, H = 1280, 720
RNG = np.random.default_rng(5)
PAGE = np.repeat((RNG.random((2 * H, W // 4)) < 0.3).astype(np.uint8) * 180 + 30, 4, 1)


def i420(y: np.ndarray) -> np.ndarray:
    return np.concatenate([y, np.full((H // 2, W), 128, np.uint8)])


def text_screen(offset: int = 0) -> np.ndarray:
    """A page of 'text' scrolled by ``offset`` rows, under a static title bar."""
    y = np.full((H, W), 235, np.uint8)
    y[:60] = 40
    y[60:] = np.roll(PAGE, -offset, axis=0)[: H - 60]
    return y


def feed(flt: CompareFilter, clf: ContentClassifier, frames: list[np.ndarray],
         t0: float, fps: float) -> float:
    t = t0
    for y in frames:
        if flt.after_grab(i420(y)) and flt.last_change is not None:
            clf.observe(flt.last_change, now=t)
        clf.mode(now=t)
        t += 1 / fps
    return t


def test_vertical_shift_found_for_scroll_not_for_noise() -> None:
    a, b = text_screen(0), text_screen(6)
    blocks = np.ones((H // 64 + 1, W // 64), bool)
    assert vertical_shift(a, b, blocks) == 6
    # A scrolling panel plus a clock ticking in a corner: the clock stays out of the box.
    panel_a, panel_b = np.full((H, W), 235, np.uint8), np.full((H, W), 235, np.uint8)
    panel_a[200:700, 640:1280] = text_screen(0)[200:700, 0:640]
    panel_b[200:700, 640:1280] = text_screen(10)[200:700, 0:640]
    panel_b[10:40, 10:120] = 0  # the clock
    changed = np.zeros_like(blocks)
    changed[3:11, 10:20] = True
    changed[0, 0:2] = True
    assert vertical_shift(panel_a, panel_b, changed) == 10
    noise = a.copy()
    noise[200:500, 300:900] = RNG.integers(0, 255, (300, 600), dtype=np.uint8)
    assert vertical_shift(a, noise, blocks) is None


def test_scroll_then_video_then_still() -> None:
    flt, clf = CompareFilter(), ContentClassifier()
    t = feed(flt, clf, [text_screen(0)] * 30, 100.0, 30)
    assert clf.mode(now=t) is Mode.TEXT
    t = feed(flt, clf, [text_screen(4 * i) for i in range(1, 60)], t, 30)
    assert clf.mode(now=t) is Mode.SCROLL
    video = []
    for _ in range(60):
        y = text_screen(240)
        y[200:560, 320:960] = RNG.integers(0, 255, (360, 640), dtype=np.uint8)
        video.append(y)
    t = feed(flt, clf, video, t, 30)
    assert clf.mode(now=t) is Mode.MOTION
    t = feed(flt, clf, [video[-1]] * 30, t, 30)  # one second still: hysteresis holds
    assert clf.mode(now=t) is Mode.MOTION
    t = feed(flt, clf, [video[-1]] * 45, t, 30)
    assert clf.mode(now=t) is Mode.TEXT
    assert clf.switches == 3


def test_typing_and_a_blinking_cursor_stay_text() -> None:
    flt, clf = CompareFilter(), ContentClassifier()
    frames = []
    y = text_screen(0)
    for i in range(120):  # 12 characters a second typed, plus a cursor blinking at 2 Hz
        y = y.copy()
        if i % 5 == 0:
            x = 100 + 8 * (i // 5)
            y[400:416, x:x + 7] = 20
        y[400:416, 600:602] = 20 if (i // 15) % 2 else 235
        frames.append(y)
    t = feed(flt, clf, frames, 0.0, 60)
    assert clf.mode(now=t) is Mode.TEXT
    assert clf.switches == 0


class FakeSource:
    def __init__(self) -> None:
        self.fps = 60.0
        self.max_size: tuple[int, int] | None = None
        self.area = {"left": 0, "top": 0, "width": 3840, "height": 2160}


class StuckClassifier(ContentClassifier):
    def __init__(self, mode: Mode) -> None:
        super().__init__()
        self.fixed = mode

    def mode(self, now: float | None = None) -> Mode:
        return self.fixed


def encoded(link: EncoderLink, ms: float) -> None:
    """The encoder finished a (non-key) frame in ``ms``."""
    link.stats.frames += 1
    link.stats.last_ms, link.stats.last_keyframe = ms, False


def test_auto_scales_down_when_behind_and_back_up() -> None:
    link = EncoderLink(EncoderConfig(max_fps=60, auto=True))
    src = FakeSource()
    clf = StuckClassifier(Mode.MOTION)
    auto = AutoController(link, src, classifier=clf, retry_up_s=6.0)
    assert link.stats.mode == "text" and link.config.crf == 21
    t = 1000.0
    auto._changed_at = t
    # 4K motion: the screen changes 60 times a second, only 15 frames a second get out,
    # each taking the encoder 60 ms.
    for i in range(5 * 60):
        now = t + i / 60
        auto._changes.append(now)
        if i % 4 == 0:
            encoded(link, 60.0)
        auto.tick(now, sent=(i % 4 == 0))
        if auto.divisor > 1:
            break
    assert link.stats.mode == "motion" and link.config.crf == 23
    assert auto.divisor == 2 and src.max_size == (1920, 1080)
    # At half size it keeps up with 15 ms a frame: native size would need 60 ms a frame
    # again, so it stays at half size however long it keeps up.
    t = now
    for i in range(20 * 60):
        now = t + i / 60
        auto._changes.append(now)
        encoded(link, 15.0)
        auto.tick(now, sent=True)
    assert auto.divisor == 2
    # The machine got faster (1.5 ms a frame at half size): after the retry delay it tries
    # native size again.
    t = now
    for i in range(8 * 60):
        now = t + i / 60
        auto._changes.append(now)
        encoded(link, 1.5)
        auto.tick(now, sent=True)
    assert auto.divisor == 1 and src.max_size is None
    # Back to text: native size, sharp again, encode rate capped.
    clf.fixed = Mode.TEXT
    auto.tick(now + 1)
    assert link.stats.mode == "text" and link.config.crf == 21
    assert auto.min_interval_s > 0


def test_steady_1080p60_motion_keeps_its_size_through_a_busy_moment() -> None:
    """1080p60 video: 59.5 changes a second, about 54 sent, 8.75 ms an encode, and a
    0.7 s moment where the machine sends nothing. The encoder has room, so the size
    stays (each step down and back up cost an encoder rebuild and a keyframe)."""
    link = EncoderLink(EncoderConfig(max_fps=60, auto=True))
    src = FakeSource()
    src.area = {"left": 0, "top": 0, "width": 1920, "height": 1080}
    auto = AutoController(link, src, classifier=StuckClassifier(Mode.MOTION))
    t = 1000.0
    auto._changed_at = t
    for i in range(int(20 * 59.5)):
        now = t + i / 59.5
        auto._changes.append(now)
        stalled = 8.0 <= now - t < 8.7
        sent = not stalled and i % 11 != 0  # ~54 of 59.5 a second get out
        if sent:
            encoded(link, 8.75)
        auto.tick(now, sent=sent)
        assert auto.divisor == 1, f"scaled down at {now - t:.1f} s"
    assert src.max_size is None


def test_detach_gives_the_capture_its_own_scale_back() -> None:
    src = FakeSource()
    src.max_size = (1920, 1080)  # the user's own limit
    auto = AutoController(EncoderLink(EncoderConfig(auto=True)), src,
                          classifier=StuckClassifier(Mode.MOTION))
    auto._scale(3, 0.0)
    assert src.max_size == (1280, 720)
    auto.detach()
    assert src.max_size == (1920, 1080) and auto.divisor == 1


def test_slow_capture_of_motion_is_still_motion() -> None:
    """A machine that grabs 4K only 5 times a second sees a change at every grab: motion,
    so Auto may downscale; a cursor blinking at every grab stays text (tiny area)."""
    flt, clf = CompareFilter(), ContentClassifier()
    clf.capture_saturated = True  # the capture thread is busy nearly all the time
    t = 0.0
    for grabs in range(1, 21):  # 5 grabs a second for 4 s, each with a changed video region
        y = text_screen(0)
        y[200:560, 320:960] = RNG.integers(0, 255, (360, 640), dtype=np.uint8)
        if flt.after_grab(i420(y)) and flt.last_change is not None:
            clf.observe(flt.last_change, now=t)
        clf.note_grabs(grabs, now=t)
        clf.mode(now=t)
        t += 0.2
    assert clf.mode(now=t) is Mode.MOTION
    cursor, clf2 = CompareFilter(), ContentClassifier()
    clf2.capture_saturated = True
    for i in range(20):
        y = text_screen(0)
        y[400:416, 600:602] = 20 if i % 2 else 235
        if cursor.after_grab(i420(y)) and cursor.last_change is not None:
            clf2.observe(cursor.last_change, now=i * 0.2)
        clf2.note_grabs(i + 1, now=i * 0.2)
        clf2.mode(now=i * 0.2)
    assert clf2.mode(now=4.0) is Mode.TEXT
    # The same change at every grab on a machine with time to spare (DAMAGE-driven grabs
    # of a typing user): not busy.
    calm = ContentClassifier()
    flt3 = CompareFilter()
    for i in range(20):
        y = text_screen(0)
        y[200:560, 320:960] = RNG.integers(0, 255, (360, 640), dtype=np.uint8)
        if flt3.after_grab(i420(y)) and flt3.last_change is not None:
            calm.observe(flt3.last_change, now=i * 0.2)
        calm.note_grabs(i + 1, now=i * 0.2)
        calm.mode(now=i * 0.2)
    assert calm.mode(now=4.0) is Mode.TEXT


def test_scroll_and_motion_switch_without_an_encoder_rebuild() -> None:
    link = EncoderLink(EncoderConfig(max_fps=60, auto=True))
    clf = StuckClassifier(Mode.SCROLL)
    auto = AutoController(link, FakeSource(), classifier=clf)
    text_key = link.config.rebuild_key()
    auto.tick(1.0)
    scroll_key = link.config.rebuild_key()
    clf.fixed = Mode.MOTION
    auto.tick(2.0)
    assert link.stats.mode == "motion"
    assert link.config.rebuild_key() == scroll_key != text_key


def test_the_background_scroll_check_ends_with_close() -> None:
    flt = CompareFilter()
    clf = ContentClassifier(background=True)
    others = set(threading.enumerate())  # another test's workers are not this one's
    feed(flt, clf, [text_screen(0), text_screen(6), text_screen(12)], 0.0, 2.0)
    workers = [t for t in set(threading.enumerate()) - others if t.name == "castapp-content"]
    assert workers, "a scroll check ran on the worker"
    clf.close()
    for worker in workers:
        worker.join(2.0)
    assert not any(w.is_alive() for w in workers)
    # a change after close starts a new worker, which a second close ends again
    feed(flt, clf, [text_screen(18), text_screen(24)], 10.0, 2.0)
    again = [t for t in set(threading.enumerate()) - others
             if t.name == "castapp-content" and t.is_alive()]
    assert again
    clf.close()
    for worker in again:
        worker.join(2.0)
    assert not any(w.is_alive() for w in again)
