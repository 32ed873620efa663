"""Create: a folder becomes an .iso, with a gauge of how full the chosen disc would be.

Measuring reads the folder on a worker thread (one job per measurement, so a second drop
while the first is measuring cancels and replaces it instead of colliding), and the size comes
from ``app.core.create.estimate``, which counts what pycdlib will write (within 2 %). The label
is suggested and checked by the one rule in ``app.core.create.names``. Every problem is shown
in the page, under the button that caused it; nothing pops up and nothing is silent.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.base.events import CancelToken, Progress, ProgressCallback
from app.core.base.units import human_bytes
from app.core.create.builder import MEDIA, BuildOptions, BuildResult, build_iso
from app.core.create.estimate import Estimate, estimate
from app.core.create.names import LABEL_RULE, LabelError, normalise_label, suggest_label
from app.core.create.scan import scan
from app.gui.settings import Settings
from app.gui.workers import BusyError, Job, JobQueue

MEDIA_NAMES = {
    "cd": "CD (700 MB)",
    "dvd": "DVD (4.7 GB)",
    "dvd-dl": "DVD DL (8.5 GB)",
    "bd": "Blu-ray (25 GB)",
    "bd-dl": "Blu-ray DL (50 GB)",
}
GAUGE_COLOURS = {"ok": "#2e7d32", "tight": "#f9a825", "over": "#c62828"}
_GAUGE_STYLE = (
    "QProgressBar {{ border: 1px solid palette(mid); border-radius: 3px;"
    " background: palette(base); min-height: 14px; }}"
    " QProgressBar::chunk {{ background: {}; border-radius: 2px; }}"
)
_MESSAGE_STYLE = {
    "error": "color: #d32f2f; font-weight: bold;",  # readable on light and dark palettes
    "info": "",
}


def _buddy(text: str, field: QWidget) -> QLabel:
    """A form label whose Alt-letter moves the focus to its field."""
    label = QLabel(text)
    label.setBuddy(field)
    return label


def _pick_row(edit: QLineEdit, pick: Callable[[], None], tip: str) -> QHBoxLayout:
    row = QHBoxLayout()
    button = QPushButton("Browse…")
    button.setToolTip(tip)
    button.clicked.connect(pick)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class CreatePage(QWidget):
    created = Signal(str)
    status = Signal(str)

    def __init__(
        self, jobs: JobQueue, settings: Settings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings or Settings()
        self.job: Job | None = None
        self.measure_job: Job | None = None
        self._generation = 0
        self.sizes: Estimate | None = None
        self._out_auto = True  # Save as follows the folder until the user picks a name
        self._label_auto = True
        self._replace_ok = ""  # an existing output the user agreed to replace in the dialog
        self._measured_path: str | None = None
        # The page scrolls rather than squeezes: at 640x480 a message, the label's hint and
        # the progress bar together are taller than the window leaves, and every control
        # must stay reachable. Never sideways: the form's rows wrap instead.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.scroller.setWidget(body)
        outer.addWidget(self.scroller)
        lay = QVBoxLayout(body)
        title = QLabel("Create an image from a folder")
        f = title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        title.setFont(f)
        lay.addWidget(title)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("drop a folder on the window, or browse")
        self.folder.setAccessibleName("Folder")
        self.folder.editingFinished.connect(self._folder_edited)
        form.addRow(
            _buddy("&Folder", self.folder),
            _pick_row(self.folder, self._pick_folder, "Choose the folder"),
        )
        self.out = QLineEdit()
        self.out.setAccessibleName("Save as")
        self.out.textEdited.connect(self._out_edited)
        form.addRow(
            _buddy("&Save as", self.out),
            _pick_row(self.out, self._pick_out, "Choose where to save"),
        )
        self.label = QLineEdit()
        self.label.setMaxLength(32)
        self.label.setAccessibleName("Volume label")
        self.label.setToolTip(f"Volume label: {LABEL_RULE}")
        self.label.textEdited.connect(self._label_edited)
        self.label.textChanged.connect(lambda _: self._update())
        self.label_hint = QLabel("")
        self.label_hint.setWordWrap(True)
        self.label_hint.setStyleSheet(_MESSAGE_STYLE["error"])
        self.label_hint.setVisible(False)
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(self.label)
        box.addWidget(self.label_hint)
        form.addRow(_buddy("&Label", self.label), box)
        self.media = QComboBox()
        self.media.setAccessibleName("Target disc")
        for key, name in MEDIA_NAMES.items():
            self.media.addItem(name, key)
        self.media.setCurrentIndex(1)
        self.media.currentIndexChanged.connect(lambda _: self._update())
        form.addRow(_buddy("&Disc", self.media), self.media)
        self.boot = QLineEdit()
        self.boot.setAccessibleName("Boot image")
        self.boot.setPlaceholderText("optional: a no-emulation El Torito image in the folder")
        self.boot.textChanged.connect(lambda _: self._update())
        form.addRow(
            _buddy("&Boot image", self.boot),
            _pick_row(self.boot, self._pick_boot, "Choose a boot image"),
        )
        lay.addLayout(form)
        row = QHBoxLayout()
        self.udf = QCheckBox("Add &UDF")
        self.udf.toggled.connect(lambda _: self._update())
        self.hidden = QCheckBox("Include &hidden files")
        self.hidden.setChecked(True)
        self.hidden.toggled.connect(lambda _: self.set_folder(self.folder.text()))
        row.addWidget(self.udf)
        row.addWidget(self.hidden)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(QLabel("Space on the disc"))
        self.gauge = QProgressBar()
        self.gauge.setRange(0, 1000)
        self.gauge.setTextVisible(False)
        self.gauge.setAccessibleName("Space used on the disc")
        self.gauge_state = "ok"
        self.gauge.setStyleSheet(_GAUGE_STYLE.format(GAUGE_COLOURS["ok"]))
        lay.addWidget(self.gauge)
        self.gauge_text = QLabel("")
        self.gauge_text.setWordWrap(True)
        lay.addWidget(self.gauge_text)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setAccessibleName("Message")
        self.message.setVisible(False)
        self.message_kind = ""
        lay.addWidget(self.message)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        lay.addWidget(self.progress)
        row = QHBoxLayout()
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(lambda: self.job and self.job.cancel())
        self.start = QPushButton("Create image")
        self.start.setToolTip("Create the image (Enter)")
        self.start.clicked.connect(self.start_build)
        row.addStretch(1)
        row.addWidget(self.cancel)
        row.addWidget(self.start)
        lay.addLayout(row)
        lay.addStretch(1)
        for enter_key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            sc = QShortcut(QKeySequence(enter_key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(self._enter)
        self._update()

    # ---- choosing --------------------------------------------------------------------------
    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to put in the image")
        if path:
            self.set_folder(path)

    def _pick_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the image as", self.out.text() or self.settings.folder, "Images (*.iso)"
        )
        if path:
            if not path.lower().endswith(".iso"):
                path += ".iso"
            self.out.setText(path)
            self._out_auto = False
            # The dialog has asked before choosing an existing file: replacing it is wanted.
            self._replace_ok = path if os.path.exists(path) else ""
            self._update()

    def _pick_boot(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "El Torito boot image (no emulation)", self.folder.text()
        )
        if path:
            self.boot.setText(path)

    def _out_edited(self, _text: str) -> None:
        self._out_auto = False
        self._replace_ok = ""
        self._update()

    def _label_edited(self, text: str) -> None:
        self._label_auto = not text

    def _folder_edited(self) -> None:
        if self.folder.text() != self._measured_path:
            self.set_folder(self.folder.text())

    def default_output(self, folder: str) -> str:
        """``<library folder>/<folder name>.iso``, numbered if that name is taken."""
        name = os.path.basename(os.path.abspath(folder)) or "disc"
        base = os.path.join(self.settings.folder, name)
        out, k = base + ".iso", 2
        while os.path.exists(out):
            out, k = f"{base} ({k}).iso", k + 1
        return out

    def set_folder(self, path: str) -> None:
        """Measure the folder off the GUI thread (it reads every file once to be sure)."""
        self.folder.setText(path)
        self._measured_path = path
        self._generation += 1
        if self.measure_job is not None:
            self.measure_job.cancel()  # a newer folder replaces it
        self.sizes = None
        if not path:
            self._show("", "")
            self._update()
            return
        if not os.path.isdir(path):
            self._show("error", f"{path} is not a folder — choose a folder to put in the image")
            self._update()
            return
        self._show("", "")
        name = os.path.basename(os.path.abspath(path))
        if self._label_auto:
            self.label.setText(suggest_label(name))
        if self._out_auto:
            self.out.setText(self.default_output(path))
        hidden, generation = self.hidden.isChecked(), self._generation

        def measure(_progress: ProgressCallback, token: CancelToken) -> object:
            return generation, estimate(scan(path, hidden, cancel=token))

        job = Job(measure, resource=f"measure:{generation}", parent=self)
        job.finished.connect(self._measured)
        job.failed.connect(lambda m, g=generation: self._measure_failed(g, m))
        self.measure_job = job
        self.jobs.start(job)  # a fresh resource each time: never busy
        self._update()

    def _measured(self, result: object) -> None:
        assert isinstance(result, tuple)
        generation, sizes = result
        if generation != self._generation:
            return  # an older folder's answer
        assert isinstance(sizes, Estimate)
        self.sizes = sizes
        self.measure_job = None
        self._update()

    def _measure_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.measure_job = None
        self._show("error", message.splitlines()[0] if message else "cannot read the folder")
        self._update()

    # ---- the gauge and what may run -----------------------------------------------------------
    def _label_problem(self) -> str:
        try:
            if self.label.text().strip():
                normalise_label(self.label.text())
        except LabelError as e:
            return str(e)
        return ""

    def need(self) -> int:
        if self.sizes is None:
            return 0
        return self.sizes.size(self.udf.isChecked(), bool(self.boot.text().strip()))

    def _update(self) -> None:
        cap = MEDIA[str(self.media.currentData())]
        need = self.need()
        measuring = self.measure_job is not None
        running = self.job is not None
        if measuring:
            text = "Measuring the folder…"
        elif self.sizes is None:
            text = ""
        else:
            pct = 100 * need / cap
            share = f"{pct:.0f} %" if pct >= 1 else "less than 1 %"
            text = f"about {human_bytes(need)} of {human_bytes(cap)} ({share})"
            if need > cap:
                text += (
                    f" — {human_bytes(need - cap)} more than a "
                    f"{self.media.currentText().split(' (')[0]} holds: choose a larger disc"
                )
        self.gauge_text.setText(text)
        self.gauge.setValue(min(1000, need * 1000 // cap))
        state = "over" if need > cap else "tight" if need > 0.9 * cap else "ok"
        if state != self.gauge_state:
            self.gauge_state = state
            self.gauge.setStyleSheet(_GAUGE_STYLE.format(GAUGE_COLOURS[state]))
        label_problem = self._label_problem()
        self.label_hint.setText(label_problem)
        self.label_hint.setVisible(bool(label_problem))
        ready = (
            self.sizes is not None
            and need <= cap
            and not label_problem
            and bool(self.out.text().strip())
            and not running
        )
        self.start.setEnabled(ready)

    def _show(self, kind: str, text: str) -> None:
        self.message_kind = kind
        self.message.setText(text)
        self.message.setStyleSheet(_MESSAGE_STYLE.get(kind, ""))
        self.message.setVisible(bool(text))

    def _enter(self) -> None:
        if self.start.isEnabled():
            self.start_build()
        elif self.job is None:
            self._show("error", self._why_not())

    def _why_not(self) -> str:
        if self.job is not None:
            return "An image is being created"
        if self.measure_job is not None:
            return "The folder is still being measured"
        if self.sizes is None:
            return "Choose a folder first"
        if self._label_problem():
            self.label.setFocus()
            return "Correct the volume label first (see under the label)"
        if not self.out.text().strip():
            return "Choose where to save the image"
        return "The folder does not fit the chosen disc"

    # ---- creating --------------------------------------------------------------------------
    def start_build(self) -> None:
        if not self.start.isEnabled():
            self._show("error", self._why_not())
            return
        folder, out = self.folder.text(), os.path.abspath(self.out.text().strip())
        if os.path.exists(out) and self._replace_ok != out and not os.path.isdir(out):
            self._show(
                "error",
                f"{out} exists — choose another name, or pick it with Browse… to replace it",
            )
            return
        if os.path.dirname(out) == os.path.abspath(self.settings.folder):
            os.makedirs(self.settings.folder, exist_ok=True)  # the library folder, on first use
        opts = BuildOptions(
            label=self.label.text(),
            udf=self.udf.isChecked(),
            boot=self.boot.text().strip() or None,
            include_hidden=self.hidden.isChecked(),
            media=str(self.media.currentData()),
            force=self._replace_ok == out,
        )
        job = Job(
            lambda progress, token: build_iso(folder, out, opts, progress, token),
            resource=f"build:{out}",
            parent=self,
        )
        job.progress.connect(self._progress)
        job.finished.connect(self._done)
        job.failed.connect(self._failed)
        try:
            self.jobs.start(job)
        except BusyError:
            self._show("error", f"{out} is already being created — wait for it or cancel it")
            return
        self.job = job
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel.setEnabled(True)
        self._show("info", f"Creating {os.path.basename(out)}…")
        self.status.emit(f"Creating {os.path.basename(out)}…")
        self._update()

    def _progress(self, p: object) -> None:
        if isinstance(p, Progress):
            # Two phases: laying out the tree (entries), then writing (bytes).
            base = 0 if p.phase == "prepare" else 200
            span = 200 if p.phase == "prepare" else 800
            self.progress.setValue(base + int(span * p.fraction))

    def _finish(self) -> None:
        self.job = None
        self.cancel.setEnabled(False)
        self.progress.setVisible(False)
        self._update()

    def _done(self, r: object) -> None:
        assert isinstance(r, BuildResult)
        self._finish()
        text = f"Created {r.path}: {r.files} files, {human_bytes(r.image_bytes)}"
        if r.undecodable:
            text += (
                f". {len(r.undecodable)} name(s) are not UTF-8: Rock Ridge keeps them, "
                "Windows shows _ for each bad byte"
            )
        self._show("info", text)
        self.status.emit(text)
        self._replace_ok = ""
        if self._out_auto:
            self.out.setText(self.default_output(self.folder.text()))
        self.created.emit(r.path)

    def _failed(self, message: str) -> None:
        cancelled = self.job is not None and self.job.token.cancelled
        self._finish()
        first = message.splitlines()[0] if message else "stopped"
        if cancelled:
            first = "Stopped — nothing was written."
        self._show("error", first)
        self.status.emit(first)
