"""The terminal's progress display for core jobs (no Qt): a rich bar on a terminal, plain lines
on a pipe or a log file. Both say what ``units.describe`` says, as the app does."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn
from rich.progress import Progress as RichProgress

from app.core.base.events import Progress
from app.core.base.units import describe


class TerminalProgress:
    """On a terminal, one live bar: phase, bar, %, MB/s, errors, time left. Otherwise a line
    when the phase or pass changes and every 10 s, so a log stays short and readable."""

    def __init__(self, stream: TextIO | None = None, console: Console | None = None) -> None:
        self.stream = stream or sys.stderr
        self.console = console or Console(file=self.stream, highlight=False)
        self.tty = self.console.is_terminal
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._last_key: tuple[str, int] = ("", -1)
        self._last_line = 0.0

    def _start_bar(self) -> RichProgress:
        bar = RichProgress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[pct]:>7}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[errors]}", style="red"),
            TextColumn("{task.fields[eta]}"),
            console=self.console,
            transient=False,
            refresh_per_second=8,
        )
        bar.start()
        self._task = bar.add_task("", total=1000, pct="", rate="", errors="", eta="")
        return bar

    def __call__(self, p: Progress) -> None:
        d = describe(p)
        extra = [n for n in d.numbers[1:]]
        if self.tty:
            if self._bar is None:
                self._bar = self._start_bar()
            assert self._task is not None
            self._bar.update(
                self._task,
                completed=int(1000 * p.fraction),
                description=d.headline,
                pct=d.percent,
                rate=d.rate,
                errors=" · ".join(extra),
                eta=d.eta,
            )
            return
        now = time.monotonic()
        key = (p.phase, p.pass_no)
        if key != self._last_key or now - self._last_line >= 10:
            parts = [d.headline, d.percent, d.rate, *d.numbers, d.eta]
            self.stream.write("  ".join(x for x in parts if x) + "\n")
            self.stream.flush()
            self._last_line = now
            self._last_key = key

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
