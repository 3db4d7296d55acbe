"""Python's cycle collector, run on the window thread only.

Left to itself, the collector runs in whichever thread happens to allocate when a
generation fills up: a capture, encoder or sound thread. If the garbage it finds holds a Qt
object (a widget or timer in a reference cycle), that object is destroyed on the wrong
thread; Qt cannot stop its timers from there, and the next tick of such a timer crashes the
app. So the app turns automatic collection off and collects from a timer on the window
thread, with Python's own thresholds, a few times a second.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.collections = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        """Collect the youngest generation whose count passed its threshold (with the
        younger ones), as Python would have on allocation."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        for generation in (2, 1, 0):
            if thresholds[generation] and counts[generation] > thresholds[generation]:
                gc.collect(generation)
                self.collections += 1
                return

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
