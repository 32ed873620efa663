"""Read speed over disc position: where the disc reads slowly, the line dips.

Speeds are kept per slice of the disc (400 slices), not as a list of samples: a reverse pass
or a second sweep overwrites the slices it reads again instead of drawing back across the line.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.core.base.units import speed

SLICES = 400


class SpeedGraph(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slices: dict[int, float] = {}  # slice of the disc -> bytes/s
        self.medium: str | None = None
        self.title = ""
        self.setMinimumHeight(48)
        self.setAccessibleName("Read speed over disc position")

    @property
    def points(self) -> list[tuple[float, float]]:
        """(fraction of the disc, bytes/s), in disc order."""
        return [((k + 0.5) / SLICES, r) for k, r in sorted(self.slices.items())]

    def sizeHint(self) -> QSize:
        return QSize(500, 90)

    def clear(self, title: str = "", medium: str | None = None) -> None:
        self.slices, self.medium, self.title = {}, medium, title
        self.update()

    def add(self, fraction: float, rate: float) -> None:
        if rate > 0:
            self.slices[min(int(fraction * SLICES), SLICES - 1)] = rate
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        w, h = self.width(), self.height() - 14
        pts = self.points
        if not pts:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(8, h // 2 + 6, "read speed over the disc appears here")
            return
        top = max(r for _, r in pts) * 1.15
        path = QPainterPath()
        for k, (f, r) in enumerate(pts):
            pt = QPointF(f * w, h - r / top * h)
            path.moveTo(pt) if k == 0 else path.lineTo(pt)
        p.setPen(QPen(self.palette().highlight().color(), 1.6))
        p.drawPath(path)
        p.setPen(self.palette().text().color())
        head = f"max {speed(top / 1.15, self.medium)}"
        p.drawText(4, 12, f"{self.title} · {head}" if self.title else head)
        p.drawText(4, self.height() - 2, "start of disc")
        label = "end"
        p.drawText(w - p.fontMetrics().horizontalAdvance(label) - 4, self.height() - 2, label)
        p.end()
