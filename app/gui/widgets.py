"""Small building blocks every page uses, so the pages look and behave alike."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton


def page_title(text: str) -> QLabel:
    title = QLabel(text)
    f = title.font()
    f.setBold(True)
    f.setPointSizeF(f.pointSizeF() * 1.25)
    title.setFont(f)
    return title


def path_row(
    label: str, edit: QLineEdit, pick: Callable[[], None], tooltip: str = "Choose…"
) -> QHBoxLayout:
    """'Label [ path ] […]': the row for choosing a file or folder."""
    row = QHBoxLayout()
    row.addWidget(QLabel(label))
    button = QPushButton("…")
    button.setToolTip(tooltip)
    button.clicked.connect(pick)
    edit.setAccessibleName(label)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row
