"""A job's log: a toggle that says how many lines it holds, and the lines (no repeats)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from app.gui.applog import LOG


class LogPanel(QWidget):
    """Lives below a page's progress view and result card alike, so the log of a finished job
    stays one click away."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(2000)
        self.view.setFont(QFont("monospace"))
        self.view.setVisible(False)
        self.view.setAccessibleName("Log")
        lay.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.view, 1)
        self.toggle.toggled.connect(self._show)
        self.lines = 0
        self._last = ""
        self._title()

    def _show(self, on: bool) -> None:
        self.view.setVisible(on)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def _title(self) -> None:
        self.toggle.setText(f"Log ({self.lines} line{'' if self.lines == 1 else 's'})")
        self.setVisible(self.lines > 0)  # nothing to show before the first job

    def add(self, line: str) -> None:
        """Append ``line`` unless it repeats the previous one (a phase reports its message with
        every progress tick; the log wants it once)."""
        if line == self._last:
            return
        self._last = line
        LOG.info(line)
        self.view.appendPlainText(time.strftime("%H:%M:%S  ") + line)
        self.lines = min(self.lines + 1, self.view.maximumBlockCount())
        self._title()

    def clear(self) -> None:
        self.view.clear()
        self.lines = 0
        self._last = ""
        self._title()

    def text(self) -> str:
        return self.view.toPlainText()
