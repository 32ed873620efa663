"""Small building blocks every page uses, so the pages look and behave alike."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from app.gui import theme


def page_title(text: str) -> QLabel:
    title = QLabel(text)
    f = title.font()
    f.setBold(True)
    f.setPointSizeF(f.pointSizeF() * 1.25)
    title.setFont(f)
    title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return title


def hint_label(text: str) -> QLabel:
    """The calm, centred text of an empty page."""
    hint = QLabel(text)
    hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
    hint.setWordWrap(True)
    hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
    hint.setForegroundRole(hint.foregroundRole())
    return hint


def path_row(
    label: str, edit: QLineEdit, pick: Callable[[], None], tooltip: str = "Choose…"
) -> QHBoxLayout:
    """'Label [ path ] […]': the row for choosing a file or folder."""
    row = QHBoxLayout()
    row.addWidget(QLabel(label))
    button = QToolButton()  # compact: a push button's minimum width is for words
    button.setText("…")
    button.setToolTip(tooltip)
    button.setAccessibleName(tooltip)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.clicked.connect(pick)
    edit.setAccessibleName(label)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def enter_pressed(e: QKeyEvent, main: QAbstractButton) -> bool:
    """Enter on a page: a focused button is pressed (as Space would); anywhere else the page's
    main action runs. Returns whether the key was used."""
    if e.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        return False
    focus = QApplication.focusWidget()
    if isinstance(focus, QAbstractButton) and focus is not main:
        if focus.isEnabled():
            focus.click()
        return True
    if main.isEnabled() and main.isVisible():
        main.click()
    return True


class Banner(QFrame):
    """A one-line message with an icon that nobody misses: failures, and what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        self.icon = QLabel()
        self.icon.setFixedSize(22, 22)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.text, 1)
        self.kind = ""
        self.setVisible(False)

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.text.setText(text)
        self.icon.setPixmap(
            theme.icon({"error": "error", "warn": "warning"}.get(kind, "ok")).pixmap(22, 22)
        )
        border = theme.colour("bad" if kind == "error" else "warn")
        self.setStyleSheet(f"#banner {{ border: 2px solid {border}; border-radius: 4px; }}")
        self.setVisible(True)

    def clear(self) -> None:
        self.kind = ""
        self.text.setText("")
        self.setVisible(False)
