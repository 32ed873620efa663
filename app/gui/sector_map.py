"""A ddrescueview-style sector map: equal cells, each coloured by the worst state it covers.

Sectors that are not data (a TAO run-out, a session gap, audio tracks in an .iso backup) come
from the rescue's plan and are drawn apart: hollow cells in a neutral colour, never red, never
counted as unreadable, with their own legend entry.
"""

from __future__ import annotations

from bisect import bisect_right

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc.plan import Kind, Plan

NOT_DATA = "n"  # display state: unfinished sectors the plan says are not data
# ddrescueview's colours, so experienced users read the map at once; not-data is neutral.
COLOURS = {
    "+": QColor("#3cb44b"),  # finished
    "?": QColor("#a0a0a0"),  # non-tried
    "*": QColor("#e6c229"),  # non-trimmed
    "/": QColor("#4363d8"),  # non-scraped
    "-": QColor("#e6194b"),  # bad
    NOT_DATA: QColor("#8f96a3"),  # not data: drawn hollow, in this neutral grey-blue
}
NAMES = {
    "+": "finished",
    "?": "not tried yet",
    "*": "not trimmed",
    "/": "not scraped",
    "-": "unreadable",
    NOT_DATA: "not data (run-out, gaps, audio)",
}
# While verifying, the same states mean other things: say those.
VERIFY_NAMES = {
    "+": "compared",
    "?": "not compared yet",
    "*": "skipped, read again at the end",
    "/": "not scraped",
    "-": "unreadable now",
    NOT_DATA: "not data (run-out, gaps, audio)",
}
# A cell shows the state that needs the most attention; not-data only outranks "finished".
SEVERITY = {"+": 0, NOT_DATA: 1, "?": 2, "*": 3, "/": 4, "-": 5}
CELL = 8

Runs = list[tuple[int, int, str]]  # (start, end, kind) of the not-data regions


def not_data_runs(plan: Plan | None) -> Runs:
    if plan is None:
        return []
    return [(r.start, r.end, str(r.kind)) for r in plan.regions if r.kind is not Kind.DATA]


def split_runs(rmap: RangeMap, not_data: Runs) -> list[tuple[int, int, str]]:
    """The map's unfinished runs, with the parts inside not-data regions as ``(s, e, kind)``
    where kind is the region's (``"run-out"``…) and the rest keeping their status."""
    starts = [s for s, _, _ in not_data]
    out: list[tuple[int, int, str]] = []
    for s, e, st in rmap.runs():
        if st == FINISHED:
            continue
        pos, i = s, max(bisect_right(starts, s) - 1, 0)
        while pos < e:
            while i < len(not_data) and not_data[i][1] <= pos:
                i += 1
            if i >= len(not_data) or not_data[i][0] >= e:
                out.append((pos, e, st))
                break
            a, b, kind = not_data[i]
            if a > pos:
                out.append((pos, a, st))
                pos = a
            hi = min(b, e)
            out.append((pos, hi, kind))
            pos = hi
    return out


def summarise(rmap: RangeMap, not_data: Runs, cells: int) -> tuple[list[str], int]:
    """(worst display state per equal share of the map, unfinished data sectors), in one pass
    over the map's runs: a scratched disc's map has tens of thousands of them, and this runs
    on the GUI thread with every progress event."""
    size = rmap.size
    if not size or cells <= 0:
        return [], 0
    out = [FINISHED] * cells
    sev = SEVERITY
    i, n = 0, len(not_data)
    lo = not_data[0][0] if n else size  # where the next not-data region starts
    unfinished = 0
    for s, e, st in rmap.runs():
        if st == FINISHED:
            continue
        if e <= lo:  # all data, the usual case: no splitting
            unfinished += e - s
            rank = sev[st]
            first, last = s * cells // size, (e - 1) * cells // size
            if first == last:
                if rank > sev[out[first]]:
                    out[first] = st
                continue
            for c in range(first, last + 1):
                if rank > sev[out[c]]:
                    out[c] = st
            continue
        pos = s
        while pos < e:
            while i < n and not_data[i][1] <= pos:  # runs come in order: only forward
                i += 1
            lo = not_data[i][0] if i < n else size
            if i < n and not_data[i][0] <= pos:
                hi, state = min(not_data[i][1], e), NOT_DATA
            else:
                hi, state = (min(not_data[i][0], e) if i < n else e), st
                unfinished += hi - pos
            rank = sev[state]
            first, last = pos * cells // size, (hi - 1) * cells // size
            for c in range(first, last + 1):
                if rank > sev[out[c]]:
                    out[c] = state
            pos = hi
    return out, unfinished


def cells_of(rmap: RangeMap, not_data: Runs, cells: int) -> list[str]:
    """Worst display state per equal share of the map: O(runs + cells)."""
    return summarise(rmap, not_data, cells)[0]


class SectorMap(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map: RangeMap | None = None
        self.names = NAMES
        self.position = -1  # sector being read now
        self.cells: list[str] = []
        self.not_data: Runs = []
        self.unfinished_data = 0  # data sectors of the map not finished (not-data left out)
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

    def set_plan(self, plan: Plan | None) -> None:
        """Which sectors are not data (from the rescue's plan); None: all of them are."""
        self.not_data = not_data_runs(plan)
        self.set_map(self.map, self.position)

    def set_map(self, rmap: RangeMap | None, position: int = -1) -> None:
        self.map, self.position = rmap, position
        cols, rows = self.cols_rows()
        if rmap is None:
            self.cells, self.unfinished_data = [], 0
        else:
            self.cells, self.unfinished_data = summarise(rmap, self.not_data, cols * rows)
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
        hollow = QPen(COLOURS[NOT_DATA], 1)
        for i, st in enumerate(self.cells):
            x, y = (i % cols) * CELL, (i // cols) * CELL
            if st == NOT_DATA:  # an empty box: nothing is missing here
                p.setPen(hollow)
                p.drawRect(QRect(x, y, CELL - 2, CELL - 2))
            else:
                p.fillRect(QRect(x, y, CELL - 1, CELL - 1), COLOURS[st])
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
        unfinished = 0
        for s, e, st in split_runs(self.map, self.not_data):
            a, b = max(s, lo), min(e, hi)
            if a < b:
                unfinished += b - a
                name = self.names.get(st) or f"{st} (not data)"
                counts[name] = counts.get(name, 0) + b - a
        if hi - lo > unfinished:
            counts = {self.names["+"]: hi - lo - unfinished, **counts}
        lines = [f"LBA {lo:,} – {hi - 1:,}"]
        lines += [f"{name}: {n:,} sector(s)" for name, n in counts.items()]
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
    """The colours' meanings, wrapping onto more rows in a narrow window."""

    ROW = 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names = NAMES
        self.states = "+?*/-"
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumHeight(self.ROW)

    def set_names(self, names: dict[str, str], states: str = "+?*/-") -> None:
        self.names, self.states = names, states
        self.updateGeometry()
        self.update()

    def show_not_data(self, on: bool) -> None:
        """The not-data entry, only when the map has such sectors."""
        states = self.states.replace(NOT_DATA, "")
        self.set_names(self.names, states + NOT_DATA if on else states)

    def _entries(self, width: int) -> list[tuple[int, int, str]]:
        """(x, row, state) of each entry, wrapped to ``width``."""
        fm = self.fontMetrics()
        x, row, out = 0, 0, []
        for st in self.states:
            w = CELL + 4 + fm.horizontalAdvance(self.names[st])
            if x and x + w > width:
                x, row = 0, row + 1
            out.append((x, row, st))
            x += w + 14
        return out

    def heightForWidth(self, width: int) -> int:
        rows = 1 + max((r for _, r, _ in self._entries(width)), default=0)
        return rows * self.ROW

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        fm = p.fontMetrics()
        for x, row, st in self._entries(self.width()):
            y = row * self.ROW
            if st == NOT_DATA:
                p.setPen(QPen(COLOURS[st], 1))
                p.drawRect(QRect(x, y + 5, CELL - 1, CELL - 1))
            else:
                p.fillRect(QRect(x, y + 5, CELL, CELL), COLOURS[st])
            p.setPen(self.palette().text().color())
            p.drawText(x + CELL + 4, y + 4 + fm.ascent(), self.names[st])
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(520, self.heightForWidth(520))

    def minimumSizeHint(self) -> QSize:
        return QSize(CELL * 4, self.ROW)


__all__ = ["COLOURS", "NAMES", "NOT_DATA", "VERIFY_NAMES", "Legend", "Qt", "SectorMap"]
