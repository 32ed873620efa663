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
from app.core.disc import plan as planmod
from app.core.disc.layout import DiscLayout
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.gui.log_panel import LogPanel
from app.gui.progress_view import ProgressView
from app.gui.result_card import DamagedFile, ResultCard, damaged_files
from app.gui.settings import Settings, image_name
from app.gui.sources import SourceEntry
from app.gui.widgets import Banner, enter_pressed, hint_label, page_title, path_row
from app.gui.workers import BusyError, Job, JobQueue

EMPTY_HINT = "Pick a drive on the left, check where the image goes, and press Start backup."
NOT_READY_HINT = (
    "There is nothing to back up in this drive now: put a disc in it, or pick another "
    "drive on the left."
)
ANOTHER_HINT = (
    "Put the disc in another drive and pick that drive on the left: Resume then reads only "
    "what is still missing."
)
NO_OTHER_DRIVE = (
    "No other drive is connected. Connect one (a USB drive will do), or put the disc back "
    "in this drive after cleaning it, and resume."
)


def missing_data(mf: mapfile.Mapfile) -> int:
    """Data sectors a resume would still read. Run-out and session gaps the backup recorded
    as not data never count: a whole multi-session backup is complete, not "missing 23 MB"."""
    rmap = mf.map
    try:
        layout = DiscLayout.from_json(mf.meta.get("layout"))
        plan = planmod.from_json(layout, rmap.size, mf.meta.get("not_data"))
    except (ValueError, TypeError):  # a GNU ddrescue mapfile: every sector is data
        return rmap.size - rmap.count("+")[0]
    return plan.damaged(rmap)


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
        lay = QVBoxLayout(self)
        self.title = page_title("Back up")
        lay.addWidget(self.title)
        self.dest = QLineEdit()
        lay.addLayout(path_row("Save to", self.dest, self.browse, "Choose where the image goes"))
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
        label = f'  ·  "{entry.label}"' if entry.label else ""
        self.title.setText(f"Back up  ·  {entry.title}{label}")
        dest = self.dest.text()
        keep = bool(dest) and (dest != self._auto_dest or self.busy() or self._another_from)
        if not keep:
            drive = os.path.basename(entry.path) if entry.path else entry.key
            self._auto_dest = os.path.join(
                self.settings.folder, default_name(entry.label, self.settings.name_template, drive)
            )
            self.dest.setText(self._auto_dest)
        self.eject_box.setEnabled(entry.can_eject)
        self.eject_box.setChecked(entry.can_eject and self.settings.eject_when_done)
        self._refresh_start()

    def _source_note(self, entry: SourceEntry | None) -> None:
        """An audio CD, audio tracks, copy protection: said before Start is pressed."""
        if entry is not None and entry.note:
            self.banner.show_message(entry.note, "warn" if entry.ready else "error")
        else:
            self.banner.clear()

    def _refresh_start(self) -> None:
        entry = self.source
        moved = self._another_from is None or (
            entry is not None and entry.key != self._another_from
        )
        self.start.setEnabled(entry is not None and entry.ready and not self.busy() and moved)
        if self._another_from is not None:
            others = [e for e in self.sources() if e.key != self._another_from and e.ready]
            if not moved:
                self.empty.setText(ANOTHER_HINT if others else NO_OTHER_DRIVE)
            elif entry is not None:
                self.empty.setText(
                    f"Press Resume backup to read what is missing with {entry.title}."
                )
        elif entry is not None and not entry.ready:
            self.empty.setText(NOT_READY_HINT)
        else:
            self.empty.setText(EMPTY_HINT)
        self._check_resume()

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
                    note = (
                        f"{human_bytes(left * 2048)} of this image are still missing: "
                        "Resume reads only those (another drive often reads what one "
                        "could not)."
                    )
                    label = "Resume backup"
        self.resume_note.setText(note)
        self.resume_note.setVisible(bool(note))
        self.start.setText(label)

    # ---- the job -----------------------------------------------------------------------------
    def start_backup(self) -> None:
        entry, dest = self.source, self.dest.text().strip()
        if entry is None or not dest or not self.start.isEnabled():
            return
        if os.path.exists(dest) and not os.path.exists(dest + ".map"):
            QMessageBox.warning(
                self,
                "DiscVault",
                f"{dest} already exists and is not an "
                "unfinished backup. Choose another name — DiscVault never "
                "overwrites a file it did not make.",
            )
            return
        try:
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
            done = run_backup(entry.opener, opts, progress, token)
            damaged: list[DamagedFile] = []
            if (
                done.result.outcome in ("complete", "incomplete")
                and done.result.rescued_sectors < done.result.sectors
            ):
                image = done.image or dest  # a BIN/CUE is named by its .cue
                damaged = damaged_files(image, opts.companions_for(image).map)
            return done, damaged

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
        self._source_note(entry)
        self.progress.reset(f"Reading {entry.title}…")
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
        done, damaged = res
        assert isinstance(done, BackupOutcome)
        self._running = False
        self.progress.running(False)
        dest = done.image or dest  # the format chosen may have renamed it (NAME.cue)
        self.card.show_outcome(done, dest, damaged)
        self.stack.setCurrentWidget(self.card)
        self._refresh_start()
        head = self.card.headline.text()
        self.status.emit(f"{head}: {os.path.basename(dest)}")
        self.log.add(f"{head}: {dest}")
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
