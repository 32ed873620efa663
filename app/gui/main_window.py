"""The main window: drives on the left, the task in the middle, status at the bottom."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeyEvent,
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
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.gui import theme
from app.gui.applog import log_path, tail
from app.gui.backup_page import BackupPage
from app.gui.create_page import CreatePage
from app.gui.device_dialog import DeviceDialog
from app.gui.inspect_page import InspectPage
from app.gui.library_page import LibraryPage
from app.gui.settings import Settings
from app.gui.settings_dialog import SettingsDialog
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


PAGE_ICONS = ("backup", "verify", "inspect", "create", "library")
SWITCHER_STYLE = """
QToolButton#page { padding: 4px 10px; border: 1px solid transparent; border-radius: 5px; }
QToolButton#page:hover { border-color: palette(mid); }
QToolButton#page:checked { background: palette(highlight); color: palette(highlighted-text);
                           font-weight: bold; }
QToolButton#page:focus { border: 2px solid palette(highlight); }
QToolButton#page:checked:focus { border: 2px solid palette(text); }
"""
NO_DRIVE_NOTE = (
    "No optical drive found. The Demo drive below is simulated: a made-up scratched disc "
    "read through the same rescue engine, so you can try a backup."
)


class DrivePanel(QListWidget):
    enter_pressed = Signal()  # Enter on a drive: back it up (a double-click does not)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.current_entry():
            self.enter_pressed.emit()
            return
        super().keyPressEvent(e)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[SourceEntry] = []
        self.setAccessibleName("Drives")
        self.setMinimumWidth(150)
        self.setSpacing(2)
        self.setIconSize(QSize(28, 28))
        self.setWordWrap(True)

    def set_entries(self, entries: list[SourceEntry]) -> None:
        current = self.current_entry()
        keep = current.key if current else None
        self.blockSignals(True)
        self.entries = entries
        self.clear()
        for e in entries:
            lines = [e.title, e.detail]
            if e.label:
                lines.append(e.label)
            item = QListWidgetItem(theme.icon(e.icon), "\n".join(lines))
            item.setToolTip(e.path or e.title)
            self.addItem(item)
        self.blockSignals(False)
        for row, e in enumerate(entries):
            if e.key == keep:
                self.setCurrentRow(row)
                break
        else:
            if entries:
                self.setCurrentRow(0)
        self.currentRowChanged.emit(self.currentRow())

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
        outer.setContentsMargins(8, 6, 8, 4)
        bar = QHBoxLayout()
        name = QLabel("DiscVault")
        f = name.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.3)
        name.setFont(f)
        bar.addWidget(name)
        bar.addStretch(1)
        self.task_buttons = QButtonGroup(self)
        self.task_buttons.setExclusive(True)
        self.pages = QStackedWidget()
        self.backup = BackupPage(self.jobs, self.settings)
        self.verify = VerifyPage(self.jobs, self.settings)
        self.inspect = InspectPage(self.jobs, self.settings)
        self.create_page = CreatePage(self.jobs, self.settings)
        self.library = LibraryPage(self.jobs, self.settings.store)
        tasks = (
            ("Back up", self.backup),
            ("Verify", self.verify),
            ("Inspect", self.inspect),
            ("Create", self.create_page),
            ("Library", self.library),
        )
        for i, (label, page) in enumerate(tasks):
            b = QToolButton()
            b.setObjectName("page")
            b.setText(label)
            b.setCheckable(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setIconSize(QSize(20, 20))
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            b.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            b.setToolTip(f"{label} (Ctrl+{i + 1})")
            b.setAccessibleName(f"{label} page")
            b.setStyleSheet(SWITCHER_STYLE)
            self.task_buttons.addButton(b, i)
            bar.addWidget(b)
            self.pages.addWidget(page)
        self.task_buttons.button(0).setChecked(True)
        self.task_buttons.idClicked.connect(self.show_page)
        outer.addLayout(bar)
        self.split = QSplitter()
        self.split.setChildrenCollapsible(False)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        drives_title = QLabel("Drives")
        df = drives_title.font()
        df.setBold(True)
        drives_title.setFont(df)
        ll.addWidget(drives_title)
        self.no_drive = QLabel(NO_DRIVE_NOTE)
        self.no_drive.setWordWrap(True)
        ll.addWidget(self.no_drive)
        self.panel = DrivePanel()
        ll.addWidget(self.panel, 1)
        open_dev = QPushButton("Open device…")
        open_dev.setToolTip("Back up from another block device or an image file")
        open_dev.clicked.connect(self._open_source_dialog)
        ll.addWidget(open_dev)
        self.split.addWidget(left)
        self.split.addWidget(self.pages)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([230, 770])
        outer.addWidget(self.split, 1)
        self.setCentralWidget(central)
        self.panel.currentRowChanged.connect(lambda _: self._source_changed())
        self.panel.enter_pressed.connect(self._drive_activated)
        for page in (self.backup, self.verify, self.inspect, self.create_page, self.library):
            page.status.connect(self.statusBar().showMessage)
        self.library.inspect_requested.connect(lambda image, _path: self.open_image(image))
        self.library.notify.connect(self.notify)
        self.create_page.created.connect(self.open_image)
        self.backup.inspect_requested.connect(self.open_image)
        self.backup.verify_requested.connect(self._verify_image)
        self.backup.sources = lambda: self.panel.entries
        self.backup.notify.connect(self.notify)
        self.verify.notify.connect(self.notify)
        self.inspect.open_requested.connect(self._open_dialog)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.show()
        self._menus()
        self._refresh_icons()
        self.setMinimumSize(600, 420)
        geometry = self.settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
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
        act = QAction("Open &device…", self)
        act.setShortcut(QKeySequence("Ctrl+Shift+O"))
        act.triggered.connect(self._open_source_dialog)
        m.addAction(act)
        act = QAction("&Auto: back up every disc put in…", self)
        act.triggered.connect(self._open_auto)  # app/gui/auto_view.py (unattended backup)
        m.addAction(act)
        m.addSeparator()
        act = QAction("&Settings…", self)
        act.setShortcut(QKeySequence("Ctrl+,"))
        act.triggered.connect(self.show_settings)
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

    def _refresh_icons(self) -> None:
        for i, name in enumerate(PAGE_ICONS):
            self.task_buttons.button(i).setIcon(theme.icon(name))

    def show_page(self, i: int) -> None:
        self.task_buttons.button(i).setChecked(True)
        self.pages.setCurrentIndex(i)

    def show_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.settings, self)
        dlg.accepted.connect(self._settings_changed)
        dlg.open()
        self._settings_dialog = dlg
        return dlg

    def _settings_changed(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, self.settings.theme)
        self._refresh_icons()
        self.refresh_entries()
        self.backup.apply_settings()

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

    def drive_count_text(self) -> str:
        n = len(self.drives)
        if n == 0:
            return "no optical drive · the Demo drive is simulated"
        return f"{n} drive{'s' if n != 1 else ''} + the Demo drive"

    def refresh_entries(self) -> None:
        entries = [from_drive(d) for d in self.drives] + self.extra_sources
        entries.append(demo_entry(self.fast_demo))
        self.panel.set_entries(entries)
        self.no_drive.setVisible(not self.drives)
        if not self.jobs.running():
            self.statusBar().showMessage(f"Ready · {self.drive_count_text()}")

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

    def _drive_activated(self) -> None:
        """Enter on a drive: back it up."""
        self.show_page(0)
        self.backup.start_backup()

    def _open_source_dialog(self) -> None:
        dlg = DeviceDialog(self.settings, parent=self)
        if dlg.exec() and dlg.path:
            self.add_source(dlg.path)
            self.show_page(0)

    # ---- images ------------------------------------------------------------------------------
    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a disc image",
            self.settings.last_dir("image", self.settings.folder),
            "Disc images (*.iso *.img *.udf *.cue);;All files (*)",
        )
        if path:
            self.settings.remember_dir("image", path)
            self.open_image(path)

    def open_image(self, path: str) -> None:
        self.show_page(2)
        self.inspect.open(path)

    def _verify_image(self, path: str) -> None:
        """'Verify again' on a backup's card: run it, against the disc when it is still in."""
        self.show_page(1)
        entry = self.panel.current_entry()
        self.verify.verify_now(path, against_disc=entry is not None and entry.ready)

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
                self.show_page(3)
                self.create_page.set_folder(path)
                e.acceptProposedAction()
                return

    def _open_auto(self) -> None:
        from app.gui.auto_view import open_auto_window

        view = getattr(self, "auto_view", None)
        if view is None:
            drives = [(d.path, d.title) for d in self.drives if not d.simulated]
            self.auto_view = open_auto_window(self, self.library.library.root, drives)
        else:
            view.show()
            view.raise_()

    # ---- closing -----------------------------------------------------------------------------
    def closeEvent(self, e: QCloseEvent) -> None:
        # Reading an image's listing is not worth a question; a backup, verify or extract is.
        quiet = ("index:", "image:", "open:", "scan:")
        running = [j for j in self.jobs.running() if not j.resource.startswith(quiet)]
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
        self.settings.geometry = self.saveGeometry()
        self.settings.sync()
        self.timer.stop()
        self.jobs.cancel_all()
        if getattr(self, "auto_view", None) is not None:
            self.auto_view.stop()  # unattended backups save their mapfiles and stop
        e.accept()


def app_icon() -> QIcon:
    here = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "discvault.svg")
    return QIcon(os.path.abspath(here))


__all__ = ["MainWindow", "Qt", "app_icon"]
