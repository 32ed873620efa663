"""The disc's layout as a thin strip above the sector map: sessions, their tracks (data or
audio), the gaps between sessions and the run-out, at their share of the disc.

It comes from the rescue's plan (``app.core.disc.plan``): what the engine images, so the strip
and the map never disagree. A 2-sector run-out on a 300 000-sector disc is drawn at least two
pixels wide, so it can be seen and hovered; the tooltip gives the exact LBAs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.base.units import human_bytes, plural
from app.core.disc.layout import TrackKind
from app.core.disc.plan import Kind, Plan
from app.gui.sector_map import COLOURS, NOT_DATA

TRACK_COLOURS = {"data": QColor("#6f95c4"), "audio": QColor("#a57fd0")}
KIND_WORDS = {
    TrackKind.MODE1: "data (Mode 1)",
    TrackKind.MODE2: "data (Mode 2)",
    TrackKind.AUDIO: "audio",
}
NOT_DATA_WORDS = {
    Kind.RUNOUT: "run-out: not data when unreadable (never damage)",
    Kind.GAP: "between sessions (lead-out, lead-in, pregap): not data, never damage",
    Kind.AUDIO: "audio: not part of an .iso (zero in the image)",
}
MIN_PX = 2


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    kind: str  # "data", "audio" or a not-data kind ("run-out", "session gap")
    label: str  # short text drawn inside when it fits
    tip: str


def segments(plan: Plan) -> tuple[list[Segment], list[Segment]]:
    """(tracks and gaps, not-data overlays) over the plan's domain."""
    end = plan.sectors
    lay = plan.layout
    base: list[Segment] = []
    for s in lay.sessions:
        for t in s.tracks:
            if t.start >= end:
                continue
            hi = min(t.end, end)
            kind = "data" if t.is_data else "audio"
            where = f"LBA {t.start:,} – {hi - 1:,}, {human_bytes((hi - t.start) * 2048)}"
            sess = f"Session {s.number} · " if len(lay.sessions) > 1 else ""
            tip = f"{sess}track {t.number} · {KIND_WORDS[t.kind]}\n{where}"
            if not t.is_data:
                tip += f"\n{NOT_DATA_WORDS[Kind.AUDIO]}"
            base.append(Segment(t.start, hi, kind, f"{t.number} · {kind}", tip))
    for a, b in lay.gaps():
        if a < end:
            base.append(
                Segment(a, min(b, end), str(Kind.GAP), "gap", f"{NOT_DATA_WORDS[Kind.GAP]}")
            )
    over: list[Segment] = []
    for r in plan.regions:
        if r.kind in (Kind.RUNOUT,):
            n = r.end - r.start
            over.append(
                Segment(
                    r.start,
                    r.end,
                    str(r.kind),
                    "",
                    f"{plural(n, 'sector')} of {NOT_DATA_WORDS[Kind.RUNOUT]}\n"
                    f"LBA {r.start:,} – {r.end - 1:,}",
                )
            )
    return sorted(base, key=lambda g: g.start), over


def worth_showing(plan: Plan) -> bool:
    """An image file or a device without a TOC is 'one data track' by assumption: a strip
    would only repeat that. A TOC, or sectors that are not data, are worth a strip."""
    return not plan.layout.is_flat or any(r.kind is not Kind.DATA for r in plan.regions)


class LayoutStrip(QWidget):
    """'2 sessions, 3 tracks (1 audio)' and a bar of the disc's tracks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: Plan | None = None
        self.caption = ""
        self.base: list[Segment] = []
        self.over: list[Segment] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setAccessibleName("Disc layout")
        self.setVisible(False)

    def set_plan(self, plan: Plan | None) -> None:
        if plan is self.plan:
            return
        self.plan = plan
        if plan is None:
            self.base, self.over, self.caption = [], [], ""
        else:
            self.base, self.over = segments(plan)
            self.caption = plan.layout.summary()
        self.setAccessibleDescription(self.caption)
        self.setToolTip("")
        self.setVisible(plan is not None and worth_showing(plan))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(500, self.fontMetrics().height() + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.fontMetrics().height() + 8)

    def _bar(self) -> QRect:
        """Where the bar goes: right of the caption (or the whole width when narrow)."""
        cap = self.fontMetrics().horizontalAdvance(self.caption) + 12
        left = cap if self.width() - cap >= 160 else 0
        return QRect(left, 2, max(self.width() - left, 1), self.height() - 4)

    def _span(self, bar: QRect, seg: Segment, widen: bool) -> QRect:
        assert self.plan is not None
        total = max(self.plan.sectors, 1)
        x0 = bar.x() + seg.start * bar.width() // total
        x1 = bar.x() + seg.end * bar.width() // total
        if widen and x1 - x0 < MIN_PX:
            x1 = x0 + MIN_PX
        return QRect(x0, bar.y(), max(x1 - x0, 1), bar.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.plan is None:
            return
        p = QPainter(self)
        bar = self._bar()
        text = self.palette().text().color()
        fm = p.fontMetrics()
        if bar.x() > 0:
            p.setPen(text)
            p.drawText(0, bar.y() + (bar.height() + fm.ascent() - fm.descent()) // 2, self.caption)
        hollow = QPen(COLOURS[NOT_DATA], 1)
        edge = self.palette().base().color()
        for seg in self.base:
            r = self._span(bar, seg, widen=True)
            if seg.kind in TRACK_COLOURS:
                p.fillRect(r, TRACK_COLOURS[seg.kind])
                if r.x() > bar.x():  # tracks side by side stay two tracks
                    p.fillRect(QRect(r.x(), r.y(), 1, r.height()), edge)
                label_pen = QColor("#101418")
            else:
                p.setPen(hollow)
                p.drawRect(r.adjusted(0, 0, -1, -1))
                label_pen = text
            # The whole label where it fits, else the track number alone.
            label = seg.label
            if fm.horizontalAdvance(label) + 8 > r.width():
                label = label.split(" · ")[0] if seg.kind in TRACK_COLOURS else ""
            if label and fm.horizontalAdvance(label) + 6 <= r.width():
                p.setPen(label_pen)
                p.drawText(r, Qt.AlignmentFlag.AlignCenter, label)
        for seg in self.over:  # run-out: a hollow notch at the track's end
            r = self._span(bar, seg, widen=True)
            p.fillRect(r, self.palette().base())
            p.setPen(hollow)
            p.drawRect(r.adjusted(0, 0, -1, -1))
        p.setPen(QPen(text, 1))
        for s in self.plan.layout.sessions[1:]:  # where each later session begins
            if s.start < self.plan.sectors:
                x = bar.x() + s.start * bar.width() // max(self.plan.sectors, 1)
                p.drawLine(x, 0, x, self.height())
        p.end()

    def segment_at(self, pos: QPoint) -> Segment | None:
        if self.plan is None:
            return None
        bar = self._bar()
        for seg in (*self.over, *self.base):  # the small overlays first: they sit on top
            if self._span(bar, seg, widen=True).adjusted(-1, 0, 1, 0).contains(pos):
                return seg
        return None

    def event(self, e: object) -> bool:
        if isinstance(e, QHelpEvent) and e.type() == QHelpEvent.Type.ToolTip:
            seg = self.segment_at(e.pos())
            tip = seg.tip if seg is not None else self.caption
            if tip:
                QToolTip.showText(e.globalPos(), tip, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)  # type: ignore[arg-type]


__all__ = ["LayoutStrip", "Segment", "segments"]
