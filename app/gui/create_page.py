"""Create: a folder becomes an .iso, with a gauge of how full the chosen disc would be."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.base.units import human_bytes
from app.core.create.builder import MEDIA, BuildOptions, BuildResult, build_iso, estimate_bytes
from app.core.create.builder import scan as scan_folder
from app.gui.widgets import page_title, path_row
from app.gui.workers import Job, JobQueue

MEDIA_NAMES = {
    "cd": "CD (700 MB)",
    "dvd": "DVD (4.7 GB)",
    "dvd-dl": "DVD DL (8.5 GB)",
    "bd": "Blu-ray (25 GB)",
    "bd-dl": "Blu-ray DL (50 GB)",
}


class CreatePage(QWidget):
    created = Signal(str)
    status = Signal(str)

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.job: Job | None = None
        self.need = 0
        lay = QVBoxLayout(self)
        lay.addWidget(page_title("Create an image from a folder"))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("drop a folder on the window, or choose one")
        self.folder.editingFinished.connect(lambda: self.set_folder(self.folder.text()))
        lay.addLayout(path_row("Folder", self.folder, self._pick_folder))
        row = QHBoxLayout()
        row.addWidget(QLabel("Save as"))
        self.out = QLineEdit()
        row.addWidget(self.out, 1)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Label"))
        self.label = QLineEdit()
        self.label.setMaxLength(32)
        self.label.setToolTip("Letters, digits and _; spaces become _")
        row.addWidget(self.label)
        row.addWidget(QLabel("Disc"))
        self.media = QComboBox()
        for key, name in MEDIA_NAMES.items():
            self.media.addItem(name, key)
        self.media.setCurrentIndex(1)
        self.media.currentIndexChanged.connect(lambda _: self._gauge())
        row.addWidget(self.media)
        self.udf = QCheckBox("Add UDF")
        self.hidden = QCheckBox("Include hidden files")
        self.hidden.setChecked(True)
        self.hidden.toggled.connect(lambda _: self.set_folder(self.folder.text()))
        row.addWidget(self.udf)
        row.addWidget(self.hidden)
        row.addStretch(1)
        lay.addLayout(row)
        self.gauge = QProgressBar()
        self.gauge.setFormat("")
        self.gauge.setAccessibleName("Space used on the disc")
        self.gauge_text = QLabel("")
        lay.addWidget(QLabel("Space on the disc"))
        lay.addWidget(self.gauge)
        lay.addWidget(self.gauge_text)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.start = QPushButton("Create image")
        self.start.clicked.connect(self.start_build)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(lambda: self.job and self.job.cancel())
        lay.addWidget(self.progress)
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addWidget(self.start)
        lay.addLayout(row)
        lay.addStretch(1)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to put in the image")
        if path:
            self.set_folder(path)

    def set_folder(self, path: str) -> None:
        """Measure the folder off the GUI thread (it reads every file once to be sure)."""
        self.folder.setText(path)
        if not os.path.isdir(path):
            self.need = 0
            self._gauge()
            return
        name = os.path.basename(os.path.abspath(path)) or "DISC"
        if not self.label.text():
            self.label.setText(name.upper().replace(" ", "_")[:32])
        if not self.out.text():
            self.out.setText(os.path.abspath(path).rstrip(os.sep) + ".iso")
        opts = BuildOptions(include_hidden=self.hidden.isChecked())
        self.gauge_text.setText("Measuring the folder…")
        self.start.setEnabled(False)
        job = Job(
            lambda progress, token: estimate_bytes(scan_folder(path, opts)),
            resource=f"scan:{path}",
            parent=self,
        )
        job.finished.connect(self._measured)
        job.failed.connect(lambda m: self.gauge_text.setText(m.splitlines()[0]))
        self.jobs.start(job)

    def _measured(self, need: object) -> None:
        assert isinstance(need, int)
        self.need = need
        self._gauge()

    def _gauge(self) -> None:
        cap = MEDIA[str(self.media.currentData())]
        self.gauge.setRange(0, 1000)
        self.gauge.setValue(min(1000, self.need * 1000 // cap))
        fits = self.need <= cap
        self.gauge_text.setText(
            f"about {human_bytes(self.need)} of {human_bytes(cap)}"
            + ("" if fits else " — does not fit: choose a larger disc")
        )
        self.start.setEnabled(bool(self.need) and fits)

    def start_build(self) -> None:
        folder, out = self.folder.text(), self.out.text()
        opts = BuildOptions(
            label=self.label.text(),
            udf=self.udf.isChecked(),
            include_hidden=self.hidden.isChecked(),
            media=str(self.media.currentData()),
        )
        job = Job(
            lambda progress, token: build_iso(folder, out, opts, progress, token),
            resource=f"build:{out}",
            parent=self,
        )
        job.progress.connect(lambda p: self.progress.setValue(int(1000 * p.fraction)))
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        self.jobs.start(job)
        self.job = job
        self.progress.setRange(0, 1000)
        self.progress.setVisible(True)
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.status.emit(f"Creating {os.path.basename(out)}…")

    def _done(self, r: object) -> None:
        assert isinstance(r, BuildResult)
        self.cancel.setEnabled(False)
        self.start.setEnabled(True)
        self.progress.setVisible(False)
        self.status.emit(f"Created {r.path}: {r.files} files, {human_bytes(r.image_bytes)}")
        self.created.emit(r.path)

    def _failed(self, message: str) -> None:
        self.cancel.setEnabled(False)
        self.start.setEnabled(True)
        self.progress.setVisible(False)
        first = message.splitlines()[0] if message else "stopped"
        if self.job is not None and self.job.token.cancelled:
            first = "Stopped — nothing was written."
        self.status.emit(first)
        QMessageBox.warning(self, "DiscVault", first)


__all__ = ["CreatePage", "Qt"]
