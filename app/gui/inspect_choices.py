"""Which part of an image the inspector shows: the session of a multi-session disc, and the
filesystem tree of a hybrid (ISO 9660, UDF, HFS). Shown only when there is a choice.

By default the core opens the last session, which is what a computer shows when the disc goes
in, and the best tree (Rock Ridge or Joliet names over UDF over HFS).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection

VIEW_NAMES = {
    "iso9660": "ISO 9660 (what Windows and Linux show)",
    "udf": "UDF",
    "hfs": "HFS (what a Mac shows)",
}


class ViewChoices(QWidget):
    changed = Signal(int, str)  # session number, filesystem view

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.session_label = QLabel("&Session")
        self.session = QComboBox()
        self.session.setAccessibleName("Session")
        self.session.setToolTip(
            "A multi-session disc holds one tree per session. The last is what a computer "
            "shows; earlier ones may hold files deleted or replaced later."
        )
        self.session_label.setBuddy(self.session)
        self.view_label = QLabel("&Filesystem")
        self.view = QComboBox()
        self.view.setAccessibleName("Filesystem")
        self.view.setToolTip("A hybrid disc holds the same files in several filesystems.")
        self.view_label.setBuddy(self.view)
        for w in (self.session_label, self.session, self.view_label, self.view):
            lay.addWidget(w)
        lay.addStretch(1)
        self.session.activated.connect(lambda _: self._emit())
        self.view.activated.connect(lambda _: self._emit())
        self.setVisible(False)

    def _emit(self) -> None:
        session, view = self.session.currentData(), self.view.currentData()
        if isinstance(session, int) and isinstance(view, str):
            self.changed.emit(session, view)

    def show_for(self, insp: Inspection | None) -> None:
        """Fill both lists from the opened image; hide what offers no choice."""
        self.session.clear()
        self.view.clear()
        if insp is None:
            self.setVisible(False)
            return
        sessions = insp.sessions
        last = sessions[-1][0] if sessions else 1
        for number, start, end in sessions:
            text = f"Session {number}"
            if number == last and len(sessions) > 1:
                text += " (the last: what a computer shows)"
            self.session.addItem(text, number)
            self.session.setItemData(
                self.session.count() - 1,
                f"sectors {start:,}–{max(end - 1, start):,} ({human_bytes((end - start) * 2048)})",
                Qt.ItemDataRole.ToolTipRole,
            )
            if number == insp.session:
                self.session.setCurrentIndex(self.session.count() - 1)
        for view in insp.views or [insp.view]:
            self.view.addItem(VIEW_NAMES.get(view, view), view)
            if view == insp.view:
                self.view.setCurrentIndex(self.view.count() - 1)
        many_sessions, many_views = len(sessions) > 1, len(insp.views) > 1
        for w in (self.session_label, self.session):
            w.setVisible(many_sessions)
        for w in (self.view_label, self.view):
            w.setVisible(many_views)
        self.setVisible(many_sessions or many_views)
