"""One disc of the Library page: its state, final sector map, damaged files, history, health.

Shows a ``DiscDetails`` loaded off the GUI thread; the action buttons are wired by the page.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.base.units import human_bytes
from app.core.library.records import day_of
from app.core.library.view import DiscDetails
from app.gui.sector_map import Legend, SectorMap
from app.gui.widgets import FlowLayout

ACTIONS = ("Re-verify", "Health scan", "Open in inspector", "Open folder")
SLOW = ("<500 ms", ">500 ms", "error")


class HealthChart(QWidget):
    """The last health scan: blocks per latency bucket, and the read speed over the disc."""

    NONE = "No health scan yet: put the disc in a drive, select it, and press Health scan."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buckets: list[tuple[str, int]] = []
        self.curve: list[tuple[float, float]] = []  # (fraction of the disc, bytes/s)
        self.caption = self.NONE
        self.setMinimumHeight(120)
        self.setAccessibleName("Health scan")

    def sizeHint(self) -> QSize:
        return QSize(500, 160)

    def set_scan(self, doc: dict[str, object] | None, caption: str) -> None:
        self.caption, self.buckets, self.curve = caption or self.NONE, [], []
        if doc:
            b = doc.get("buckets")
            if isinstance(b, dict):
                self.buckets = [(str(k), int(v)) for k, v in b.items()]
            bad = doc.get("unreadable")
            self.buckets.append(("error", len(bad) if isinstance(bad, list) else 0))
            sectors, curve = doc.get("sectors"), doc.get("curve")
            if isinstance(curve, list) and isinstance(sectors, int) and sectors:
                self.curve = [(float(lba) / sectors, float(r)) for lba, r in curve]
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        text = self.palette().text().color()
        p.setPen(text)
        p.drawText(6, 14, self.caption)
        if self.buckets:
            self._bars(p, text)
        if self.curve:
            self._curve(p, text)
        p.end()

    def _bars(self, p: QPainter, text: QColor) -> None:
        fm = p.fontMetrics()
        top, h, half = 22, self.height() - 28, self.width() // 2
        row = max(h // len(self.buckets), 1)
        most = max(n for _, n in self.buckets) or 1
        for i, (name, n) in enumerate(self.buckets):
            y = top + i * row
            p.setPen(text)
            p.drawText(4, y + fm.ascent(), name)
            bar = int((half - 130) * n / most)
            colour = QColor("#d62728" if name in SLOW and n else "#3cb44b")
            p.fillRect(70, y + 2, max(bar, 1 if n else 0), row - 4, colour)
            p.drawText(74 + bar, y + fm.ascent(), str(n))

    def _curve(self, p: QPainter, text: QColor) -> None:
        top, h, half = 22, self.height() - 28, self.width() // 2
        w = self.width() - half - 8
        peak = max(r for _, r in self.curve) * 1.1 or 1.0
        path = QPainterPath()
        for k, (f, r) in enumerate(self.curve):
            pt = QPointF(half + f * w, top + h - r / peak * h)
            if k == 0:
                path.moveTo(pt)
            else:
                path.lineTo(pt)
        p.setPen(QPen(self.palette().highlight().color(), 1.5))
        p.drawPath(path)
        p.setPen(text)
        p.drawText(QRectF(half, top, w, 16), f"read speed, max {human_bytes(peak / 1.1)}/s")


class DiscPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        # The disc's name and badge on a line of their own, the actions below in a row that
        # wraps: a narrow window squeezes neither.
        self.head = QLabel("Select a disc to see its details.")
        self.head.setWordWrap(True)
        lay.addWidget(self.head)
        top = FlowLayout()
        self.buttons: dict[str, QPushButton] = {}
        for text in ACTIONS:
            self.buttons[text] = QPushButton(text)
            top.addWidget(self.buttons[text])
        lay.addLayout(top)
        self.tabs = QTabWidget()
        # Narrow windows shorten the tab names rather than hide tabs behind scroll arrows.
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.overview = QTextBrowser()
        maps = QWidget()
        ml = QVBoxLayout(maps)
        self.map = SectorMap()
        self.map_note = QLabel()
        ml.addWidget(self.map, 1)
        ml.addWidget(Legend())
        ml.addWidget(self.map_note)
        self.damaged = QTextBrowser()
        self.history = QTextBrowser()
        self.health = HealthChart()
        tabs = ((self.overview, "Overview"), (maps, "Sector map"), (self.damaged, "Damaged files"),
                (self.history, "History"), (self.health, "Health"))  # fmt: skip
        for w, name in tabs:
            self.tabs.addTab(w, name)
        lay.addWidget(self.tabs, 1)
        self.show_disc(None, "")

    def show_disc(self, d: DiscDetails | None, folder_path: str) -> None:
        for b in self.buttons.values():
            b.setEnabled(d is not None)
        if d is None:
            for view in (self.overview, self.damaged, self.history):
                view.clear()
            self.map.set_map(None)
            self.map_note.clear()
            self.health.set_scan(None, "")
            return
        rec, st = d.record, d.state
        self.head.setText(f"<b>{rec.label}</b>  ·  {st.badge}")
        lines = [
            f"Folder: {folder_path}",
            f"Image: {rec.image}  ({human_bytes(rec.image_bytes)}, {rec.sectors:,} sectors"
            + (f", {rec.formats})" if rec.formats else ")"),
            f"Backed up: {rec.backed_up} ({rec.outcome})",
        ]
        if rec.created:
            lines.append(f"Created (the volume's own date): {rec.created}")
        lines += [f"{a.upper()}: {v}" for a, v in rec.hashes.items()]
        lines.append(f"Identity: {rec.identity or 'unknown'} (from the {rec.identity_from})")
        lines += [f"Read: {e.summary} ({day_of(e.at)})" for e in d.events if e.kind == "read"]
        if rec.problem:
            lines.append(f"Problem: {rec.problem}")
        self.overview.setPlainText("\n".join(lines))
        self.map.set_map(d.map)
        self.map_note.setText(d.map_note)
        self.damaged.setPlainText(self._damage_text(d))
        past = [e for e in d.events if e.kind in ("verify", "health")]
        self.history.setPlainText(
            "\n".join(
                f"{day_of(e.at)}  {e.kind:7s} {e.outcome:10s} {e.summary}" for e in reversed(past)
            )
            or "Never verified since the backup."
        )
        scans = [e for e in d.events if e.kind == "health"]
        last = scans[-1] if scans else None
        self.health.set_scan(
            last.doc if last else None, f"{day_of(last.at)}: {last.summary}" if last else ""
        )

    @staticmethod
    def _damage_text(d: DiscDetails) -> str:
        if not d.damaged_total:
            return "No file sits on an unreadable sector."
        lines = [f"{f.path}   ({human_bytes(f.unreadable)} unreadable)" for f in d.damaged]
        more = d.damaged_total - len(d.damaged)
        return "\n".join(lines + ([f"… and {more} more"] if more > 0 else []))
