"""Library: every disc on the shelf with its state badge, a search over every file, and the
selected disc's details (final sector map, damaged files, verifications, health scans).

Everything that touches the catalogue, an image or a drive runs as a job (``workers.Job``,
through the window's ``JobQueue``); the page only shows what comes back. Re-verify reads the
stored image; Health scan reads the drive selected on the left, with the drive as the job's
resource so that a drive is never read by two jobs. "Open in inspector" is the signal
``inspect_requested(image, path)`` for the main window; Extract runs here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import CancelToken, Progress, ProgressCallback
from app.core.base.units import human_bytes
from app.core.library import into
from app.core.library import view as shelf_view
from app.core.library.folder import Library, LibraryError
from app.core.library.records import Hit, day_of
from app.core.library.view import DiscDetails, ShelfView
from app.gui import backup_shelf as shelf
from app.gui.backup_shelf import FOLDER_KEY, library_root
from app.gui.extract_policy import ConflictAsker
from app.gui.library_details import DiscPanel
from app.gui.settings import Settings
from app.gui.sources import SourceEntry
from app.gui.widgets import ElidedLabel, FlowLayout, read_only_table
from app.gui.workers import BusyError, CoreJob, Job, JobQueue

RED, ORANGE, GREEN = "#d62728", "#e67e22", "#2ca02c"
BADGE_COLOURS = {"changed": RED, "missing": RED, "unreadable": RED, "mismatch": RED,
                 "incomplete": ORANGE, "verified": GREEN}  # fmt: skip
SEARCH_LIMIT = 500
_ids = itertools.count(1)


class LibraryPage(QWidget):
    status = Signal(str)
    notify = Signal(str, str)  # title, text: a long job ended
    inspect_requested = Signal(str, str)  # image, path inside it ("" for the disc itself)
    extracted = Signal(str)  # the folder a search hit went into

    def __init__(
        self, jobs: JobQueue, store: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.store = store  # ``Settings.store``: remembers the library folder
        self.source: SourceEntry | None = None  # the drive selected on the left
        self.view = ShelfView()
        self.details: DiscDetails | None = None
        self.hits: list[Hit] = []
        self.task: Job | None = None
        self._task_text = ""
        self._search_id = 0
        self.library = Library(library_root(store))
        lay = QVBoxLayout(self)
        # The title carries the folder's path: shortened in the middle when narrow, and the
        # buttons wrap onto a second row, so nothing is cut off at 640x480.
        self.title = ElidedLabel()
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        self.title.setFont(f)
        lay.addWidget(self.title)
        head = FlowLayout()
        for text, slot in (("Folder…", self._pick_folder), ("Add backup…", self._pick_backup),
                           ("Verify all", self.verify_all), ("Rebuild", self.rebuild)):  # fmt: skip
            b = QPushButton(text)
            b.clicked.connect(slot)
            head.addWidget(b)
        lay.addLayout(head)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search every file on the shelf: IMG_0042, holiday, *.pdf")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the shelf")
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        lay.addWidget(self.search)
        split = QSplitter(Qt.Orientation.Vertical)
        self.stack = QStackedWidget()
        self.table = read_only_table(["Disc", "Backed up", "Size", "Files", "State", "Health"])
        self.table.itemSelectionChanged.connect(self._disc_selected)
        # The state badge is what the user reads first: never cut to "90.1 KB unreadable (…".
        self.table.horizontalHeader().setSectionResizeMode(
            4, QHeaderView.ResizeMode.ResizeToContents
        )
        self.stack.addWidget(self.table)
        self.stack.addWidget(self._results_view())
        split.addWidget(self.stack)
        self.panel = DiscPanel()
        actions = (self.reverify, self.health_scan, self.resume_here, self.open_disc,
                   self.open_folder)  # fmt: skip
        for button, slot in zip(self.panel.buttons.values(), actions, strict=True):
            button.clicked.connect(slot)
        split.addWidget(self.panel)
        split.setSizes([300, 320])
        lay.addWidget(split, 1)
        bar = QHBoxLayout()
        self.task_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(lambda: self.task and self.task.cancel())
        bar.addWidget(self.task_label, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_btn)
        lay.addLayout(bar)
        self._busy(None)
        self._hit_selected()
        self.refresh()

    def showEvent(self, e: QShowEvent) -> None:
        # Backups from the Back up page (and auto) add discs while the page is out of sight.
        super().showEvent(e)
        self.refresh()

    def _results_view(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.results = read_only_table(["Name", "Path", "Disc", "Size", "Damage"])
        self.results.itemSelectionChanged.connect(self._hit_selected)
        self.results.doubleClicked.connect(lambda _: self.open_hit())
        lay.addWidget(self.results, 1)
        row = QHBoxLayout()
        self.hit_note = QLabel()
        self.open_hit_btn = QPushButton("Open in inspector")
        self.open_hit_btn.clicked.connect(lambda: self.open_hit())
        self.extract_btn = QPushButton("Extract…")
        self.extract_btn.clicked.connect(lambda: self.extract_hit())
        row.addWidget(self.hit_note, 1)
        row.addWidget(self.open_hit_btn)
        row.addWidget(self.extract_btn)
        lay.addLayout(row)
        return box

    # ---- jobs -------------------------------------------------------------------------------
    def _job(
        self,
        fn: CoreJob,
        resource: str,
        on_done: Callable[[object], object],
        *,
        task: str = "",
        on_fail: Callable[[str], object] | None = None,
        queue: bool = False,
        what: str = "",
    ) -> Job | None:
        """Run ``fn`` off the GUI thread; a ``task`` shows in the progress bar, cancellable.
        With ``queue`` a busy resource (a drive reading another disc) makes the job wait in
        line instead of refusing it."""
        job = Job(fn, resource=resource, parent=self, what=what)
        job.finished.connect(on_done)
        job.failed.connect(on_fail or (lambda m: self._failed(m, bool(task))))
        if task:
            job.progress.connect(self._on_progress)
            job.done.connect(lambda: self._busy(None))
        waiting = queue and self.jobs.busy(resource)
        try:
            self.jobs.start(job, queue=queue)
        except BusyError as e:
            self.status.emit(str(e))
            return None
        if task:
            self.task, self._task_text = job, task
            self._busy(f"Waiting for {job.what}: {task}" if waiting else task)
        return job

    def _busy(self, task: str | None) -> None:
        self.task_label.setText(task or "")
        self.progress.setVisible(task is not None)
        self.cancel_btn.setVisible(task is not None)
        self.progress.setValue(0)
        if task is None:
            self.task = None

    def _on_progress(self, p: Progress) -> None:
        self.progress.setValue(int(1000 * p.fraction))
        self.task_label.setText(p.message or self._task_text)

    def _failed(self, message: str, task: bool) -> None:
        line = message.splitlines()[0] if message else "failed"
        self.status.emit(line)
        if task:
            self.task_label.setText(line)

    def _then_refresh(self, title: str) -> Callable[[object], None]:
        """When a job that changed the shelf ends: say so, and show the shelf as it is now."""

        def done(result: object) -> None:
            text = str(getattr(result, "summary", result))
            self.status.emit(text)
            self.notify.emit(title, text)
            self.refresh()
            if self.details is not None:
                self.load_details(self.details.record.folder)

        return done

    # ---- the shelf --------------------------------------------------------------------------
    def set_folder(self, folder: str) -> None:
        self.library = Library(folder)
        if self.store is not None:
            self.store.setValue(FOLDER_KEY, folder)
        self.details = None
        self.panel.show_disc(None, "")
        self.refresh()

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library folder", self.library.root)
        if folder:
            self.set_folder(folder)

    def refresh(self) -> None:
        lib = self.library
        self.title.setText(f"Library  ·  {lib.root}")
        self._job(lambda progress, token: shelf_view.load_shelf(lib),
                  f"library:list:{next(_ids)}", self._shelf_loaded)  # fmt: skip

    def _shelf_loaded(self, view: object) -> None:
        assert isinstance(view, ShelfView)
        keep = self.details.record.folder if self.details else None
        self.view = view
        self.table.blockSignals(True)  # re-selecting the same disc must not reload it
        self.table.setRowCount(len(view.discs))
        for row, (rec, st) in enumerate(view.discs):
            cells = (rec.label, day_of(rec.backed_up), human_bytes(rec.image_bytes),
                     f"{rec.file_count:,}", st.badge, st.health)  # fmt: skip
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(rec.folder if col == 0 else text)
                if col == 4 and st.key in BADGE_COLOURS:
                    item.setForeground(QColor(BADGE_COLOURS[st.key]))
                    font = item.font()
                    font.setBold(st.alarming)
                    item.setFont(font)
                self.table.setItem(row, col, item)
            if rec.folder == keep:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        n = len(view.discs)
        shelf = f"{n} disc{'s' if n != 1 else ''}, {view.files:,} files"
        self.title.setText(f"Library  ·  {shelf}  ·  {self.library.root}")
        if view.message:
            self.panel.head.setText(view.message)
        self.status.emit(view.message or f"Library: {shelf}")

    def badge(self, label: str) -> str:
        """The state badge the table shows for the disc labelled ``label`` ("" if none)."""
        return next((st.badge for rec, st in self.view.discs if rec.label == label), "")

    def _disc_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.view.discs):
            self.load_details(self.view.discs[rows[0].row()][0].folder)

    def select(self, label: str) -> None:
        row = next(i for i, (rec, _) in enumerate(self.view.discs) if rec.label == label)
        self.table.selectRow(row)

    def load_details(self, folder: str) -> None:
        lib = self.library
        self._job(lambda progress, token: shelf_view.load_details(lib, folder),
                  f"library:details:{next(_ids)}", self._details_loaded)  # fmt: skip

    def _details_loaded(self, details: object) -> None:
        self.details = details if isinstance(details, DiscDetails) else None
        folder = self.library.path(self.details.record.folder) if self.details else ""
        self.panel.show_disc(self.details, folder)

    # ---- search -----------------------------------------------------------------------------
    def _run_search(self) -> None:
        text = self.search.text().strip()
        if not text:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        self._search_id += 1
        sid, lib = self._search_id, self.library
        self._job(lambda progress, token: shelf_view.search(lib, text, SEARCH_LIMIT),
                  f"library:search:{sid}", lambda res: self._searched(sid, res),
                  on_fail=lambda m: self._search_failed(sid, m))  # fmt: skip

    def _searched(self, sid: int, res: object) -> None:
        if sid != self._search_id or not isinstance(res, tuple):
            return  # an older search, overtaken by typing
        self.hits, more = res
        self.results.setRowCount(len(self.hits))
        for row, h in enumerate(self.hits):
            name = h.path.rsplit("/", 1)[-1] + ("/" if h.kind == "dir" else "")
            dmg = f"{human_bytes(h.unreadable)} unreadable" if h.unreadable else ""
            size = "" if h.kind == "dir" else human_bytes(h.size)
            for col, text in enumerate((name, h.path, h.label, size, dmg)):
                item = QTableWidgetItem(text)
                if col == 4 and dmg:
                    item.setForeground(QColor(RED))
                self.results.setItem(row, col, item)
        n = len(self.hits)
        self.hit_note.setText(
            f"the first {n} matches: type more to narrow" if more else f"{n} match{'es' * (n != 1)}"
        )
        if n:
            self.results.selectRow(0)
        self._hit_selected()

    def _search_failed(self, sid: int, message: str) -> None:
        if sid == self._search_id:  # words the index cannot look up: say what to type
            self.hits = []
            self.results.setRowCount(0)
            self.hit_note.setText(message.splitlines()[0])
            self._hit_selected()

    def current_hit(self) -> Hit | None:
        rows = self.results.selectionModel().selectedRows()
        return self.hits[rows[0].row()] if rows and rows[0].row() < len(self.hits) else None

    def _hit_selected(self) -> None:
        hit = self.current_hit()
        self.open_hit_btn.setEnabled(hit is not None)
        self.extract_btn.setEnabled(hit is not None and hit.kind != "symlink")

    def open_hit(self) -> None:
        hit = self.current_hit()
        if hit is not None:
            self.inspect_requested.emit(hit.image, hit.path)

    def extract_hit(self, out_dir: str | None = None) -> Job | None:
        hit = self.current_hit()
        out = out_dir or (hit and QFileDialog.getExistingDirectory(self, "Extract into", ""))
        if hit is None or not out:
            return None
        asker = ConflictAsker(self)  # an item already there: Replace / Skip / Rename, asked

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            from app.core.fs.extract import extract
            from app.core.fs.inspection import open_image

            insp = open_image(hit.image)
            try:
                return extract(insp, [hit.path], out, progress, token, asker)
            finally:
                insp.close()

        def done(res: object) -> None:
            refused = getattr(res, "refused", [])
            self.status.emit(f"{hit.path}: {refused[0][1]}" if refused else f"Extracted into {out}")
            self.extracted.emit(out)

        job = self._job(run, f"image:{hit.image}:extract", done, task=f"Extracting {hit.path}…")
        if job is not None:
            asker.token = job.token
        return job

    # ---- actions on the shelf and on a disc -------------------------------------------------
    def set_source(self, entry: SourceEntry | None) -> None:
        """The drive selected on the left: what Health scan reads."""
        self.source = entry

    def reverify(self) -> Job | None:
        if self.details is None:
            return None
        from app.core.library.catalogue import Catalogue
        from app.core.library.reverify import verify_disc

        lib, rec = self.library, self.details.record

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            with Catalogue(lib, what="Re-verify (DiscVault app)") as cat:
                return verify_disc(lib, cat, rec.folder, progress, token)

        return self._job(run, f"library:verify:{rec.folder}", self._then_refresh("Re-verified"),
                         task=f"Re-verifying {rec.label}…")  # fmt: skip

    def verify_all(self) -> Job | None:
        from app.core.library.reverify import summary, verify_library

        lib = self.library
        return self._job(
            lambda progress, token: summary(verify_library(lib, progress=progress, cancel=token)),
            "library:verify-all", self._then_refresh("Library verified"),
            task="Verifying every image on the shelf…",
        )  # fmt: skip

    def rebuild(self) -> Job | None:
        from app.core.library.shelf import rebuild

        lib = self.library

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            res = rebuild(lib, cancel=token)
            return f"Catalogue rebuilt: {res.discs} discs, {res.files:,} files"

        return self._job(run, "library:rebuild", self._then_refresh("Library rebuilt"),
                         task="Rebuilding the catalogue from the disc folders…")  # fmt: skip

    def health_scan(self) -> Job | None:
        entry = self.source
        if self.details is None or entry is None or not entry.ready:
            self.status.emit("Health scan: put the disc in a drive and select that drive")
            return None
        lib, rec, opener = self.library, self.details.record, entry.opener

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            source = opener()
            try:
                return shelf_view.scan_health(lib, source, rec.folder, progress, token)
            finally:
                source.close()

        return self._job(run, entry.key, self._then_refresh("Health scan finished"),
                         task=f"Health scan of {rec.label} in {entry.title}…")  # fmt: skip

    def resume_here(self) -> Job | None:
        """Read the selected incomplete disc's missing sectors with the drive selected on the
        left, into its own folder; the catalogue row is updated afterwards. The drive is the
        job's resource: behind another job on it, this one waits its turn."""
        entry, d = self.source, self.details
        if d is None:
            return None
        rec = d.record
        if entry is None or not entry.ready:
            self.panel.note.show_message(
                f"Resume {rec.label}: put the disc in a drive and select that drive on the left",
                "warn",
            )
            return None
        try:
            image = into.resume_image(self.library, rec)
        except LibraryError as e:
            self.panel.note.show_message(str(e), "error")
            return None
        lib, opener, title = self.library, entry.opener, entry.title
        settings = shelf.rescue_settings(Settings(self.store) if self.store else None)

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            return shelf.resume_disc(lib, rec.folder, image, opener, title, settings, progress,
                                     token)  # fmt: skip

        def refused(message: str) -> None:
            line = into.refusal_line(message, lib, rec.label)
            if self.details is not None and self.details.record.folder == rec.folder:
                self.panel.note.show_message(f"Not resumed with {title}: {line}", "error")
            self.status.emit(line)

        refresh = self._then_refresh("Resumed")

        def done(result: object) -> None:
            if self.details is not None and self.details.record.folder == rec.folder:
                self.panel.note.show_message(str(result), "info")
            refresh(result)

        self.panel.note.clear()
        return self._job(run, entry.key, done, on_fail=refused,
                         task=f"Resuming {rec.label} with {title}…", queue=True,
                         what=title)  # fmt: skip

    def open_disc(self) -> None:
        if self.details is not None:
            self.inspect_requested.emit(self.details.image, "")

    def open_folder(self) -> None:
        if self.details is not None:
            folder = self.library.path(self.details.record.folder)
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def _pick_backup(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a backup to the library", "", "Disc images (*.iso *.img *.udf)"
        )
        if path:
            self.add_backup(path)

    def add_backup(self, path: str) -> Job | None:
        lib = self.library
        return self._job(
            lambda progress, token: shelf_view.add_backup(lib, path, progress, token),
            f"library:add:{path}", self._then_refresh("Backup added"), task=f"Adding {path}…",
        )  # fmt: skip
