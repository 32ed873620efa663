"""Read speed over disc position: where the disc reads slowly, the line dips."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.core.base.units import speed


class SpeedGraph(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[float, float]] = []  # (fraction of disc, bytes/s)
        self.total = 0
        self.setMinimumHeight(60)
        self.setAccessibleName("Read speed over disc position")

    def sizeHint(self) -> QSize:
        return QSize(500, 90)

    def clear(self, total: int = 0) -> None:
        self.points, self.total = [], total
        self.update()

    def add(self, fraction: float, rate: float) -> None:
        if rate > 0 and (not self.points or abs(fraction - self.points[-1][0]) > 0.001):
            self.points.append((fraction, rate))
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        w, h = self.width(), self.height() - 14
        if not self.points:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(8, h // 2, "read speed appears here")
            return
        top = max(r for _, r in self.points) * 1.15
        path = QPainterPath()
        for k, (f, r) in enumerate(self.points):
            pt = QPointF(f * w, h - r / top * h)
            path.moveTo(pt) if k == 0 else path.lineTo(pt)
        p.setPen(QPen(self.palette().highlight().color(), 1.6))
        p.drawPath(path)
        p.setPen(self.palette().text().color())
        p.drawText(4, 12, f"max {speed(top / 1.15, self.total)}")
        p.drawText(4, self.height() - 2, "start of disc")
        label = "end"
        p.drawText(w - p.fontMetrics().horizontalAdvance(label) - 4, self.height() - 2, label)
