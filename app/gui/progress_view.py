"""The live view of a long job: phase, numbers, the disc's layout, sector map, speed graph,
Pause / Finish now / Cancel.

Every number comes from ``units.describe``: only what was measured, in the user's words. A
paused job says "Paused" in the headline and the status bar, not only on its button. The
layout strip and the map's not-data cells come from the rescue's plan, sent with its progress.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.base.events import Progress
from app.core.base.rangemap import RangeMap
from app.core.base.units import PHASE_WORDS, RESCUE_PASSES, SECTOR_BY_SECTOR, describe
from app.core.disc.plan import Kind, Plan
from app.gui.layout_strip import LayoutStrip
from app.gui.log_panel import LogPanel
from app.gui.sector_map import NAMES, NOT_DATA, VERIFY_NAMES, Legend, SectorMap, not_data_runs
from app.gui.speed_graph import SpeedGraph

GRAPH_PHASES = ("copy", "verify")
ANOTHER_DRIVE_NOW = (
    "Another drive often reads what this one cannot: press Finish now, then Try another "
    "drive — it reads only what is still missing."
)
FINISH_TIP = (
    "Stop reading and retrying now: keep what was read, compute the checksums and say what "
    "stays unread. Resume later, with this drive or another."
)


def data_only(p: Progress, plan: Plan | None, unfinished_data: int) -> Progress:
    """'rescued X of Y' over the data sectors alone: session gaps and run-out are never read
    as data, so counting them in Y kept a finished multi-session backup at 6 %.
    ``unfinished_data`` comes from the sector map's own pass over the same map."""
    if plan is None or p.phase not in RESCUE_PASSES or not isinstance(p.extra.get("map"), RangeMap):
        return p
    total = sum(e - s for s, e in plan.runs(Kind.DATA))
    if total == plan.sectors:
        return p  # nothing but data: the engine's numbers are already these
    return dataclasses.replace(p, total=total * 2048, done=(total - unfinished_data) * 2048)


def per_read(seconds: float) -> str:
    """What one failed read costs, in the unit that reads best."""
    return f"{seconds:.1f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"


def eta_text(p: Progress, eta: str) -> str:
    """'4:10 left' — for the sector-by-sector passes, also what the estimate rests on."""
    if not eta or p.phase not in SECTOR_BY_SECTOR:
        return eta
    failed, spent = p.extra.get("failed_reads"), p.extra.get("fail_seconds")
    if isinstance(failed, int) and failed > 0 and isinstance(spent, int | float):
        return f"about {eta} at {per_read(spent / failed)} per failed read"
    return f"about {eta}"


class ProgressView(QWidget):
    pause_toggled = Signal(bool)
    cancel_clicked = Signal()
    finish_clicked = Signal()
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
        self.strip = LayoutStrip()
        lay.addWidget(self.strip)
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
        self.finish = QPushButton("Finish now")
        self.finish.setToolTip(FINISH_TIP)
        self.finish.setAccessibleDescription(FINISH_TIP)
        self.finish.clicked.connect(self._finish)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop cleanly without checksums; resume any time")
        self.cancel.clicked.connect(self.cancel_clicked)
        self.another = QLabel(ANOTHER_DRIVE_NOW)
        self.another.setWordWrap(True)
        self.another.setVisible(False)
        lay.addWidget(self.another)
        buttons.addWidget(self.pause)
        buttons.addWidget(self.finish)
        buttons.addWidget(self.cancel)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self._key: tuple[str, int] = ("", -1)
        self.paused = False
        self.finishing = False
        self.last: Progress | None = None
        self.last_map: RangeMap | None = None
        self.plan: Plan | None = None
        self.another_drive = True  # False for the demo drive: no other drive takes its disc

    def _pause(self, on: bool) -> None:
        self.paused = on
        self.pause.setText("Resume" if on else "Pause")
        self.pause_toggled.emit(on)
        self.log.add("paused — the mapfile is saved" if on else "resumed")
        if self.last is not None:
            self._render(self.last)
        self.status.emit("Paused — press Resume to go on" if on else self.phase.text())

    def _finish(self) -> None:
        """Finish now: no more reading; the job wraps up (checksums, report) as usual."""
        self.finishing = True
        self.finish.setEnabled(False)
        self.pause.setEnabled(False)
        if self.paused:  # the job wakes up to finish
            self.pause.blockSignals(True)
            self.pause.setChecked(False)
            self.pause.setText("Pause")
            self.pause.blockSignals(False)
            self.paused = False
        self.add_log("finishing now — no more retries; keeping what was read")
        self.finish_clicked.emit()

    def set_plan(self, plan: Plan | None) -> None:
        """The disc's layout (strip) and its not-data sectors (map, legend)."""
        self.plan = plan
        self.strip.set_plan(plan)
        self.map.set_plan(plan)
        self.legend.show_not_data(bool(not_data_runs(plan)))

    def add_log(self, line: str) -> None:
        self.log.add(line)

    def reset(self, title: str, another_drive: bool = True) -> None:
        """``another_drive``: advising another drive is true (not for the demo drive)."""
        self.another_drive = another_drive
        self._key = ("", -1)
        self.last = None
        self.phase.setText(title)
        self.percent.setText("")
        self.numbers.setText("")
        self.map.set_map(None)
        self.map.names = NAMES
        self.legend.set_names(NAMES)
        self.set_plan(None)
        self.another.setVisible(False)
        self.finishing = False
        self.graph.clear()
        self.pause.blockSignals(True)
        self.pause.setChecked(False)
        self.pause.setText("Pause")
        self.pause.blockSignals(False)
        self.paused = False
        self.pause.setEnabled(True)
        self.finish.setEnabled(True)
        self.cancel.setEnabled(True)
        self.log.clear()

    def running(self, on: bool) -> None:
        self.pause.setEnabled(on and not self.finishing)
        self.finish.setEnabled(on and not self.finishing)
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
        extra = NOT_DATA if self.map.not_data else ""
        self.legend.set_names(
            *((VERIFY_NAMES, "+?*-" + extra) if verifying else (NAMES, "+?*/-" + extra))
        )
        # Finish now stops reading the disc: it means nothing for checksums or a verify.
        self.finish.setEnabled(p.phase in RESCUE_PASSES and not self.finishing)
        self.another.setVisible(False)
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
        plan = p.extra.get("plan")
        if isinstance(plan, Plan) and plan is not self.plan:
            self.set_plan(plan)
        rmap = p.extra.get("map")
        if isinstance(rmap, RangeMap):  # first: the numbers use the map's pass over it
            self.last_map = rmap
            self.map.set_map(rmap, p.position // 2048)
        self._render(p)
        if p.phase == "retry" and p.bad and self.another_drive and not self.another.isVisible():
            self.another.setVisible(True)
        if p.phase in GRAPH_PHASES and p.total and not self.paused:
            self.graph.add(p.position / p.total, p.rate)

    def _render(self, p: Progress) -> None:
        p = data_only(p, self.plan, self.map.unfinished_data)
        d = describe(p, self.paused)
        self.phase.setText(d.headline)
        self.percent.setText(f"{d.percent}   {d.rate}".rstrip())
        parts = [*d.numbers]
        if self.paused:
            parts.append("the mapfile is saved — press Resume to go on")
        elif d.eta:
            parts.append(eta_text(p, d.eta))
        self.numbers.setText("  ·  ".join(parts))
