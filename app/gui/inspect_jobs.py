"""The inspector's background jobs and small helpers: opening, indexing, Enter."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from app.core.base.events import CancelToken, ProgressCallback
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import InspectError, Node
from app.core.fs.sessions import mark_earlier, only_earlier
from app.gui.file_model import own_status
from app.gui.workers import CoreJob


@dataclass
class Indexed:
    """What the background pass over an opened image found."""

    nodes: list[Node]
    damage: dict[str, int]
    # Viewing an earlier session: path -> "deleted" / "replaced" by a later session.
    later: dict[str, str] = field(default_factory=dict)
    # Viewing the last session: (path, session, "deleted"/"replaced") of what only earlier
    # sessions hold.
    only_earlier: list[tuple[str, int, str]] = field(default_factory=list)
    # The longest status a node gives itself (a link's target, a listing problem), or "":
    # sizes the Status column, which goes when no row has anything to say.
    note: str = ""


def session_changes(insp: Inspection) -> tuple[dict[str, str], list[tuple[str, int, str]]]:
    """What differs between the shown session and the others (nothing for one session)."""
    if len(insp.sessions) < 2:
        return {}, []
    try:
        mark_earlier(insp)
        return dict(insp.later), only_earlier(insp)
    except InspectError as e:  # another session cannot be read: said, never fatal
        insp.problem(f"comparing sessions: {e}", "layout")
        return {}, []


def index_job(insp: Inspection, map_path: str | None) -> CoreJob:
    def run(progress: ProgressCallback, token: CancelToken) -> object:
        nodes: list[Node] = []
        note = ""
        # A gen-2 collection walks every object while holding the GIL (50-80 ms for 100 000
        # new nodes): the GUI would freeze. Nodes hold no cycles, so collect after the walk,
        # once, and freeze the survivors out of later passes.
        gc.disable()
        try:
            for n in insp.walk():
                nodes.append(n)
                if n.kind == "symlink" or n.problem or n.later:
                    said = own_status(n)
                    note = said if len(said) > len(note) else note
                if len(nodes) % 200 == 0:
                    token.raise_if_cancelled()
                    # Hand the GIL to the GUI thread: pure-Python work in a QThread otherwise
                    # starves the event loop for the whole walk.
                    time.sleep(0.0005)
        finally:
            gc.enable()
            gc.freeze()
        damage = insp.damage(map_path) if map_path else {}
        token.raise_if_cancelled()
        later, earlier = session_changes(insp)
        return Indexed(nodes, damage, later, earlier, note)

    return run


def open_and_list_root(path: str, session: int | None = None, view: str | None = None) -> object:
    """Open (the session and filesystem asked for, or the defaults) and read the root
    directory off the GUI thread, so the first view only shows it."""
    insp = open_image(path, session, view)
    insp.children(insp.root)
    return insp


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
