"""Garbage holding Qt objects is freed on the window thread, whoever allocates."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject, QTimer

from castapp.gui.collector import MainThreadCollector


class Cycle(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.me = self  # unreachable once dropped, until a cycle collection
        self.timer = QTimer(self)
        self.timer.start(50)


def test_qt_garbage_made_on_the_window_thread_is_collected_there(qapp, qtbot):
    assert not gc.isenabled(), "the collector turned automatic collection off"
    freed_on: list[str] = []
    refs = [weakref.ref(Cycle(), lambda _r: freed_on.append(threading.current_thread().name))
            for _ in range(20)]
    assert all(ref() is not None for ref in refs)

    def allocate() -> None:  # far more than a generation's threshold, as a capture thread does
        junk = []
        for i in range(50_000):
            pair: list[object] = [i]
            pair.append(pair)
            junk.append(pair)
        del junk

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert freed_on == [], "nothing was collected on the worker"
    qtbot.waitUntil(lambda: len(freed_on) == 20, timeout=5000)
    assert set(freed_on) == {threading.main_thread().name}


def test_collections_follow_the_thresholds(qapp):
    collector = MainThreadCollector(interval_ms=10_000)
    try:
        gc.collect()
        collector.check()
        assert collector.collections == 0, "nothing to do below the threshold"
        junk = [[] for _ in range(gc.get_threshold()[0] + 10)]
        collector.check()
        assert collector.collections == 1 and gc.get_count()[0] < len(junk)
    finally:
        collector.stop()
        gc.disable()  # the session's collector still runs
