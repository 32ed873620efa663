"""The inspector's background jobs and small helpers: opening, indexing, Enter, conflicts."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.base.events import CancelToken, ProgressCallback
from app.core.base.units import plural
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import Node
from app.gui.workers import CoreJob


def index_job(insp: Inspection, map_path: str | None) -> CoreJob:
    def run(progress: ProgressCallback, token: CancelToken) -> object:
        nodes: list[Node] = []
        # A gen-2 collection walks every object while holding the GIL (50-80 ms for 100 000
        # new nodes): the GUI would freeze. Nodes hold no cycles, so collect after the walk,
        # once, and freeze the survivors out of later passes.
        gc.disable()
        try:
            for n in insp.walk():
                nodes.append(n)
                if len(nodes) % 200 == 0:
                    token.raise_if_cancelled()
                    # Hand the GIL to the GUI thread: pure-Python work in a QThread otherwise
                    # starves the event loop for the whole walk.
                    time.sleep(0.0005)
        finally:
            gc.enable()
            gc.freeze()
        damage = insp.damage(map_path) if map_path else {}
        return nodes, damage

    return run


def open_and_list_root(path: str) -> Inspection:
    """Open and read the root directory off the GUI thread, so the first view only shows it."""
    insp = open_image(path)
    insp.children(insp.root)
    return insp


def ask_conflict_policy(parent: QWidget, names: list[str], folder: str) -> str | None:
    """Replace, Skip or Rename, for every item that already exists; None: do not extract."""
    box = QMessageBox(parent)
    box.setWindowTitle("Already there")
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    box.setText(f"{plural(len(names), 'item')} already exist in {folder}: {shown}.")
    box.setInformativeText("What should happen to each of them? (This applies to all.)")
    buttons = [
        (box.addButton("Replace all", QMessageBox.ButtonRole.DestructiveRole), "replace"),
        (box.addButton("Skip all", QMessageBox.ButtonRole.AcceptRole), "skip"),
        (box.addButton("Rename all", QMessageBox.ButtonRole.ActionRole), "rename"),
    ]
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return next((policy for b, policy in buttons if b is clicked), None)


class EnterFilter(QObject):
    """Enter on a file list opens the selection (a folder opens or closes, a file opens)."""

    def __init__(self, page: QWidget, action: Callable[[], None]) -> None:
        super().__init__(page)
        self.action = action

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:
        enter = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if isinstance(e, QKeyEvent) and e.type() == QEvent.Type.KeyPress and e.key() in enter:
            self.action()
            return True
        return False
