"""Back up: pick where the image goes, press Start, watch it, and get a clear result card."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.base import mapfile
from app.core.base.units import human_bytes
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.gui.progress_view import ProgressView
from app.gui.sector_map import Legend, SectorMap
from app.gui.settings import Settings
from app.gui.sources import SourceEntry
from app.gui.widgets import page_title, path_row
from app.gui.workers import BusyError, Job, JobQueue

HEADLINES = {
    "complete": "Backed up",
    "incomplete": "Backed up — {bad} unreadable in {areas} area(s)",
    "cancelled": "Stopped — resume any time",
    "source_gone": "The disc was removed",
    "destination_error": "Could not write the image",
    "protected": "Stopped: the disc is copy-protected",
}


def default_name(label: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in (label or "DISC")).strip("_")
    return f"{safe or 'DISC'}_{time.strftime('%Y-%m-%d')}.iso"


class ResultCard(QFrame):
    inspect_requested = Signal(str)
    verify_requested = Signal(str)
    another_drive = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        self.headline = QLabel()
        f = self.headline.font()
        f.setPointSizeF(f.pointSizeF() * 1.5)
        f.setBold(True)
        self.headline.setFont(f)
        self.headline.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hashes = QPlainTextEdit()
        self.hashes.setReadOnly(True)
        self.hashes.setFont(QFont("monospace"))
        self.hashes.setMaximumHeight(110)
        copy = QPushButton("Copy checksums")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.hashes.toPlainText()))
        row = QHBoxLayout()
        self.open_folder = QPushButton("Open folder")
        self.inspect = QPushButton("Inspect image")
        self.verify = QPushButton("Verify again")
        self.another = QPushButton("Try another drive")
        self.another.setToolTip("Resume with a different drive to fill the gaps")
        for b in (self.open_folder, self.inspect, self.verify, self.another):
            row.addWidget(b)
        row.addStretch(1)
        lay.addWidget(self.headline)
        lay.addWidget(self.detail)
        lay.addWidget(self.hashes)
        lay.addWidget(copy, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addLayout(row)
        self.map = SectorMap()
        lay.addWidget(self.map, 1)
        lay.addWidget(Legend())
        self.image = ""
        self.open_folder.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(self.image)))
        )
        self.inspect.clicked.connect(lambda: self.inspect_requested.emit(self.image))
        self.verify.clicked.connect(lambda: self.verify_requested.emit(self.image))
        self.another.clicked.connect(self.another_drive)

    def show_outcome(self, done: BackupOutcome, image: str) -> None:
        r = done.result
        self.image = image
        bad = r.damaged_sectors
        areas = len(r.damaged_ranges)
        head = HEADLINES[r.outcome].format(bad=human_bytes(bad * r.sector_size), areas=areas)
        if r.outcome == "complete" and done.verify is not None:
            head = (
                "Backed up and verified"
                if done.verify.outcome == "good"
                else "Backed up — verify found differences"
            )
        self.headline.setText(head)
        lines = [image]
        if r.message and r.outcome != "complete":
            lines.append(r.message)
        proof = done.report.get("proof")
        if isinstance(proof, dict) and r.outcome in ("complete", "incomplete"):
            lines.append(str(proof.get("verdict", "")))  # what the sectors' own codes proved
        if done.verify is not None:
            lines += [c.detail for c in done.verify.checks if c.name == "source"]
        lines += done.problems
        self.detail.setText("\n".join(lines))
        if r.hashes:
            self.hashes.setPlainText(
                "\n".join(
                    f"{a.upper():7s} {r.hashes[a]}" for a in ("crc32", "md5", "sha1", "sha256")
                )
            )
        elif r.files and all(f.hashes for f in r.files):  # a BIN/CUE: one line per track
            self.hashes.setPlainText(
                "\n".join(
                    f"{f.part.name}: CRC32 {f.hashes['crc32']}  SHA-1 {f.hashes['sha1']}"
                    for f in r.files
                    if f.hashes
                )
            )
        else:
            self.hashes.setPlainText("(checksums come when the backup is finished)")
        self.map.set_map(r.map)
        finished = r.outcome in ("complete", "incomplete")
        self.inspect.setEnabled(finished)
        self.verify.setEnabled(finished)
        self.another.setVisible(r.outcome == "incomplete")


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
        lay = QVBoxLayout(self)
        self.title = page_title("Back up")
        lay.addWidget(self.title)
        self.dest = QLineEdit()
        lay.addLayout(path_row("Save to", self.dest, self.browse, "Choose where the image goes"))
        opts = QHBoxLayout()
        opts.addWidget(QLabel("Retries"))
        self.retries = QSpinBox()
        self.retries.setRange(0, 20)
        self.retries.setValue(settings.retries)
        self.verify_box = QCheckBox("Verify after")
        self.verify_box.setChecked(settings.verify_after)
        self.eject_box = QCheckBox("Eject when done")
        self.eject_box.setChecked(settings.eject_when_done)
        self.start = QPushButton("Start backup")
        self.start.setDefault(True)
        self.start.clicked.connect(self.start_backup)
        for w in (self.retries, self.verify_box, self.eject_box):
            opts.addWidget(w)
        opts.addStretch(1)
        opts.addWidget(self.start)
        lay.addLayout(opts)
        self.resume_note = QLabel("")
        self.resume_note.setWordWrap(True)
        lay.addWidget(self.resume_note)
        self.stack = QStackedWidget()
        self.empty = QLabel(
            "Pick a drive on the left, check where the image goes, and press Start backup."
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.progress = ProgressView()
        self.card = ResultCard()
        for page in (self.empty, self.progress, self.card):
            self.stack.addWidget(page)
        lay.addWidget(self.stack, 1)
        self.progress.cancel_clicked.connect(self.cancel)
        self.progress.pause_toggled.connect(lambda on: self.job and self.job.pause(on))
        self.card.inspect_requested.connect(self.inspect_requested)
        self.card.verify_requested.connect(self.verify_requested)
        self.card.another_drive.connect(self._another_drive)
        self.dest.textChanged.connect(self._check_resume)
        self.set_source(None)

    # ---- source and destination ----------------------------------------------------------
    def set_source(self, entry: SourceEntry | None) -> None:
        busy = self.job is not None and self.job.is_running()
        self.source = entry
        if entry is None:
            self.title.setText("Back up")
            self.start.setEnabled(False)
            return
        label = f'  ·  "{entry.label}"' if entry.label else ""
        self.title.setText(f"Back up  ·  {entry.title}{label}")
        keep = self.dest.text() and os.path.exists(self.dest.text() + ".map") and busy
        if not keep and not (self.dest.text() and self._another_drive_mode):
            self.dest.setText(os.path.join(self.settings.folder, default_name(entry.label)))
        self._another_drive_mode = False
        self.start.setEnabled(entry.ready and not busy)
        self.eject_box.setEnabled(entry.can_eject)
        self.eject_box.setChecked(entry.can_eject and self.settings.eject_when_done)

    _another_drive_mode = False

    def _another_drive(self) -> None:
        self._another_drive_mode = True
        self.stack.setCurrentWidget(self.empty)
        self.empty.setText(
            "Put the disc in another drive, pick that drive on the left, and "
            "press Start backup: only the unreadable parts are read again."
        )
        self._check_resume()

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the disc image as", self.dest.text(), "Disc images (*.iso)"
        )
        if path:
            self.dest.setText(path if path.lower().endswith(".iso") else path + ".iso")
            self.settings.folder = os.path.dirname(path)

    def _check_resume(self) -> None:
        dest = self.dest.text()
        note, label = "", "Start backup"
        if dest and os.path.exists(dest + ".map"):
            try:
                rmap = mapfile.load(dest + ".map", 2048).map
            except mapfile.MapfileError as e:
                note = f"{e}. Choose another name to start a new backup."
            else:
                left = rmap.size - rmap.count("+")[0]
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
        self.start.setText(label)

    # ---- the job -----------------------------------------------------------------------------
    def start_backup(self) -> None:
        entry, dest = self.source, self.dest.text().strip()
        if entry is None or not dest:
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
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        self.settings.retries = self.retries.value()
        self.settings.verify_after = self.verify_box.isChecked()
        if self.eject_box.isEnabled():
            self.settings.eject_when_done = self.eject_box.isChecked()
        opts = BackupOptions(
            source_name=entry.title,
            image=dest,
            settings=RescueSettings(retries=self.retries.value()),
            verify=self.verify_box.isChecked(),
            eject=entry.eject if entry.can_eject and self.eject_box.isChecked() else None,
            command_line=f"DiscVault (GUI) backup of {entry.title}",
        )
        job = Job(
            lambda progress, token: run_backup(entry.opener, opts, progress, token),
            resource=entry.key,
            parent=self,
        )
        job.progress.connect(self.progress.update_progress)
        job.finished.connect(lambda done: self._finished(done, getattr(done, "image", "") or dest))
        job.failed.connect(self._failed)
        try:
            self.jobs.start(job)
        except BusyError as e:
            QMessageBox.information(self, "DiscVault", str(e))
            return
        self.job = job
        self.progress.reset(f"Reading {entry.title}…")
        self.progress.add_log(f"backing up {entry.title} to {dest}")
        self.stack.setCurrentWidget(self.progress)
        self.start.setEnabled(False)
        self.status.emit(f"Reading {entry.title}…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.progress.add_log("stopping — saving the mapfile")

    def _finished(self, done: object, dest: str) -> None:
        assert isinstance(done, BackupOutcome)
        self.progress.running(False)
        self.card.show_outcome(done, dest)
        self.stack.setCurrentWidget(self.card)
        self.start.setEnabled(self.source is not None and self.source.ready)
        self._check_resume()
        self.status.emit(f"{self.card.headline.text()}: {os.path.basename(dest)}")
        self.progress.add_log(f"{self.card.headline.text()}: {dest}")
        self.notify.emit("DiscVault", f"{self.card.headline.text()}: {os.path.basename(dest)}")

    def _failed(self, message: str) -> None:
        self.progress.running(False)
        self.start.setEnabled(self.source is not None)
        self.progress.add_log(message)
        QMessageBox.warning(self, "DiscVault", message.splitlines()[0])
        self.status.emit(message.splitlines()[0])
