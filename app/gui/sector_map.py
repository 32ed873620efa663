"""A ddrescueview-style sector map: equal cells, each coloured by the worst state it covers."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.base.rangemap import RangeMap

# ddrescueview's colours, so experienced users read the map at once.
COLOURS = {
    "+": QColor("#3cb44b"),  # finished
    "?": QColor("#a0a0a0"),  # non-tried
    "*": QColor("#e6c229"),  # non-trimmed
    "/": QColor("#4363d8"),  # non-scraped
    "-": QColor("#e6194b"),  # bad
}
NAMES = {
    "+": "finished",
    "?": "not tried yet",
    "*": "not trimmed",
    "/": "not scraped",
    "-": "unreadable",
}
# While verifying, the same states mean other things: say those.
VERIFY_NAMES = {
    "+": "compared",
    "?": "not compared yet",
    "*": "skipped, read again at the end",
    "/": "not scraped",
    "-": "unreadable now",
}
CELL = 8


class SectorMap(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map: RangeMap | None = None
        self.names = NAMES
        self.position = -1  # sector being read now
        self.cells: list[str] = []
        self.setMinimumHeight(5 * CELL)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setAccessibleName("Sector map")

    def sizeHint(self) -> QSize:
        return QSize(500, 16 * CELL)

    def cols_rows(self) -> tuple[int, int]:
        cols = max(self.width() // CELL, 1)
        rows = max(self.height() // CELL, 1)
        return cols, rows

    def set_map(self, rmap: RangeMap | None, position: int = -1) -> None:
        self.map, self.position = rmap, position
        cols, rows = self.cols_rows()
        self.cells = rmap.summary(cols * rows) if rmap is not None else []
        self.update()

    def resizeEvent(self, event: object) -> None:
        self.set_map(self.map, self.position)

    def cell_range(self, index: int) -> tuple[int, int]:
        assert self.map is not None
        n = len(self.cells)
        return index * self.map.size // n, max((index + 1) * self.map.size // n, 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self.cells:
            return
        cols, _ = self.cols_rows()
        for i, st in enumerate(self.cells):
            p.fillRect(
                QRect((i % cols) * CELL, (i // cols) * CELL, CELL - 1, CELL - 1), COLOURS[st]
            )
        if self.map is not None and self.position >= 0 and self.map.size:
            i = min(self.position * len(self.cells) // self.map.size, len(self.cells) - 1)
            p.setPen(QPen(self.palette().text().color(), 2))
            p.drawRect(QRect((i % cols) * CELL, (i // cols) * CELL, CELL - 1, CELL - 1))

    def index_at(self, pos: QPoint) -> int | None:
        cols, _ = self.cols_rows()
        i = (pos.y() // CELL) * cols + pos.x() // CELL
        return i if 0 <= i < len(self.cells) and pos.x() < cols * CELL else None

    def tooltip_text(self, index: int) -> str:
        assert self.map is not None
        lo, hi = self.cell_range(index)
        counts: dict[str, int] = {}
        for s, e, st in self.map.runs():
            a, b = max(s, lo), min(e, hi)
            if a < b:
                counts[st] = counts.get(st, 0) + b - a
        lines = [f"LBA {lo:,} – {hi - 1:,}"]
        lines += [f"{self.names[st]}: {n:,} sector(s)" for st, n in counts.items()]
        return "\n".join(lines)

    def event(self, e: object) -> bool:
        if isinstance(e, QHelpEvent) and e.type() == QHelpEvent.Type.ToolTip:
            i = self.index_at(e.pos())
            if i is None or self.map is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(e.globalPos(), self.tooltip_text(i), self)
            return True
        return super().event(e)  # type: ignore[arg-type]


class Legend(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(18)
        self.names = NAMES
        self.states = "+?*/-"

    def set_names(self, names: dict[str, str], states: str = "+?*/-") -> None:
        self.names, self.states = names, states
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        x = 0
        fm = p.fontMetrics()
        for st in self.states:
            p.fillRect(QRect(x, 5, CELL, CELL), COLOURS[st])
            x += CELL + 4
            p.setPen(self.palette().text().color())
            p.drawText(x, 4 + fm.ascent(), self.names[st])
            x += fm.horizontalAdvance(self.names[st]) + 14
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(520, 18)


__all__ = ["COLOURS", "NAMES", "VERIFY_NAMES", "Legend", "Qt", "SectorMap"]
