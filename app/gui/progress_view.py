"""The live view of a long job: phase, numbers, sector map, speed graph, Pause/Cancel.

Every number comes from ``units.describe``: only what was measured, in the user's words. A
paused job says "Paused" in the headline and the status bar, not only on its button.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.base.events import Progress
from app.core.base.rangemap import RangeMap
from app.core.base.units import PHASE_WORDS, RESCUE_PASSES, describe
from app.gui.log_panel import LogPanel
from app.gui.sector_map import NAMES, VERIFY_NAMES, Legend, SectorMap
from app.gui.speed_graph import SpeedGraph

GRAPH_PHASES = ("copy", "verify")


class ProgressView(QWidget):
    pause_toggled = Signal(bool)
    cancel_clicked = Signal()
    status = Signal(str)  # for the status bar: what the job is doing now

    def __init__(self, log: LogPanel | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = log or LogPanel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.phase = QLabel("")
        f = self.phase.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.1)
        self.phase.setFont(f)
        self.phase.setWordWrap(True)
        self.percent = QLabel("")
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.percent.setFont(f)
        top.addWidget(self.phase, 1)
        top.addWidget(self.percent)
        lay.addLayout(top)
        self.numbers = QLabel("")
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.numbers)
        self.map = SectorMap()
        lay.addWidget(self.map, 3)
        self.legend = Legend()
        lay.addWidget(self.legend)
        self.graph = SpeedGraph()
        lay.addWidget(self.graph, 1)
        buttons = QHBoxLayout()
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Save the mapfile and wait (Ctrl+P)")
        self.pause.toggled.connect(self._pause)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop cleanly; resume any time")
        self.cancel.clicked.connect(self.cancel_clicked)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self._key: tuple[str, int] = ("", -1)
        self.paused = False
        self.last: Progress | None = None
        self.last_map: RangeMap | None = None

    def _pause(self, on: bool) -> None:
        self.paused = on
        self.pause.setText("Resume" if on else "Pause")
        self.pause_toggled.emit(on)
        self.log.add("paused — the mapfile is saved" if on else "resumed")
        if self.last is not None:
            self._render(self.last)
        self.status.emit("Paused — press Resume to go on" if on else self.phase.text())

    def add_log(self, line: str) -> None:
        self.log.add(line)

    def reset(self, title: str) -> None:
        self._key = ("", -1)
        self.last = None
        self.phase.setText(title)
        self.percent.setText("")
        self.numbers.setText("")
        self.map.set_map(None)
        self.map.names = NAMES
        self.legend.set_names(NAMES)
        self.graph.clear()
        self.pause.blockSignals(True)
        self.pause.setChecked(False)
        self.pause.setText("Pause")
        self.pause.blockSignals(False)
        self.paused = False
        self.pause.setEnabled(True)
        self.cancel.setEnabled(True)
        self.log.clear()

    def running(self, on: bool) -> None:
        self.pause.setEnabled(on)
        self.cancel.setEnabled(on)

    def _new_step(self, p: Progress) -> None:
        """A new pass or phase: one log line, and a fresh graph for a new kind of sweep."""
        words = p.phase_label or PHASE_WORDS.get(p.phase, p.phase)
        if p.phase in RESCUE_PASSES and p.pass_no:
            self.add_log(f"pass {p.pass_no}: {words}")
        else:
            self.add_log(words)
        verifying = p.phase == "verify"
        self.map.names = VERIFY_NAMES if verifying else NAMES
        self.legend.set_names(*((VERIFY_NAMES, "+?*-") if verifying else (NAMES, "+?*/-")))
        if verifying:
            self.graph.clear("verify", p.medium)
            self.map.set_map(None)
        elif p.phase == "copy" and not self.graph.slices:
            self.graph.clear("", p.medium)

    def update_progress(self, p: Progress) -> None:
        key = (p.phase, p.pass_no)
        if key != self._key:
            self._key = key
            self._new_step(p)
            self.status.emit(describe(p, self.paused).headline)
        if p.message and p.message != "paused":
            self.add_log(p.message)
        self.last = p
        self._render(p)
        rmap = p.extra.get("map")
        if isinstance(rmap, RangeMap):
            self.last_map = rmap
            self.map.set_map(rmap, p.position // 2048)
        if p.phase in GRAPH_PHASES and p.total and not self.paused:
            self.graph.add(p.position / p.total, p.rate)

    def _render(self, p: Progress) -> None:
        d = describe(p, self.paused)
        self.phase.setText(d.headline)
        self.percent.setText(f"{d.percent}   {d.rate}".rstrip())
        parts = [*d.numbers]
        if self.paused:
            parts.append("the mapfile is saved — press Resume to go on")
        elif d.eta:
            parts.append(d.eta)
        self.numbers.setText("  ·  ".join(parts))
