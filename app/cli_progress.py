"""A one-line terminal progress display for core jobs (no Qt)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from app.core.base.events import Progress
from app.core.base.units import duration, human_bytes, speed


class TerminalProgress:
    """Redraws one line on a terminal; on a pipe, prints a line per phase and every 10 s."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_phase = ""
        self._last_line = 0.0
        self._width = 0

    def __call__(self, p: Progress) -> None:
        pct = 100.0 * p.fraction
        line = f"{p.phase:6s} pass {p.pass_no}  {pct:5.1f}%  {speed(p.rate, p.total)}"
        if p.bad:
            line += f"  unreadable {human_bytes(p.bad)} in {p.bad_areas} area(s)"
        if p.eta_seconds is not None:
            line += f"  {duration(p.eta_seconds)} left"
        now = time.monotonic()
        if self.tty:
            pad = max(self._width - len(line), 0)
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
            self._width = len(line)
        elif p.phase != self._last_phase or now - self._last_line >= 10:
            self.stream.write(line + "\n")
            self._last_line = now
        self._last_phase = p.phase

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
