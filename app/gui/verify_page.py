"""Verify: an image against the disc in a drive, its checksum files, and DATs."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
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
from app.gui import theme
from app.gui.log_panel import LogPanel
from app.gui.progress_view import ProgressView
from app.gui.result_card import verify_line
from app.gui.settings import Settings
from app.gui.sources import SourceEntry
from app.gui.widgets import Banner, enter_pressed, hint_label, page_title, path_row
from app.gui.workers import BusyError, Job, JobQueue

MARKS = {"ok": "✔", "mismatch": "✘", "incomplete": "!", "info": "·", "not_found": "?"}
HEADS = {
    "good": "Verified: the image is good",
    "incomplete": "The image is incomplete",
    "mismatch": "Mismatch: the image is not what it should be",
    "cancelled": "Stopped",
}
LOOK = {"good": "ok", "incomplete": "warn", "mismatch": "bad", "cancelled": "info"}


class VerifyPage(QWidget):
    status = Signal(str)
    notify = Signal(str, str)

    def __init__(self, jobs: JobQueue, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings
        self.source: SourceEntry | None = None
        self.job: Job | None = None
        self.last: verify.VerifyResult | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(page_title("Verify"))
        self.image = QLineEdit()
        self.image.setPlaceholderText("the .iso to check")
        lay.addLayout(path_row("Image", self.image, self._pick_image, "Choose the image"))
        self.dat = QLineEdit(settings.dat_files[0] if settings.dat_files else "")
        self.dat.setPlaceholderText("optional: a Logiqx XML DAT to look the image up in")
        lay.addLayout(path_row("DAT", self.dat, self._pick_dat, "Choose a DAT file"))
        row = QHBoxLayout()
        self.against = QCheckBox("Compare with the disc in the selected drive")
        self.start = QPushButton("Verify")
        self.start.setToolTip("Verify the image (Enter)")
        self.start.clicked.connect(self.start_verify)
        row.addWidget(self.against, 1)
        row.addWidget(self.start)
        lay.addLayout(row)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.stack = QStackedWidget()
        self.log = LogPanel()
        self.progress = ProgressView(self.log)
        self.progress.cancel_clicked.connect(lambda: self.job and self.job.cancel())
        self.progress.pause_toggled.connect(lambda on: self.job and self.job.pause(on))
        self.progress.status.connect(self.status)
        self.result = QTextBrowser()
        self.result.setAccessibleName("Verify result")
        self.hint = hint_label(
            "Checks that the image is whole, matches its checksum files and report, "
            "and — if you like — the disc itself, sector by sector."
        )
        for w in (self.hint, self.progress, self.result):
            self.stack.addWidget(w)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.log)
        self.image.textChanged.connect(lambda _: self.banner.clear())
        self.set_source(None)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if enter_pressed(e, self.start):
            return
        super().keyPressEvent(e)

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

    def verify_now(self, path: str, against_disc: bool) -> None:
        """'Verify again' from a backup's card: fill in and run."""
        self.set_image(path)
        if self.against.isEnabled():
            self.against.setChecked(against_disc)
        self.start_verify()

    def _pick_image(self) -> None:
        start = self.image.text() or self.settings.last_dir("image", self.settings.folder)
        path, _ = QFileDialog.getOpenFileName(
            self, "Image to verify", start, "Disc images (*.iso *.img *.cue *.bin);;All files (*)"
        )
        if path:
            self.settings.remember_dir("image", path)
            self.image.setText(path)

    def _pick_dat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "DAT file", self.settings.last_dir("dat"), "DAT files (*.dat *.xml)"
        )
        if path:
            self.settings.remember_dir("dat", path)
            self.dat.setText(path)
            self.settings.dat_files = [path, *(d for d in self.settings.dat_files if d != path)]

    def start_verify(self) -> None:
        image = self.image.text().strip()
        if not image:
            self.banner.show_message(
                "Choose the image to verify first: type its path, press … to pick it, "
                "or back up a disc and press Verify again.",
                "warn",
            )
            self.image.setFocus()
            return
        if not os.path.isfile(image):
            self.banner.show_message(f"{image} is not a file — check the path.", "warn")
            self.image.setFocus()
            return
        self.banner.clear()
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

        what = entry.title if entry else os.path.basename(image)
        job = Job(run, resource=entry.key if entry else f"image:{image}", parent=self, what=what)
        job.progress.connect(self.progress.update_progress)
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        try:
            self.jobs.start(job)
        except BusyError as e:
            self.banner.show_message(str(e), "warn")
            return
        self.job = job
        self.start.setEnabled(False)
        self.progress.reset(f"Verifying {os.path.basename(image)}…")
        self.log.add(f"verifying {image}" + (f" against {entry.title}" if entry else ""))
        self.stack.setCurrentWidget(self.progress)
        self.progress.pause.setFocus()

    def _done(self, r: object) -> None:
        assert isinstance(r, verify.VerifyResult)
        self.last = r
        self.start.setEnabled(True)
        self.progress.running(False)
        colour = theme.colour(LOOK[r.outcome])
        rows = [f"<h3 style='color:{colour}'>{HEADS[r.outcome]}</h3><p>"]
        if any(c.name == "source" for c in r.checks):
            rows.append(f"{html.escape(verify_line(r))}<br><br>")
        rows += [f"{MARKS.get(c.status, '')}&nbsp; {html.escape(c.detail)}<br>" for c in r.checks]
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
        self.log.add(f"{HEADS[r.outcome]}: {r.image}")
        self.notify.emit("DiscVault", f"{HEADS[r.outcome]}: {os.path.basename(r.image)}")

    def _failed(self, message: str) -> None:
        self.start.setEnabled(True)
        self.progress.running(False)
        first = message.splitlines()[0] if message else "Verify failed"
        self.banner.show_message(first, "error")
        self.log.add(first)
        self.stack.setCurrentWidget(self.hint)
        self.status.emit(first)
