"""GUI tests run offscreen; settings and the demo disc cache live in temporary folders."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.gui.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(autouse=True)
def message_boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A static message box offscreen would wait for a click forever (a test, or CI, hangs):
    each one is recorded and answered as a user who agrees would (Yes / OK). A test that
    needs another answer patches its own."""
    seen: list[str] = []

    def box(*args: object, **kw: object) -> QMessageBox.StandardButton:
        seen.append(str(args[2]) if len(args) > 2 else "")
        return QMessageBox.StandardButton.Yes

    def ok(*args: object, **kw: object) -> QMessageBox.StandardButton:
        seen.append(str(args[2]) if len(args) > 2 else "")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", box)
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, ok)
    return seen


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings.folder = str(tmp_path / "Discs")
    settings.verify_after = False
    win = MainWindow(settings, fast_demo=True, poll_ms=0)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.jobs.cancel_all()


class Heartbeat:
    """Measures the longest gap between ticks of a 10 ms timer: how long the GUI froze."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> Heartbeat:
        self.last = time.perf_counter()
        self.max_gap = 0.0  # each start measures afresh
        self.timer.start()
        return self

    def stop(self) -> float:
        self.timer.stop()
        return self.max_gap
