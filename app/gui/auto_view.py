"""Auto: an on/off switch per drive for unattended backup, and the queue of what each drive does.

A self-contained widget over ``app.core.library.auto.AutoRunner`` (the code behind `discvault
auto`): switching a drive on starts its worker (a disc put in is identified, then backed up into
the library, its gaps filled, or skipped as known); switching it off lets the disc in hand
finish. The runner's workers are plain threads; their events reach this widget through a
queued signal, and the table is refreshed from ``AutoRunner.status()`` a few times a second, so
nothing here waits for a drive.

Given the window's ``JobQueue``, a drive switched on is also held there for as long as its
worker runs (a "hold" job whose resource is the drive): a backup or a health scan started by
hand on that drive is refused, and a library resume waits in line until auto lets go of it.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import CancelToken
from app.core.library.auto import AutoError, AutoOptions, AutoRunner, Platform
from app.core.library.autolog import AutoEvent
from app.core.library.folder import Library
from app.gui.widgets import page_title, read_only_table
from app.gui.workers import Job, JobQueue

RECENT = 12  # discs the "last discs" list keeps
COLUMNS = ("Auto", "Drive", "Now", "Disc", "Progress")


class _Bridge(QObject):
    """Carries events from the runner's threads to the GUI thread (queued connection)."""

    arrived = Signal(object)


class AutoView(QWidget):
    status = Signal(str)
    notify = Signal(str, str)  # a disc is done: title, text
    switched = Signal(str, bool)  # a drive's switch, after it took effect (path, on)

    def __init__(
        self,
        library: str,
        drives: list[tuple[str, str]],  # (path, title)
        platform: Platform | None = None,
        options: AutoOptions | None = None,
        refresh_ms: int = 250,
        parent: QWidget | None = None,
        jobs: JobQueue | None = None,
        title: bool = True,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.holds: dict[str, tuple[Job, threading.Event]] = {}  # path: (job, let go)
        self._holding = threading.Lock()  # a hold lets go, or a switch keeps it: one at a time
        self.library = Library(library)
        self.platform = platform or _platform()
        self.options = options or AutoOptions()
        self.runner: AutoRunner | None = None
        self.bridge = _Bridge()
        self.bridge.arrived.connect(self._on_event)
        lay = QVBoxLayout(self)
        if title:
            lay.addWidget(page_title("Auto"))
        else:
            lay.setContentsMargins(0, 0, 0, 0)
        about = QLabel(
            f"Discs put in a drive that is on go into the library {self.library.root}: new "
            "ones are backed up, known incomplete ones filled in, known complete ones skipped."
        )
        about.setWordWrap(True)
        lay.addWidget(about)
        opts = QHBoxLayout()
        self.verify_box = QCheckBox("Verify against the disc")
        self.eject_box = QCheckBox("Eject when done (disc changers)")
        self.verify_box.setChecked(self.options.verify)
        self.eject_box.setChecked(self.options.eject)
        opts.addWidget(self.verify_box)
        opts.addWidget(self.eject_box)
        opts.addStretch(1)
        lay.addLayout(opts)
        # a drive's path and the disc's label share the room
        self.table = read_only_table(list(COLUMNS), stretch=(1, 3), rows=False)
        lay.addWidget(self.table, 1)
        lay.addWidget(QLabel("Last discs"))
        self.recent = QListWidget()
        lay.addWidget(self.recent, 1)
        self.switches: dict[str, QCheckBox] = {}
        self.bars: dict[str, QProgressBar] = {}
        self.set_drives(drives)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(refresh_ms)

    # ---- drives -------------------------------------------------------------------------------
    def set_drives(self, drives: list[tuple[str, str]]) -> None:
        """The drives to offer (drives that are on stay on while they are listed)."""
        on = {p for p, box in self.switches.items() if box.isChecked()}
        self.table.setRowCount(0)
        self.switches.clear()
        self.bars.clear()
        for path, title in drives:
            row = self.table.rowCount()
            self.table.insertRow(row)
            box = QCheckBox()
            box.setChecked(path in on)
            box.setAccessibleName(f"Auto for {title}")
            box.toggled.connect(lambda checked, p=path: self.switch(p, checked))
            self.table.setCellWidget(row, 0, box)
            self.table.setItem(row, 1, QTableWidgetItem(f"{title} ({path})"))
            self.table.setItem(row, 2, QTableWidgetItem("off"))
            self.table.setItem(row, 3, QTableWidgetItem(""))
            bar = QProgressBar()
            bar.setRange(0, 1000)
            self.table.setCellWidget(row, 4, bar)
            self.switches[path] = box
            self.bars[path] = bar

    def switch(self, path: str, on: bool) -> None:
        """Auto on or off for one drive (off: the disc in hand finishes first)."""
        try:
            if on:
                self._switch_on(path)
                self.status.emit(f"Auto is on for {path}")
            elif self.runner is not None:
                self.runner.remove_drive(path)
                self.status.emit(f"Auto is off for {path} (after the disc in it, if any)")
        except AutoError as e:
            self.status.emit(str(e))
            box = self.switches.get(path)
            if box is not None:
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)
            on = False
        self.switched.emit(path, on)

    def is_on(self, path: str) -> bool:
        box = self.switches.get(path)
        return box is not None and box.isChecked()

    def _switch_on(self, path: str) -> None:
        """Start (or keep) the drive's worker; with a JobQueue, hold the drive there."""
        if self.jobs is None:
            self._runner().add_drive(path)
            return
        with self._holding:
            held = self.holds.get(path)
            if held is not None and not held[1].is_set():  # still held: its worker goes on
                self._runner().add_drive(path)
                return
            if self.jobs.busy(path):
                raise AutoError(f"{path} is busy with another job — wait for it or cancel it")
            self._runner().add_drive(path)
            let_go = threading.Event()
            job = Job(lambda p, t: self._hold(path, let_go, t), resource=path, parent=self,
                      what=f"{path} (auto)")  # fmt: skip
            self.holds[path] = (job, let_go)
            self.jobs.start(job)

    def _hold(self, path: str, let_go: threading.Event, token: CancelToken) -> object:
        """The hold job, on its own thread: while the worker runs. Cancelled (the app is
        closing), the disc in hand stops with its mapfile saved and resumes at the next insert."""
        runner = self.runner
        stopping = False
        while runner is not None:
            if token.cancelled and not stopping:
                runner.remove_drive(path, cancel=True)
                stopping = True
            with self._holding:
                if not runner.watching(path):
                    let_go.set()
                    break
            time.sleep(0.1)
        let_go.set()
        return None

    def _runner(self) -> AutoRunner:
        if self.runner is None:
            self.options.verify = self.verify_box.isChecked()
            self.options.eject = self.eject_box.isChecked()
            self.verify_box.setEnabled(False)  # a run keeps its options: one meaning per log
            self.eject_box.setEnabled(False)
            runner = AutoRunner(self.library, self.options, self.platform, self.bridge.arrived.emit)
            runner.start([])
            self.runner = runner
        return self.runner

    # ---- what the drives do -------------------------------------------------------------------
    def refresh(self) -> None:
        if self.runner is None:
            return
        states = {s.path: s for s in self.runner.status()}
        for row in range(self.table.rowCount()):
            path = next(p for p, box in self.switches.items() if self._row_of(p) == row)
            st = states.get(path)
            doing = "off" if st is None or not self.switches[path].isChecked() else st.doing
            if st is not None and not self.switches[path].isChecked() and st.doing == "reading":
                doing = "finishing this disc, then off"
            self._set(row, 2, doing)
            self._set(row, 3, st.label if st is not None else "")
            p = st.progress if st is not None and st.doing == "reading" else None
            self.bars[path].setValue(round(1000 * p.fraction) if p is not None else 0)

    def _row_of(self, path: str) -> int:
        return list(self.switches).index(path)

    def _set(self, row: int, col: int, text: str) -> None:
        item = self.table.item(row, col)
        if item is not None and item.text() != text:
            item.setText(text)

    def _on_event(self, ev: AutoEvent) -> None:
        if ev.kind == "done":
            stamp = ev.at[11:16]
            line = f"{stamp}  {ev.drive}  {ev.message}"
            self.recent.insertItem(0, line)
            item = self.recent.item(0)
            if item is not None:
                item.setData(Qt.ItemDataRole.UserRole, ev.outcome)
            while self.recent.count() > RECENT:
                self.recent.takeItem(self.recent.count() - 1)
            self.notify.emit(f"Auto: {ev.label or 'a disc'} — {ev.outcome}", ev.message)
        elif ev.kind in ("paused", "resumed", "problem", "eject_failed"):
            self.status.emit(ev.message)

    # ---- the end ------------------------------------------------------------------------------
    def stop(self, wait_s: float = 30.0) -> bool:
        """Stop every drive now (backups save their mapfiles and resume at the next insert)."""
        self.timer.stop()
        if self.runner is None:
            return True
        self.runner.stop("the app is closing")
        ok = self.runner.wait(wait_s)
        self.runner.close()
        self.runner = None
        return ok

    def closeEvent(self, e: QCloseEvent) -> None:
        if self.isWindow() and self.runner is not None:
            e.ignore()  # closing the view is not switching auto off: it goes on, out of sight
            self.hide()
            return
        self.stop()
        super().closeEvent(e)


def _platform() -> Platform:
    from app.platform import drive_state, eject, open_source

    return Platform(open_source, drive_state, eject)


def open_auto_window(parent: QWidget, library: str, drives: list[tuple[str, str]]) -> AutoView:
    """The main window's hook: the view as its own window (closing it hides it; auto stops
    with ``stop()`` when the app quits)."""
    view = AutoView(library, drives, parent=parent)
    view.setWindowFlag(Qt.WindowType.Window, True)
    view.setWindowTitle("DiscVault — Auto")
    view.resize(900, 520)
    view.show()
    return view
