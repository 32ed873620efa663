"""Shared steps of the GUI tests: progress snapshots, a demo backup, waiting for the card, and
discs with a table of contents (sessions, audio tracks, gaps) in the drive panel."""

from __future__ import annotations

import errno
import time
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from app.core.base.events import Progress
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ImageSource, ReadError
from app.gui.main_window import MainWindow
from app.gui.sources import SourceEntry
from tests.discfixtures import Disc

MB100 = 100_734_976  # the demo disc's size in bytes


def snap(**kw: Any) -> Progress:
    """A progress snapshot as the core sends it; only the fields a test cares about differ."""
    base: dict[str, Any] = {
        "phase": "copy",
        "pass_no": 1,
        "pass_count": 8,
        "position": 0,
        "total": MB100,
        "done": MB100 // 2,
        "bad": 0,
        "bad_areas": 0,
        "rate": 20e6,
        "eta_seconds": 3.0,
    }
    base.update(kw)
    return Progress(**base)


def select(win: MainWindow, key: str) -> None:
    row = next(i for i, e in enumerate(win.panel.entries) if e.key == key)
    win.panel.setCurrentRow(row)


def wait_card(qtbot: QtBot, win: MainWindow, timeout: int = 60_000) -> str:
    qtbot.waitUntil(lambda: win.backup.stack.currentWidget() is win.backup.card, timeout=timeout)
    return win.backup.card.headline.text()


def demo_backup(qtbot: QtBot, win: MainWindow, out: Path, verify: bool = False) -> str:
    select(win, "demo")
    win.backup.dest.setText(str(out))
    win.backup.verify_box.setChecked(verify)
    win.backup.start_backup()
    return wait_card(qtbot, win)


class LayoutDisc(ImageSource):
    """A disc with a table of contents, read from an image file: what a drive with a TOC
    answers. The sectors a drive cannot read as data (session gaps, run-out, audio) fail here,
    at the device boundary, as a drive's reads of them do."""

    def __init__(
        self, path: str, layout: DiscLayout, unreadable: list[tuple[int, int]], delay: float = 0
    ) -> None:
        super().__init__(path)
        self._layout = layout
        self.unreadable = sorted(unreadable)
        self.delay = delay

    def read_layout(self) -> DiscLayout:
        return self._layout

    def read(self, lba: int, count: int) -> bytes:
        if self.delay:
            time.sleep(self.delay)
        for start, n in self.unreadable:
            if start < lba + count and lba < start + n:
                good = max(start - lba, 0)
                data = super().read(lba, good) if good else b""
                raise ReadError(lba, count, errno.EIO, data)
        return super().read(lba, count)


def disc_entry(win: MainWindow, path: Path, disc: Disc, delay: float = 0) -> SourceEntry:
    """Put ``disc`` (written to ``path``) in the drive panel as a drive and select it."""
    path.write_bytes(disc.data)
    entry = SourceEntry(
        key=str(path),
        title=f"Test drive ({path.name})",
        detail=disc.layout.summary(),
        label="",
        opener=lambda: LayoutDisc(str(path), disc.layout, disc.unreadable, delay),
        path=str(path),
        layout=disc.layout,
    )
    win.extra_sources.append(entry)
    win.refresh_entries()
    select(win, entry.key)
    return entry
