"""Moving desktop-like content for the screen-cast benchmark, drawn with tkinter.

One borderless window covers the whole X screen and is repainted at ``--fps`` (60 by
default) on an absolute schedule:

* a static "editor" window with lines of text and a title bar;
* a terminal panel (about a quarter of the screen) whose monospace text scrolls up a few
  pixels every frame, new lines appearing at the bottom;
* a small text window bouncing across the desktop;
* the wall-clock time of the repaint as a barcode (see :mod:`cast_stamp`), always on top.

Only the canvas items that change are touched, so Tk repaints just the damaged regions and
the process stays light. The first repaint prints ``{"event": "ready"}`` on stdout; on
``SIGUSR1`` it prints ``{"event": "repaints", "n": N, "t": MONOTONIC}``, the repaints that
changed something so far, so the benchmark can tell the rate the content really reached.

``--scene`` picks what moves (the stamp changes only when the scene does, so a frame's
stamp tells when the change it shows was painted):

* ``desktop`` (default): all of the above;
* ``static``: nothing moves after the first paint;
* ``typing``: a line of the editor gets one more character ``--typing-cps`` times a second;
* ``scroll``: only the terminal scrolls, at every repaint;
* ``video``: a 16:9 region (half the screen's width) of coloured blocks repainted every
  repaint, like a playing video.
"""

from __future__ import annotations

import argparse
import random
import signal
import time
import tkinter as tk

from cast_stamp import CELLS, backing_rect, cell_rect, emit, now_ms, stamp_bits, stamp_for

WORDS = (
    "frame", "encoder", "packet", "latency", "async", "await", "import", "return", "class",
    "def", "self", "yield", "capture", "display", "receiver", "sender", "session", "bitrate",
    "keyframe", "jitter", "buffer", "socket", "offer", "answer", "candidate", "codec",
    "stream", "track", "window", "pixel", "scroll", "render", "cursor",
)


def text_line(rng: random.Random, width_chars: int) -> str:
    indent = " " * (2 * rng.randrange(0, 4))
    words: list[str] = []
    length = len(indent)
    target = rng.randrange(width_chars // 3, width_chars)
    while length < target:
        word = rng.choice(WORDS)
        if rng.random() < 0.15:
            word = f"{word}({rng.randrange(1000)})"
        words.append(word)
        length += len(word) + 1
    return (indent + " ".join(words))[:width_chars]


class Content:
    def __init__(self, root: tk.Tk, width: int, height: int, fps: float, scroll_px: int,
                 scene: str = "desktop", typing_cps: float = 8.0) -> None:
        self.root = root
        self.scene = scene
        self.typing_period = 1.0 / typing_cps
        self.typed_at = 0.0
        self.width, self.height = width, height
        self.period = 1.0 / fps
        self.rng = random.Random(1)
        self.canvas = tk.Canvas(root, width=width, height=height, highlightthickness=0,
                                bd=0, bg="#2f4f6f")
        self.canvas.place(x=0, y=0)
        font_px = max(10, height // 60)
        self.line_h = round(font_px * 1.35)
        mono = ("DejaVu Sans Mono", -font_px)
        sans = ("DejaVu Sans", -font_px)

        # A static editor window on the left.
        ex0, ey0 = round(width * 0.03), round(height * 0.14)
        ex1, ey1 = round(width * 0.48), round(height * 0.92)
        c = self.canvas
        c.create_rectangle(ex0, ey0, ex1, ey1, fill="#fdfdf8", outline="#202020")
        c.create_rectangle(ex0, ey0, ex1, ey0 + self.line_h * 1.6, fill="#3a6ea5", outline="")
        c.create_text(ex0 + font_px, ey0 + self.line_h * 0.8, text="notes.txt - editor",
                      anchor="w", fill="white", font=sans)
        chars = max(10, int((ex1 - ex0) / (font_px * 0.6)) - 4)
        y = ey0 + self.line_h * 2.2
        while y < ey1 - self.line_h * 2:
            c.create_text(ex0 + font_px, y, text=text_line(self.rng, chars), anchor="w",
                          fill="#101010", font=mono)
            y += self.line_h
        self.typed_line = c.create_text(ex0 + font_px, y, text="", anchor="w",
                                        fill="#101010", font=mono)
        self.typed_chars = chars
        self.typed_source = " ".join(text_line(self.rng, chars) for _ in range(50))
        self.typed = 0

        # The scrolling terminal: a child canvas clips its own items.
        tx0, ty0 = round(width * 0.52), round(height * 0.40)
        tw, th = round(width * 0.45), round(height * 0.55)
        self.term = tk.Canvas(root, width=tw, height=th, highlightthickness=0, bd=0,
                              bg="#0c0c0c")
        self.term.place(x=tx0, y=ty0)
        self.term_h = th
        self.term_chars = max(10, int(tw / (font_px * 0.6)) - 2)
        self.scroll_px = scroll_px
        self.lines: list[int] = []
        y = 4
        while y < th + self.line_h:
            self.lines.append(self.term.create_text(
                6, y, text=text_line(self.rng, self.term_chars), anchor="nw",
                fill="#c8f0c8", font=mono))
            y += self.line_h
        self.mono = mono

        # The bouncing window: a small text window moving across the desktop.
        bw, bh = round(width * 0.28), round(height * 0.30)
        self.box_size = (bw, bh)
        self.box_pos = [width * 0.5, height * 0.2]
        self.box_vel = [width / 400, height / 330]
        bx, by = self.box_pos
        c.create_rectangle(bx, by, bx + bw, by + bh, fill="#f4eedc", outline="#402000",
                           width=2, tags="bouncer")
        c.create_rectangle(bx, by, bx + bw, by + self.line_h * 1.6, fill="#a05a2c",
                           outline="", tags="bouncer")
        c.create_text(bx + font_px, by + self.line_h * 0.8, text="castapp - moving window",
                      anchor="w", fill="white", font=sans, tags="bouncer")
        chars = max(10, int(bw / (font_px * 0.6)) - 3)
        y = by + self.line_h * 2.3
        while y < by + bh - self.line_h * 0.6:
            c.create_text(bx + font_px, y, text=text_line(self.rng, chars), anchor="w",
                          fill="#302010", font=mono, tags="bouncer")
            y += self.line_h

        # The "video": a grid of blocks recoloured at every repaint (video scene only).
        self.video: list[int] = []
        if scene == "video":
            vw = width // 2
            vh = vw * 9 // 16
            vx, vy = round(width * 0.25), round(height * 0.3)
            cols, rows = 16, 9
            for r in range(rows):
                for col in range(cols):
                    self.video.append(c.create_rectangle(
                        vx + col * vw // cols, vy + r * vh // rows,
                        vx + (col + 1) * vw // cols, vy + (r + 1) * vh // rows,
                        fill="#000000", outline=""))
        if scene != "desktop":
            c.delete("bouncer")

        # The stamp, always on top.
        c.create_rectangle(*backing_rect(height), fill="black", outline="")
        self.cells = [c.create_rectangle(*cell_rect(i, height), fill="black", outline="")
                      for i in range(CELLS)]
        self.cell_state: list[bool | None] = [None] * CELLS

        self.frames = 0
        self.repaints = 0
        self.next_at = time.monotonic()

    def _scroll(self) -> None:
        self.term.move("all", 0, -self.scroll_px)
        for item in self.lines:
            _x, y = self.term.coords(item)
            if y < -self.line_h:
                self.term.move(item, 0, len(self.lines) * self.line_h)
                self.term.itemconfigure(item, text=text_line(self.rng, self.term_chars))

    def _bounce(self) -> None:
        step = [0.0, 0.0]
        for axis, limit in ((0, self.width), (1, self.height)):
            size = self.box_size[axis]
            pos = self.box_pos[axis] + self.box_vel[axis]
            if pos < 0 or pos + size > limit:
                self.box_vel[axis] = -self.box_vel[axis]
                pos = min(max(pos, 0), limit - size)
            step[axis] = pos - self.box_pos[axis]
            self.box_pos[axis] = pos
        self.canvas.move("bouncer", *step)

    def _stamp(self) -> None:
        bits = stamp_bits(stamp_for(now_ms()))
        for i, (item, white) in enumerate(zip(self.cells, bits, strict=True)):
            if self.cell_state[i] is not white:
                self.canvas.itemconfigure(item, fill="white" if white else "black")
                self.cell_state[i] = white

    def _type(self) -> bool:
        now = time.monotonic()
        if now - self.typed_at < self.typing_period:
            return False
        self.typed_at = now
        self.typed = self.typed % self.typed_chars + 1
        start = (self.frames // 97) % 40
        self.canvas.itemconfigure(self.typed_line,
                                  text=self.typed_source[start:start + self.typed])
        return True

    def _play(self) -> None:
        rnd = self.rng.random
        for item in self.video:
            shade = int(rnd() * 0xFFFFFF)
            self.canvas.itemconfigure(item, fill=f"#{shade:06x}")

    def tick(self) -> None:
        changed = True
        if self.scene == "desktop":
            self._scroll()
            self._bounce()
        elif self.scene == "scroll":
            self._scroll()
        elif self.scene == "video":
            self._play()
        elif self.scene == "typing":
            changed = self._type()
        else:
            changed = self.frames == 0
        if changed:
            self._stamp()  # last, so the stamp is as close as possible to the repaint
            self.repaints += 1
        self.root.update_idletasks()
        self.frames += 1
        if self.frames == 1:
            emit("ready")
        self.next_at += self.period
        now = time.monotonic()
        if self.next_at < now - self.period:
            self.next_at = now  # fell behind: no burst to catch up
        delay_ms = max(0, round((self.next_at - now) * 1000))
        self.root.after(delay_ms, self.tick)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--display", required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--height", type=int, required=True)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--scene", choices=["desktop", "static", "typing", "scroll", "video"],
                    default="desktop")
    ap.add_argument("--typing-cps", type=float, default=8.0)
    ap.add_argument("--scroll-px", type=int, default=0,
                    help="terminal scroll per frame (default: height/540, at least 2)")
    args = ap.parse_args()
    root = tk.Tk(screenName=args.display)
    root.overrideredirect(True)
    root.geometry(f"{args.width}x{args.height}+0+0")
    scroll = args.scroll_px or max(2, args.height // 540)
    content = Content(root, args.width, args.height, args.fps, scroll, args.scene,
                      args.typing_cps)
    signal.signal(signal.SIGUSR1,
                  lambda *_: emit("repaints", n=content.repaints, t=time.monotonic()))
    root.after(0, content.tick)
    root.mainloop()


if __name__ == "__main__":
    main()
