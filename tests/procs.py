"""Processes started inside test namespaces whose JSON status lines are read as they come."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

from netns import in_namespace

ROOT = Path(__file__).parents[1]


class Proc:
    """A process in namespace ``ns`` printing one JSON object per line."""

    def __init__(self, ns: str, argv: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.proc = subprocess.Popen(in_namespace(ns, argv), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: Queue[dict] = Queue()
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def castapp(cls, ns: str, *args: str) -> Proc:
        return cls(ns, [sys.executable, "-m", "castapp", "--log-level", "WARNING", *args,
                        "--json"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                self.other.append(line)

    def expect(self, event: str, timeout: float = 20.0, **match: object) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.lines.get(timeout=left)
            except Empty:
                break
            if item.get("event") == event and all(item.get(k) == v for k, v in match.items()):
                return item
        raise AssertionError(f"no {event} {match} within {timeout}s; other output: "
                             f"{''.join(self.other)[-2000:]}")

    def finish(self, timeout: float = 15.0) -> int:
        """Ask the process to stop (SIGTERM) and wait for it; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        status = self.proc.wait(timeout)
        if status != 0:  # shown with the failing test
            print(f"{self.proc.args} exited {status}:\n{''.join(self.other)[-3000:]}",
                  file=sys.stderr)
        return status

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
