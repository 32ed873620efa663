"""Shared steps of the GUI tests: progress snapshots, a demo backup, waiting for the card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from app.core.base.events import Progress
from app.gui.main_window import MainWindow

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
