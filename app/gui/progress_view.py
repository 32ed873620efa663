"""The live view of a long job: phase, numbers, sector map, speed graph, log, Pause/Cancel."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import Progress
from app.core.base.rangemap import RangeMap
from app.core.base.units import duration, human_bytes, speed
from app.gui.applog import LOG
from app.gui.sector_map import Legend, SectorMap
from app.gui.speed_graph import SpeedGraph

PHASE_WORDS = {
    "copy": "copying",
    "trim": "trimming around bad areas",
    "scrape": "reading unreadable areas sector by sector",
    "retry": "retrying unreadable sectors",
    "hash": "computing checksums",
    "verify": "verifying against the disc",
    "done": "finishing",
    "extract": "extracting",
}


class ProgressView(QWidget):
    pause_toggled = Signal(bool)
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.phase = QLabel("")
        f = self.phase.font()
        f.setBold(True)
        self.phase.setFont(f)
        self.percent = QLabel("")
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight)
        top.addWidget(self.phase, 1)
        top.addWidget(self.percent)
        lay.addLayout(top)
        self.numbers = QLabel("")
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.numbers)
        self.map = SectorMap()
        lay.addWidget(self.map, 3)
        lay.addWidget(Legend())
        self.graph = SpeedGraph()
        lay.addWidget(self.graph, 1)
        buttons = QHBoxLayout()
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.toggled.connect(self._pause)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_clicked)
        self.log_toggle = QToolButton()
        self.log_toggle.setText("Log")
        self.log_toggle.setCheckable(True)
        self.log_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.log_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.log_toggle)
        lay.addLayout(buttons)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setFont(QFont("monospace"))
        self.log.setVisible(False)
        self.log_toggle.toggled.connect(self._show_log)
        lay.addWidget(self.log, 2)
        self._phase = ""
        self._started = time.monotonic()
        self.last_map: RangeMap | None = None

    def _pause(self, on: bool) -> None:
        self.pause.setText("Resume" if on else "Pause")
        self.pause_toggled.emit(on)
        self.add_log("paused — the mapfile is saved" if on else "resumed")

    def _show_log(self, on: bool) -> None:
        self.log.setVisible(on)
        self.log_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.log_toggle.setText(f"Log ({self.log.blockCount()} lines)")

    def add_log(self, line: str) -> None:
        LOG.info(line)
        self.log.appendPlainText(time.strftime("%H:%M:%S  ") + line)
        if not self.log.isVisible():
            self.log_toggle.setText(f"Log ({self.log.blockCount()} lines)")

    def reset(self, title: str) -> None:
        self._phase = ""
        self._started = time.monotonic()
        self.phase.setText(title)
        self.percent.setText("")
        self.numbers.setText("")
        self.map.set_map(None)
        self.graph.clear()
        self.pause.setChecked(False)
        self.pause.setEnabled(True)
        self.cancel.setEnabled(True)
        self.log.clear()

    def running(self, on: bool) -> None:
        self.pause.setEnabled(on)
        self.cancel.setEnabled(on)

    def update_progress(self, p: Progress) -> None:
        if p.phase != self._phase:
            self._phase = p.phase
            self.add_log(f"pass {p.pass_no}: {PHASE_WORDS.get(p.phase, p.phase)}")
            if p.phase == "copy":
                self.graph.clear(p.total)
        if p.message and p.message != "paused":
            self.add_log(p.message)
        words = PHASE_WORDS.get(p.phase, p.phase)
        self.phase.setText(f"Pass {p.pass_no} · {words}" if p.pass_no else words.capitalize())
        self.percent.setText(f"{100 * p.fraction:.1f} %   {speed(p.rate, p.total)}")
        parts = [f"rescued {human_bytes(p.done)} of {human_bytes(p.total)}"]
        if p.bad:
            parts.append(f"unreadable {human_bytes(p.bad)} in {p.bad_areas} area(s)")
        if p.eta_seconds is not None:
            parts.append(f"{duration(p.eta_seconds)} left")
        parts.append(f"elapsed {duration(time.monotonic() - self._started)}")
        self.numbers.setText("  ·  ".join(parts))
        rmap = p.extra.get("map")
        if isinstance(rmap, RangeMap):
            self.last_map = rmap
            self.map.set_map(rmap, p.position // 2048)
        if p.phase in ("copy", "verify") and p.total:
            self.graph.add(p.position / p.total, p.rate)
