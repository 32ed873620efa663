"""Extract conflicts, asked on the GUI thread: Replace / Skip / Rename, once or for all.

The core's ``extract`` settles every entry that already exists by a policy, or asks a callback
on the worker thread: ``(image path, destination) -> (action, for all)``. ``ConflictAsker`` is
that callback. It hands the question to the GUI thread (a queued signal), where a window-modal
dialog asks; the worker waits for the answer, and gives up (refuse) as soon as the job is
cancelled, so closing the window never waits on an unanswered question. Nothing is staged: the
core writes each file under a temporary name and renames it into place only when whole.
"""

from __future__ import annotations

import os
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import CancelToken

ACTIONS = ("replace", "skip", "rename")


def renamed_example(dest: str) -> str:
    """The name Rename would use first (the core's rule: ``name (1).ext``)."""
    stem, ext = os.path.splitext(os.path.basename(dest))
    if os.path.isdir(dest):
        stem, ext = os.path.basename(dest), ""
    return f"{stem} (1){ext}"


class ConflictDialog(QDialog):
    """'README.txt already exists in /out' — Replace, Skip, Rename; for all; or stop."""

    answered = Signal(str, bool)  # action ("replace", "skip", "rename", "cancel"), for all

    def __init__(self, parent: QWidget | None, image_path: str, dest: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Already there")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        lay = QVBoxLayout(self)
        name = os.path.basename(dest)
        folder = os.path.dirname(dest)
        what = "A folder" if os.path.isdir(dest) else "A file"
        self.text = QLabel(
            f"{what} named “{name}” already exists in {folder}.\n\n"
            f"Replace it with {image_path} from the image, skip it, or keep both "
            f"(the new one named “{renamed_example(dest)}”)?"
        )
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.text)
        self.for_all = QCheckBox("Do the same for every other item that already exists")
        lay.addWidget(self.for_all)
        box = QDialogButtonBox()
        self.buttons: dict[str, QPushButton] = {}
        for action, label, role in (
            ("replace", "&Replace", QDialogButtonBox.ButtonRole.DestructiveRole),
            ("skip", "&Skip", QDialogButtonBox.ButtonRole.AcceptRole),
            ("rename", "Re&name", QDialogButtonBox.ButtonRole.ActionRole),
            ("cancel", "Stop extracting", QDialogButtonBox.ButtonRole.RejectRole),
        ):
            b = box.addButton(label, role)
            assert b is not None
            b.clicked.connect(lambda _=False, a=action: self._answer(a))
            self.buttons[action] = b
        self.buttons["skip"].setDefault(True)  # Enter never overwrites anything
        lay.addWidget(box)
        self._done = False

    def _answer(self, action: str) -> None:
        if self._done:
            return
        self._done = True
        self.answered.emit(action, self.for_all.isChecked())
        if action == "cancel":
            super().reject()
        else:
            self.accept()

    def reject(self) -> None:  # Escape or the window's close button: stop extracting
        if not self._done:
            self._done = True
            self.answered.emit("cancel", True)
        super().reject()


class ConflictAsker(QObject):
    """The core's conflict callback: called on the worker thread, answered on the GUI's."""

    _ask = Signal(str, str)
    _close = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.widget = parent
        self.token: CancelToken | None = None  # the extraction's, set before it starts
        self.dialog: ConflictDialog | None = None
        self._ready = threading.Event()
        self._answer: tuple[str, bool] = ("refuse", False)
        self._ask.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._close.connect(self._close_dialog, Qt.ConnectionType.QueuedConnection)

    def __call__(self, image_path: str, dest: str) -> tuple[str, bool]:
        """Worker thread: ask, and wait for the answer (or for the job to be cancelled)."""
        self._ready.clear()
        self._answer = ("refuse", False)
        self._ask.emit(image_path, dest)
        while not self._ready.wait(0.1):
            if self.token is not None and self.token.cancelled:
                self._close.emit()
                return "refuse", True
        return self._answer

    def _show(self, image_path: str, dest: str) -> None:
        dlg = ConflictDialog(self.widget, image_path, dest)
        dlg.answered.connect(self._answered)
        self.dialog = dlg
        dlg.open()

    def _answered(self, action: str, for_all: bool) -> None:
        self.dialog = None
        if action == "cancel":
            if self.token is not None:
                self.token.cancel("extraction stopped by the user")
            self._answer = ("refuse", True)
        else:
            self._answer = (action, for_all)
        self._ready.set()

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            dlg, self.dialog = self.dialog, None
            dlg.answered.disconnect(self._answered)
            dlg.close()
