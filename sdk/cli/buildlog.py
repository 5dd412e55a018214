"""How ``bento containerize`` shows the engine's build output (``--progress``).

* ``plain``: every line the engine sends.
* ``auto`` (the default): one line per Dockerfile step with the time since the build started, and
  ``(cached)`` when the engine's cache served it. On a terminal a live line under the current step shows
  its latest output (pip's progress during the Python install), overwritten in place and cleared when the
  step ends; without a terminal (CI logs) there is no live line, just one line per step.
* ``quiet``: nothing (the CLI passes no sink at all).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from typing import Callable, TextIO

_STEP = re.compile(r"^Step \d+/\d+ : ")
_CLEAR = "\r\x1b[K"


class BuildLog:
    def __init__(self, mode: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.plain = mode == "plain"
        self.live = not self.plain and self.stream.isatty()
        self.clock = clock
        self.started = clock()
        self._showing = False

    def elapsed(self) -> float:
        return self.clock() - self.started

    def _width(self) -> int:
        return max(shutil.get_terminal_size((100, 24)).columns - 1, 20)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _clear(self) -> None:
        if self._showing:
            self._write(_CLEAR)
            self._showing = False

    def status(self, text: str) -> None:
        """A preparation step of our own (copying models...)."""
        self._clear()
        self._write(f"[{self.elapsed():6.1f}s] {text}\n")

    def __call__(self, line: str) -> None:
        if self.plain:
            self._write(line)
            return
        text = line.rstrip("\n").strip()
        if _STEP.match(text):
            self._clear()
            self._write(f"[{self.elapsed():6.1f}s] {text}"[: self._width()] + "\n")
        elif text == "---> Using cache":
            self._clear()
            self._write(" " * 10 + "(cached)\n")
        elif self.live and text and not text.startswith("--->"):
            self._write(_CLEAR + (" " * 10 + text)[: self._width()])
            self._showing = True

    def close(self) -> None:
        self._clear()
