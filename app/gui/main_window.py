"""The main window: drives on the left, the task in the middle, status at the bottom."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.gui.applog import log_path, tail
from app.gui.backup_page import BackupPage
from app.gui.create_page import CreatePage
from app.gui.inspect_page import InspectPage
from app.gui.library_page import LibraryPage
from app.gui.settings import Settings
from app.gui.sources import SourceEntry, demo_entry, from_drive, from_path
from app.gui.verify_page import VerifyPage
from app.gui.workers import JobQueue
from app.platform import DriveInfo, list_drives

IMAGE_SUFFIXES = (".iso", ".img", ".udf", ".cue")


class _DriveScan(QObject):
    found = Signal(list)


class _ScanTask(QRunnable):
    """Drive status ioctls can block while a drive spins up: never on the GUI thread."""

    def __init__(self, signals: _DriveScan) -> None:
        super().__init__()
        self.signals = signals

    def run(self) -> None:
        try:
            drives = list_drives()
        except OSError:
            drives = []
        self.signals.found.emit(drives)


class DrivePanel(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[SourceEntry] = []
        self.setAccessibleName("Drives")
        self.setMinimumWidth(210)
        self.setSpacing(2)

    def set_entries(self, entries: list[SourceEntry]) -> None:
        current = self.current_entry()
        keep = current.key if current else None
        self.entries = entries
        self.clear()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DriveCDIcon)
        for e in entries:
            lines = [e.title, f"    {e.detail}"]
            if e.label:
                lines.append(f"    {e.label}")
            item = QListWidgetItem(icon, "\n".join(lines))
            item.setToolTip(e.path or e.title)
            self.addItem(item)
        for row, e in enumerate(entries):
            if e.key == keep:
                self.setCurrentRow(row)
                break
        else:
            if entries:
                self.setCurrentRow(0)

    def current_entry(self) -> SourceEntry | None:
        row = self.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None


class MainWindow(QMainWindow):
    def __init__(
        self, settings: Settings | None = None, fast_demo: bool = False, poll_ms: int = 2000
    ) -> None:
        super().__init__()
        self.setWindowTitle("DiscVault")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.jobs = JobQueue()
        self.fast_demo = fast_demo
        self.extra_sources: list[SourceEntry] = []
        self.drives: list[DriveInfo] = []
        central = QWidget()
        outer = QVBoxLayout(central)
        bar = QHBoxLayout()
        name = QLabel("DiscVault")
        f = name.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        name.setFont(f)
        bar.addWidget(name)
        bar.addStretch(1)
        self.task_buttons = QButtonGroup(self)
        self.pages = QStackedWidget()
        self.backup = BackupPage(self.jobs, self.settings)
        self.verify = VerifyPage(self.jobs, self.settings)
        self.inspect = InspectPage(self.jobs)
        self.create_page = CreatePage(self.jobs)
        self.library = LibraryPage(self.jobs, self.settings.store)
        tasks = (
            ("Back up", self.backup),
            ("Verify", self.verify),
            ("Inspect", self.inspect),
            ("Create", self.create_page),
            ("Library", self.library),
        )
        for i, (label, page) in enumerate(tasks):
            b = QPushButton(label)
            b.setCheckable(True)
            b.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            self.task_buttons.addButton(b, i)
            bar.addWidget(b)
            self.pages.addWidget(page)
        self.task_buttons.button(0).setChecked(True)
        self.task_buttons.idClicked.connect(self.pages.setCurrentIndex)
        outer.addLayout(bar)
        split = QSplitter()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("DRIVES"))
        self.panel = DrivePanel()
        ll.addWidget(self.panel, 1)
        split.addWidget(left)
        split.addWidget(self.pages)
        split.setStretchFactor(1, 1)
        split.setSizes([240, 760])
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self.panel.currentRowChanged.connect(lambda _: self._source_changed())
        for page in (self.backup, self.verify, self.inspect, self.create_page, self.library):
            page.status.connect(self.statusBar().showMessage)
        self.library.inspect_requested.connect(lambda image, _path: self.open_image(image))
        self.library.notify.connect(self.notify)
        self.create_page.created.connect(self.open_image)
        self.backup.inspect_requested.connect(self.open_image)
        self.backup.verify_requested.connect(self._verify_image)
        self.backup.notify.connect(self.notify)
        self.verify.notify.connect(self.notify)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.show()
        self._menus()
        self.statusBar().showMessage("Ready")
        self.resize(1100, 720)
        self._scan = _DriveScan()
        self._scan.found.connect(self._drives_found)
        self.refresh_entries()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.scan_drives)
        if poll_ms:
            self.timer.start(poll_ms)
            self.scan_drives()

    def _menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        act = QAction("&Open image…", self)
        act.setShortcut(QKeySequence.StandardKey.Open)
        act.triggered.connect(self._open_dialog)
        m.addAction(act)
        act = QAction("Open &device or image as a source…", self)
        act.triggered.connect(self._open_source_dialog)
        m.addAction(act)
        m.addSeparator()
        act = QAction("&Quit", self)
        act.setShortcut(QKeySequence.StandardKey.Quit)
        act.triggered.connect(self.close)
        m.addAction(act)
        h = self.menuBar().addMenu("&Help")
        h.addAction("Show &log", self.show_log)
        h.addAction(
            "About DiscVault",
            lambda: QMessageBox.about(
                self,
                "DiscVault",
                f"DiscVault {__version__}\nBack up optical discs to verified .iso images.",
            ),
        )

    def notify(self, title: str, text: str) -> None:
        """A long job ended: tell the user even if the window is behind others."""
        QApplication.alert(self)
        if self.tray is not None and not self.isActiveWindow():
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def show_log(self) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle(f"DiscVault log — {log_path()}")
        view = QPlainTextEdit(tail())
        view.setReadOnly(True)
        view.moveCursor(QTextCursor.MoveOperation.End)
        lay = QVBoxLayout(dlg)
        lay.addWidget(view)
        dlg.resize(800, 500)
        dlg.show()
        self._log_dialog = dlg

    # ---- drives ----------------------------------------------------------------------------
    def scan_drives(self) -> None:
        QThreadPool.globalInstance().start(_ScanTask(self._scan))

    def _drives_found(self, drives: list[DriveInfo]) -> None:
        if [(d.path, d.state, d.label, d.sectors) for d in drives] != [
            (d.path, d.state, d.label, d.sectors) for d in self.drives
        ]:
            self.drives = drives
            self.refresh_entries()

    def refresh_entries(self) -> None:
        entries = [from_drive(d) for d in self.drives] + self.extra_sources
        entries.append(demo_entry(self.fast_demo))
        self.panel.set_entries(entries)
        n = len(self.drives)
        self.statusBar().showMessage(f"Ready · {n} drive{'s' if n != 1 else ''}")

    def add_source(self, path: str) -> SourceEntry:
        entry = from_path(path)
        self.extra_sources = [e for e in self.extra_sources if e.key != path] + [entry]
        self.refresh_entries()
        self.panel.setCurrentRow(self.panel.entries.index(entry))
        return entry

    def _source_changed(self) -> None:
        entry = self.panel.current_entry()
        self.backup.set_source(entry)
        self.verify.set_source(entry)
        self.library.set_source(entry)

    def _open_source_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Back up from a device or image", "/dev")
        if path:
            self.add_source(path)

    # ---- images ------------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a disc image", "", "Disc images (*.iso *.img *.udf *.cue);;All files (*)"
        )
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> None:
        self.task_buttons.button(2).setChecked(True)
        self.pages.setCurrentWidget(self.inspect)
        self.inspect.open(path)

    def _verify_image(self, path: str) -> None:
        self.task_buttons.button(1).setChecked(True)
        self.pages.setCurrentWidget(self.verify)
        self.verify.set_image(path)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        for url in e.mimeData().urls():
            path = url.toLocalFile()
            if os.path.isfile(path):
                self.open_image(path)
                e.acceptProposedAction()
                return
            if os.path.isdir(path):
                self.task_buttons.button(3).setChecked(True)
                self.pages.setCurrentWidget(self.create_page)
                self.create_page.set_folder(path)
                e.acceptProposedAction()
                return

    # ---- closing -----------------------------------------------------------------------------
    def closeEvent(self, e: QCloseEvent) -> None:
        running = [j for j in self.jobs.running() if not j.resource.startswith("index:")]
        if running:
            ask = QMessageBox.question(
                self,
                "DiscVault",
                "A job is still running. Stop it and quit? A backup can be "
                "resumed later: nothing read so far is lost.",
            )
            if ask != QMessageBox.StandardButton.Yes:
                e.ignore()
                return
        self.timer.stop()
        self.jobs.cancel_all()
        e.accept()


def app_icon() -> QIcon:
    here = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "discvault.svg")
    return QIcon(os.path.abspath(here))


__all__ = ["MainWindow", "Qt", "app_icon"]
