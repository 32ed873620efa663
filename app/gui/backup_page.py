"""Back up: pick where the image goes, press Start, watch it, and get a clear result card."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.base import mapfile
from app.core.base.events import CancelToken, ProgressCallback
from app.core.base.units import human_bytes
from app.core.library.auto import Platform
from app.core.library.autojob import AutoOptions
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.gui import backup_shelf as shelf
from app.gui.auto_view import AutoView
from app.gui.backup_words import (
    ANOTHER_HINT,
    AUTO_TIP,
    EMPTY_HINT,
    MOVED_HINT,
    NO_AUTO_TIP,
    NO_OTHER_DRIVE,
    NOT_READY_HINT,
    missing_data,
)
from app.gui.log_panel import LogPanel
from app.gui.progress_view import ProgressView
from app.gui.result_card import DamagedFile, ResultCard, damaged_files
from app.gui.settings import Settings, image_name
from app.gui.sources import SourceEntry
from app.gui.widgets import Banner, enter_pressed, hint_label, page_title, path_row
from app.gui.workers import BusyError, Job, JobQueue


def default_name(label: str, template: str = "{label}_{date}", drive: str = "") -> str:
    return image_name(template, label, drive)


class BackupPage(QWidget):
    inspect_requested = Signal(str)
    verify_requested = Signal(str)
    status = Signal(str)
    notify = Signal(str, str)  # title, text: a long job ended

    def __init__(self, jobs: JobQueue, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings
        self.source: SourceEntry | None = None
        self.job: Job | None = None
        self.sources: Callable[[], list[SourceEntry]] = list  # set by the window
        self._auto_dest = ""  # the name we suggested; the user's own name is never replaced
        self._another_from: str | None = None  # "Try another drive": the drive to move off
        self._running = False
        self._one_drive = False  # the running backup's source is the simulated demo drive
        lay = QVBoxLayout(self)
        self.title = page_title("Back up")
        lay.addWidget(self.title)
        self.dest = QLineEdit()
        dest_row = path_row("Save to", self.dest, self.browse, "Choose where the image goes")
        # Into the library: a disc folder named by the library's template, and a catalogue
        # row (app/gui/backup_shelf.py). On by default once a library folder exists.
        self.shelve_box = QCheckBox("Into the library")
        self.shelve_box.setToolTip(
            "Save the backup into the library (its own disc folder) and add it to the catalogue"
        )
        self.shelve_box.setChecked(os.path.isdir(shelf.library_root(settings.store)))
        self.shelve_box.toggled.connect(lambda _: self._show_dest())
        dest_row.addWidget(self.shelve_box)
        self._own_dest = ""  # the path the user had before the library took over the field
        lay.addLayout(dest_row)
        opts = QHBoxLayout()
        opts.addWidget(QLabel("Retries"))
        self.retries = QSpinBox()
        self.retries.setRange(0, 99)
        self.retries.setValue(settings.retries)
        self.retries.setAccessibleName("Retry passes")
        self.verify_box = QCheckBox("Verify after")
        self.verify_box.setChecked(settings.verify_after)
        self.eject_box = QCheckBox("Eject when done")
        self.eject_box.setChecked(settings.eject_when_done)
        # Auto for the selected drive: every disc put in goes into the library, unattended
        # (app/gui/auto_view.py over the core's AutoRunner); the queue shows in the page.
        self.auto_box = QCheckBox("Auto")
        self.auto_box.setToolTip(AUTO_TIP)
        self.auto_box.toggled.connect(self._auto_toggled)
        dest_row.addWidget(self.auto_box)  # beside the library it fills: the row has room
        self.auto: AutoView | None = None
        self.auto_options: AutoOptions | None = None  # None: from the settings
        self.auto_platform: Platform | None = None  # None: app.platform (the real drives)
        self.start = QPushButton("Start backup")
        self.start.setDefault(True)
        self.start.setToolTip("Start the backup (Enter)")
        self.start.clicked.connect(self.start_backup)
        for w in (self.retries, self.verify_box, self.eject_box):
            opts.addWidget(w)
        opts.addStretch(1)
        opts.addWidget(self.start)
        lay.addLayout(opts)
        self.resume_note = QLabel("")
        self.resume_note.setWordWrap(True)
        lay.addWidget(self.resume_note)
        self.banner = Banner()  # what to know about the disc, or why a backup could not start
        lay.addWidget(self.banner)
        self.stack = QStackedWidget()
        self.empty = hint_label(EMPTY_HINT)
        self.log = LogPanel()
        self.progress = ProgressView(self.log)
        self.card = ResultCard()
        for page in (self.empty, self.progress, self.card):
            self.stack.addWidget(page)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.log)
        self.progress.cancel_clicked.connect(self.cancel)
        self.progress.finish_clicked.connect(self.finish_now)
        self.progress.pause_toggled.connect(lambda on: self.job and self.job.pause(on))
        self.progress.status.connect(self.status)
        self.card.inspect_requested.connect(self.inspect_requested)
        self.card.verify_requested.connect(self.verify_requested)
        self.card.another_drive.connect(self.try_another_drive)
        self.card.resume_requested.connect(self.start_backup)
        self.dest.textChanged.connect(self._check_resume)
        self.set_source(None)
        QTimer.singleShot(0, self, self.card.prewarm)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if enter_pressed(e, self.start):
            return
        super().keyPressEvent(e)

    def apply_settings(self) -> None:
        """The Settings dialog changed something: new defaults for the next backup."""
        self.retries.setValue(self.settings.retries)
        self.verify_box.setChecked(self.settings.verify_after)
        if self.source is not None:
            self.set_source(self.source)

    # ---- source and destination ----------------------------------------------------------
    def busy(self) -> bool:
        return self._running

    def set_source(self, entry: SourceEntry | None) -> None:
        self.source = entry
        if not self._running:
            self._source_note(entry)
        if entry is None:
            self.title.setText("Back up")
            self._refresh_start()
            return
        self._auto_shown()
        label = f'  ·  "{entry.label}"' if entry.label else ""
        self.title.setText(f"Back up  ·  {entry.title}{label}")
        dest = self.dest.text()
        keep = bool(dest) and (dest != self._auto_dest or self.busy() or self._another_from)
        if self.shelve_box.isChecked():
            keep = self.busy() or bool(self._another_from)
        if not keep:
            drive = os.path.basename(entry.path) if entry.path else entry.key
            self._auto_dest = os.path.join(
                self.settings.folder, default_name(entry.label, self.settings.name_template, drive)
            )
            self.dest.setText(self._auto_dest)
            self._show_dest()
        self.eject_box.setEnabled(entry.can_eject)
        self.eject_box.setChecked(entry.can_eject and self.settings.eject_when_done)
        self._refresh_start()

    def _show_dest(self) -> None:
        """Into the library: the field shows where the image will go and is not edited; off
        again, the user's own path (or the suggested one) comes back."""
        into_lib = self.shelve_box.isChecked()
        self.dest.setReadOnly(into_lib)
        self.dest.setEnabled(not into_lib)
        if into_lib and self.source is not None and not self.busy():
            if self.dest.text() and not self.dest.text().startswith(self._library_root() + os.sep):
                self._own_dest = self.dest.text()
            self.dest.setText(shelf.preview(self._library_root(), self.source.label))
        elif not into_lib and self.dest.text().startswith(self._library_root() + os.sep):
            self.dest.setText(self._own_dest or self._auto_dest)

    def _library_root(self) -> str:
        return os.path.abspath(shelf.library_root(self.settings.store))

    # ---- auto ----------------------------------------------------------------------------------
    def auto_view(self) -> AutoView:
        """The queue of every drive in auto (made at first use, kept in the page's stack)."""
        if self.auto is None:
            opts = self.auto_options or AutoOptions(
                settings=shelf.rescue_settings(self.settings), command_line="DiscVault (GUI) auto"
            )
            self.auto = AutoView(self._library_root(), self._auto_drives(), options=opts,
                                 platform=self.auto_platform, jobs=self.jobs,
                                 title=False)  # fmt: skip
            self.auto.status.connect(self.status)
            self.auto.notify.connect(self.notify)
            self.auto.switched.connect(lambda _path, _on: self._auto_shown())
            self.stack.addWidget(self.auto)
        return self.auto

    def show_auto(self) -> None:
        """File → Auto: the queue, whichever drive is selected."""
        self.stack.setCurrentWidget(self.auto_view())

    def stop_auto(self) -> None:
        if self.auto is not None:
            self.auto.stop()

    def _auto_drives(self) -> list[tuple[str, str]]:
        return [(e.path, e.title) for e in self.sources() if e.path and not e.simulated]

    def _auto_on(self) -> bool:
        entry = self.source
        return self.auto is not None and entry is not None and self.auto.is_on(entry.path)

    def _auto_toggled(self, on: bool) -> None:
        entry = self.source
        if entry is None or not entry.path:
            return
        view = self.auto_view()
        drives = self._auto_drives()
        if entry.path not in view.switches or len(drives) != len(view.switches):
            view.set_drives(drives)
        box = view.switches.get(entry.path)
        if box is not None and box.isChecked() != on:
            box.setChecked(on)  # the view switches the drive, then says so (switched)
        else:
            self._auto_shown()

    def _auto_shown(self) -> None:
        """The selected drive in auto: its switch on, the queue in the page, Start off."""
        on = self._auto_on()
        self.auto_box.blockSignals(True)
        self.auto_box.setChecked(on)
        self.auto_box.blockSignals(False)
        if on and self.auto is not None:
            self.stack.setCurrentWidget(self.auto)
        elif self.auto is not None and self.stack.currentWidget() is self.auto:
            self.stack.setCurrentWidget(self.empty)
        self._refresh_start()

    def _source_note(self, entry: SourceEntry | None) -> None:
        """An audio CD, audio tracks, copy protection: said before Start is pressed."""
        if entry is not None and entry.note:
            self.banner.show_message(entry.note, "warn" if entry.ready else "error")
        else:
            self.banner.clear()

    def _refresh_start(self) -> None:
        entry = self.source
        # "Try another drive" waits for a different drive; with no other drive connected the
        # same one may go on (cleaned, or simply tried again), as the hint says.
        moved = (
            self._another_from is None
            or (entry is not None and entry.key != self._another_from)
            or not self._other_drives()
        )
        auto = self._auto_on()
        self.start.setEnabled(
            entry is not None and entry.ready and not self.busy() and moved and not auto
        )
        can_auto = entry is not None and bool(entry.path) and not entry.simulated
        self.auto_box.setEnabled(can_auto and not self.busy())
        self.auto_box.setToolTip(AUTO_TIP if can_auto or entry is None else NO_AUTO_TIP)
        self._check_resume()  # first: the hint names the button as it reads

    def _other_drives(self) -> list[SourceEntry]:
        """Drives the disc could go in instead: ready, not the one it left, and real (the
        demo drive holds only its own simulated disc)."""
        return [
            e for e in self.sources() if e.key != self._another_from and e.ready and not e.simulated
        ]

    def _show_hint(self) -> None:
        """What to do now, in the words of the buttons as they read."""
        entry, button = self.source, self.start.text()
        if self._another_from is not None:
            if entry is not None and entry.key != self._another_from:
                self.empty.setText(MOVED_HINT.format(button=button, drive=entry.title))
            elif self._other_drives():
                self.empty.setText(ANOTHER_HINT.format(button=button))
            else:
                self.empty.setText(NO_OTHER_DRIVE.format(button=button))
        elif entry is not None and not entry.ready:
            self.empty.setText(NOT_READY_HINT)
        else:
            self.empty.setText(EMPTY_HINT.format(button=button))

    def try_another_drive(self) -> None:
        """Leave the card; Start waits until a different drive is picked."""
        self._another_from = self.source.key if self.source is not None else ""
        self.stack.setCurrentWidget(self.empty)
        self._refresh_start()

    def browse(self) -> None:
        start = self.dest.text() or self.settings.last_dir("image", self.settings.folder)
        if not os.path.isdir(os.path.dirname(start)):
            start = os.path.join(self.settings.last_dir("image"), os.path.basename(start))
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the disc image as", start, "Disc images (*.iso)"
        )
        if path:
            self.shelve_box.setChecked(False)  # a file of the user's choosing: not the library
            self.dest.setText(path if path.lower().endswith(".iso") else path + ".iso")
            self.settings.remember_dir("image", path)

    def _check_resume(self) -> None:
        dest = self.dest.text()
        note, label = "", "Start backup"
        if dest and os.path.exists(dest + ".map"):
            try:
                mf = mapfile.load(dest + ".map", 2048)
            except mapfile.MapfileError as e:
                note = f"{e}. Choose another name to start a new backup."
            else:
                left = missing_data(mf)
                if left == 0:
                    note = "This image is already complete. Choose another name for a new backup."
                else:
                    # Not for the demo drive: no other drive takes its simulated disc.
                    real = self.source is None or not self.source.simulated
                    note = (
                        f"{human_bytes(left * 2048)} of this image are still missing: "
                        "Resume backup reads only those"
                        + (" (another drive often reads what one could not)." if real else ".")
                    )
                    label = "Resume backup"
        if self._running:
            note = ""  # the run under way reads them: its own view says how far it is
        self.resume_note.setText(note)
        self.resume_note.setVisible(bool(note))
        self.start.setText(label)
        self._show_hint()

    # ---- the job -----------------------------------------------------------------------------
    def start_backup(self) -> None:
        entry, dest = self.source, self.dest.text().strip()
        if entry is None or not dest or not self.start.isEnabled():
            return
        into_lib = self.shelve_box.isChecked()
        root = self._library_root()
        if into_lib:
            pass  # a new disc folder is made when the job starts: nothing is in the way
        elif os.path.exists(dest) and not os.path.exists(dest + ".map"):
            QMessageBox.warning(
                self,
                "DiscVault",
                f"{dest} already exists and is not an "
                "unfinished backup. Choose another name — DiscVault never "
                "overwrites a file it did not make.",
            )
            return
        try:
            if not into_lib:
                os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        except OSError as e:
            QMessageBox.warning(
                self, "DiscVault", f"Cannot make the folder for {dest}: {e.strerror}"
            )
            return
        self.settings.retries = self.retries.value()
        self.settings.verify_after = self.verify_box.isChecked()
        if self.eject_box.isEnabled():
            self.settings.eject_when_done = self.eject_box.isChecked()
        cluster = self.settings.cluster
        opts = BackupOptions(
            source_name=entry.title,
            image=dest,
            settings=RescueSettings(
                cluster=cluster,
                max_cluster=max(cluster, 512),
                retries=self.retries.value(),
                fill=self.settings.fill,
            ),
            verify=self.verify_box.isChecked(),
            eject=entry.eject if entry.can_eject and self.eject_box.isChecked() else None,
            command_line=f"DiscVault (GUI) backup of {entry.title}",
        )

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            line = ""
            if into_lib:
                done, line = shelf.back_up_into(root, entry.label, entry.opener, opts, progress,
                                                token)  # fmt: skip
            else:
                done = run_backup(entry.opener, opts, progress, token)
            damaged: list[DamagedFile] = []
            if (
                done.result.outcome in ("complete", "incomplete")
                and done.result.rescued_sectors < done.result.sectors
            ):
                image = done.image or dest  # a BIN/CUE is named by its .cue
                damaged = damaged_files(image, opts.companions_for(image).map)
            return done, damaged, line

        job = Job(run, resource=entry.key, parent=self, what=entry.title)
        job.progress.connect(self.progress.update_progress)
        job.finished.connect(lambda res: self._finished(res, dest))
        job.failed.connect(self._failed)
        try:
            self.jobs.start(job)
        except BusyError as e:
            QMessageBox.information(self, "DiscVault", str(e))
            return
        self.job = job
        self._running = True
        self._another_from = None
        self.resume_note.setVisible(False)  # "still missing" was before; now it is being read
        self._source_note(entry)
        self._one_drive = entry.simulated
        self.progress.reset(f"Reading {entry.title}…", another_drive=not entry.simulated)
        self.log.add(f"backing up {entry.title} to {dest}")
        self.stack.setCurrentWidget(self.progress)
        self.start.setEnabled(False)
        self.progress.pause.setFocus()
        self.status.emit(f"Reading {entry.title}…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.log.add("stopping — saving the mapfile")

    def finish_now(self) -> None:
        """Stop reading, keep what was read, checksum it and say what stays unread."""
        if self.job is not None and self._running:
            self.job.finish()
            self.status.emit("Finishing — keeping what was read, then the checksums…")

    def _finished(self, res: object, dest: str) -> None:
        assert isinstance(res, tuple)
        done, damaged, shelved = res
        assert isinstance(done, BackupOutcome)
        self._running = False
        self.progress.running(False)
        dest = done.image or dest  # the format chosen may have renamed it (NAME.cue)
        # The demo drive's disc goes in no other drive: its card offers Resume, not another.
        self.card.show_outcome(done, dest, damaged, another_drive=not self._one_drive)
        self.stack.setCurrentWidget(self.card)
        self._refresh_start()
        head = self.card.headline.text()
        self.status.emit(f"{head}: {os.path.basename(dest)}")
        self.log.add(f"{head}: {dest}")
        if shelved and os.path.exists(dest):
            self.dest.setText(dest)  # the disc folder as made: a resume goes on there
        if shelved:  # where it is on the shelf, or why the catalogue has not got it yet
            self.log.add(shelved)
            self.banner.show_message(
                shelved, "warn" if "not in the catalogue" in shelved else "info"
            )
        self.notify.emit("DiscVault", f"{head}: {os.path.basename(dest)}")
        first = next((b for b in self.card.buttons() if b.isEnabled() and not b.isHidden()), None)

        if first is not None:
            first.setFocus()

    def _failed(self, message: str) -> None:
        self._running = False
        self.progress.running(False)
        self._refresh_start()
        self.log.add(message)
        first = message.splitlines()[0] if message else "the backup could not start"
        # Said in the page, where the backup would have been: an audio CD, no disc, a file in
        # the way. Nothing was read, so there is no card.
        self.banner.show_message(first, "error")
        self.stack.setCurrentWidget(self.empty)
        self.status.emit(first)


__all__ = ["BackupPage", "Qt", "default_name"]
