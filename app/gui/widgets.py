"""Small building blocks every page uses, so the pages look and behave alike."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QToolButton,
    QWidget,
)

from app.gui import theme


def read_only_table(
    headers: list[str], stretch: tuple[int, ...] = (0,), rows: bool = True
) -> QTableWidget:
    """A table the user reads and selects in, never edits: ``stretch`` columns share the
    room; ``rows``: one whole row is selected at a time."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    if rows:
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    for col in stretch:
        t.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
    return t


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
    """Enter on a page: a focused push or tool button is pressed (as Space would); anywhere
    else, a check box included, the page's main action runs (Space ticks a box: Enter toggling
    it as well undid the tick just made and ran nothing). Returns whether the key was used."""
    if e.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        return False
    focus = QApplication.focusWidget()
    boxes = (QCheckBox, QRadioButton)
    if isinstance(focus, QAbstractButton) and not isinstance(focus, boxes) and focus is not main:
        if focus.isEnabled():
            focus.click()
        return True
    if main.isEnabled() and main.isVisible():
        main.click()
    return True


class ElidedLabel(QLabel):
    """One line that never forces its width on the layout: shortened in the middle ("…")
    when narrow, whole in the tooltip. For titles that carry a path."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self.full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self.full

    def resizeEvent(self, event: object) -> None:
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideMiddle, self.width())
        super().setText(shown if self.width() > 0 else self.full)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())


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
        """``kind``: "error", "warn" or "info" (icon and border colour)."""
        self.kind = kind
        self.text.setText(text)
        self.icon.setPixmap(
            theme.icon(
                {"error": "error", "warn": "warning", "info": "info"}.get(kind, "ok")
            ).pixmap(22, 22)
        )
        border = theme.colour({"error": "bad", "info": "info"}.get(kind, "warn"))
        self.setStyleSheet(f"#banner {{ border: 2px solid {border}; border-radius: 4px; }}")
        self.setVisible(True)

    def clear(self) -> None:
        self.kind = ""
        self.text.setText("")
        self.setVisible(False)


class FlowLayout(QLayout):
    """Lays widgets out in rows that wrap, so a row of buttons fits a narrow window."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self.items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self.items.append(item)

    def count(self) -> int:
        return len(self.items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self.items[index] if 0 <= index < len(self.items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self.items.pop(index) if 0 <= index < len(self.items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self.items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        gap = self.spacing()
        for item in self.items:
            w = item.widget()
            if w is not None and w.isHidden():  # hidden on purpose ("Try another drive")
                continue
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            line = max(line, hint.height())
        return y + line - rect.y()
