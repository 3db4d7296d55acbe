"""Commands run as separate processes, their JSON status lines read as they come."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).parents[1]


def castapp_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class JsonProc:
    """A process printing one JSON object per line; other output is kept for messages."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None,
                 stdin: int | None = None) -> None:
        """``stdin=subprocess.PIPE`` lets :meth:`type` write lines to the process."""
        self.argv = list(argv)
        self.proc = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env=env or castapp_env())
        self.lines: Queue[dict[str, Any]] = Queue()
        self.seen: list[dict[str, Any]] = []
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                self.other.append(line)
                continue
            item["_at"] = time.time()
            self.lines.put(item)

    def expect(self, event: str, timeout: float = 20.0, **match: object) -> dict[str, Any]:
        """The next line of ``event`` matching ``match``; earlier lines are kept in ``seen``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self.lines.get(timeout=left)
            except Empty:
                break
            self.seen.append(item)
            if item.get("event") == event and all(item.get(k) == v for k, v in match.items()):
                return item
        raise AssertionError(
            f"no {event} {match} within {timeout}s; lines: "
            f"{[(s.get('event'), s.get('state') or s.get('code')) for s in self.seen[-12:]]}; "
            f"other output: {''.join(self.other)[-3000:]}")

    def type(self, line: str) -> None:
        """Write ``line`` to the process's stdin, as a person types it."""
        assert self.proc.stdin is not None, "started without stdin=subprocess.PIPE"
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def drain(self) -> list[dict[str, Any]]:
        """Lines that arrived and were not read yet."""
        out: list[dict[str, Any]] = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except Empty:
                self.seen.extend(out)
                return out

    def finish(self, timeout: float = 15.0) -> int:
        """Ask the process to stop (SIGTERM) and wait for it; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        status = self.proc.wait(timeout)
        if status != 0:  # shown with the failing test
            print(f"{self.argv} exited {status}:\n{''.join(self.other)[-3000:]}",
                  file=sys.stderr)
        return status

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class CastProc(JsonProc):
    """``castapp ARGS --json``; ``prefix`` runs it elsewhere, e.g. ``ip netns exec <ns>``."""

    def __init__(self, prefix: Sequence[str], *args: str, env: dict[str, str] | None = None,
                 json_lines: bool = True, stdin: int | None = None) -> None:
        level = os.environ.get("CASTAPP_TEST_LOG_LEVEL", "WARNING")
        quiet = () if "--log-level" in args else ("--log-level", level)
        argv = [sys.executable, "-m", "castapp", *quiet, *args]
        if json_lines:
            argv.append("--json")
        super().__init__([*prefix, *argv], env, stdin)
