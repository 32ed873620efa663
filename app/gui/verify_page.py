"""Verify: an image against the disc in a drive, its checksum files, and DATs."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import CancelToken, ProgressCallback
from app.core.disc.sources import SectorSource
from app.core.verify import verifier as verify
from app.gui.progress_view import ProgressView
from app.gui.settings import Settings
from app.gui.sources import SourceEntry
from app.gui.widgets import page_title, path_row
from app.gui.workers import BusyError, Job, JobQueue

MARKS = {"ok": "✔", "mismatch": "✘", "incomplete": "!", "info": "·", "not_found": "?"}
HEADS = {
    "good": "Verified: the image is good",
    "incomplete": "The image is incomplete",
    "mismatch": "Mismatch: the image is not what it should be",
    "cancelled": "Stopped",
}


class VerifyPage(QWidget):
    status = Signal(str)
    notify = Signal(str, str)

    def __init__(self, jobs: JobQueue, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings
        self.source: SourceEntry | None = None
        self.job: Job | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(page_title("Verify"))
        self.image = QLineEdit()
        lay.addLayout(path_row("Image", self.image, self._pick_image))
        self.dat = QLineEdit(";".join(settings.dat_files))
        self.dat.setPlaceholderText("optional: a Logiqx XML DAT to look the image up in")
        lay.addLayout(path_row("DAT", self.dat, self._pick_dat))
        row = QHBoxLayout()
        self.against = QCheckBox("Compare with the disc in the selected drive")
        self.start = QPushButton("Verify")
        self.start.clicked.connect(self.start_verify)
        row.addWidget(self.against)
        row.addStretch(1)
        row.addWidget(self.start)
        lay.addLayout(row)
        self.stack = QStackedWidget()
        self.progress = ProgressView()
        self.progress.cancel_clicked.connect(lambda: self.job and self.job.cancel())
        self.progress.pause_toggled.connect(lambda on: self.job and self.job.pause(on))
        self.result = QTextBrowser()
        hint = QLabel(
            "Checks that the image is whole, matches its checksum files and report, "
            "and — if you like — the disc itself, sector by sector."
        )
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (hint, self.progress, self.result):
            self.stack.addWidget(w)
        lay.addWidget(self.stack, 1)
        self.set_source(None)

    def set_source(self, entry: SourceEntry | None) -> None:
        self.source = entry
        self.against.setEnabled(entry is not None and entry.ready)
        self.against.setText(
            f"Compare with the disc in {entry.title}"
            if entry
            else "Compare with a disc (pick a drive on the left)"
        )

    def set_image(self, path: str) -> None:
        self.image.setText(path)

    def _pick_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Image to verify",
            self.image.text(),
            "Disc images (*.iso *.img *.cue *.bin);;All files (*)",
        )
        if path:
            self.image.setText(path)

    def _pick_dat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "DAT file", "", "DAT files (*.dat *.xml)")
        if path:
            self.dat.setText(path)
            self.settings.dat_files = [path]

    def start_verify(self) -> None:
        image = self.image.text().strip()
        if not image:
            return
        dat = self.dat.text().strip() or None
        entry = self.source if self.against.isChecked() and self.against.isEnabled() else None

        def run(progress: ProgressCallback, token: CancelToken) -> object:
            src: SectorSource | None = entry.opener() if entry else None
            try:
                return verify.verify(
                    image, source=src, dat_path=dat, progress=progress, cancel=token
                )
            finally:
                if src is not None:
                    src.close()

        job = Job(run, resource=entry.key if entry else f"image:{image}", parent=self)
        job.progress.connect(self.progress.update_progress)
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        try:
            self.jobs.start(job)
        except BusyError as e:
            self._failed(str(e))
            return
        self.job = job
        self.progress.reset(f"Verifying {os.path.basename(image)}…")
        self.stack.setCurrentWidget(self.progress)

    def _done(self, r: object) -> None:
        assert isinstance(r, verify.VerifyResult)
        self.progress.running(False)
        rows = [f"<h3>{HEADS[r.outcome]}</h3><p>"]
        rows += [f"{MARKS.get(c.status, '')}&nbsp; {c.detail}<br>" for c in r.checks]
        rows.append("</p>")
        if r.hashes:
            rows.append(
                "<pre>"
                + "\n".join(
                    f"{a.upper():7s} {r.hashes[a]}" for a in ("crc32", "md5", "sha1", "sha256")
                )
                + "</pre>"
            )
        self.result.setHtml("".join(rows))
        self.stack.setCurrentWidget(self.result)
        self.status.emit(HEADS[r.outcome])
        self.progress.add_log(f"{HEADS[r.outcome]}: {r.image}")
        self.notify.emit("DiscVault", f"{HEADS[r.outcome]}: {os.path.basename(r.image)}")

    def _failed(self, message: str) -> None:
        self.progress.running(False)
        self.result.setPlainText(message)
        self.stack.setCurrentWidget(self.result)
        self.status.emit(message.splitlines()[0])
