"""Settings: where backups go and how they are made, DAT files, and the look. Saved at once."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.settings import Settings, image_name, template_problem
from app.gui.theme import THEMES


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("DiscVault settings")
        self.settings = settings
        form = QFormLayout()
        folder_row = QHBoxLayout()
        self.folder = QLineEdit(settings.folder)
        self.folder.setAccessibleName("Backup folder")
        pick = QPushButton("Choose…")
        pick.clicked.connect(self._pick_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(pick)
        form.addRow("Backups go to", folder_row)
        self.template = QLineEdit(settings.name_template)
        self.template.setToolTip("Fields: {label} {date} {time} {drive}")
        self.template.textChanged.connect(self._preview)
        form.addRow("Image name", self.template)
        self.preview = QLabel()
        form.addRow("", self.preview)
        self.retries = QSpinBox()
        self.retries.setRange(0, 99)
        self.retries.setValue(settings.retries)
        self.retries.setToolTip("Passes over unreadable sectors after the copy (default 3)")
        form.addRow("Retry passes", self.retries)
        self.cluster = QComboBox()
        for n in (16, 32, 64, 128):
            self.cluster.addItem(f"{n} sectors ({n * 2} KiB)", n)
        self.cluster.setCurrentIndex(max(self.cluster.findData(settings.cluster), 0))
        self.cluster.setToolTip("Read size near errors (default 32 sectors = 64 KiB)")
        form.addRow("Read size near errors", self.cluster)
        self.fill = QComboBox()
        self.fill.addItem("zeros", "zero")
        self.fill.addItem("a marker text naming the sector", "marker")
        self.fill.setCurrentIndex(max(self.fill.findData(settings.fill), 0))
        form.addRow("Unreadable sectors hold", self.fill)
        self.verify_after = QCheckBox("Verify against the disc after a backup")
        self.verify_after.setChecked(settings.verify_after)
        form.addRow("", self.verify_after)
        self.eject = QCheckBox("Eject the disc when done")
        self.eject.setChecked(settings.eject_when_done)
        form.addRow("", self.eject)
        dats = QVBoxLayout()
        self.dats = QListWidget()
        self.dats.addItems(settings.dat_files)
        self.dats.setMaximumHeight(80)
        self.dats.setAccessibleName("DAT files")
        dat_buttons = QHBoxLayout()
        add = QPushButton("Add…")
        add.clicked.connect(self._add_dat)
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.dats.takeItem(self.dats.currentRow()))
        dat_buttons.addWidget(add)
        dat_buttons.addWidget(remove)
        dat_buttons.addStretch(1)
        dats.addWidget(self.dats)
        dats.addLayout(dat_buttons)
        form.addRow("DAT files", dats)
        self.theme = QComboBox()
        for t in THEMES:
            self.theme.addItem({"system": "as the system", "light": "light", "dark": "dark"}[t], t)
        self.theme.setCurrentIndex(max(self.theme.findData(settings.theme), 0))
        form.addRow("Look", self.theme)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.problem)
        lay.addWidget(buttons)
        self._preview()

    def _preview(self) -> None:
        why = template_problem(self.template.text())
        self.preview.setText(
            why or f"e.g. {image_name(self.template.text(), 'HOLIDAY_2009', 'sr0')}"
        )

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Backups go to", self.folder.text())
        if path:
            self.folder.setText(path)

    def _add_dat(self) -> None:
        start = self.settings.last_dir("dat")
        path, _ = QFileDialog.getOpenFileName(self, "DAT file", start, "DAT files (*.dat *.xml)")
        if path:
            self.settings.remember_dir("dat", path)
            self.dats.addItem(path)

    def accept(self) -> None:
        why = template_problem(self.template.text())
        folder = self.folder.text().strip()
        if why is None and not folder:
            why = "choose a folder for the backups"
        if why:
            self.problem.setText(f"Not saved: {why}.")
            return
        s = self.settings
        s.folder = os.path.expanduser(folder)
        s.name_template = self.template.text()
        s.retries = self.retries.value()
        s.cluster = int(self.cluster.currentData())
        s.fill = str(self.fill.currentData())
        s.verify_after = self.verify_after.isChecked()
        s.eject_when_done = self.eject.isChecked()
        s.dat_files = [self.dats.item(i).text() for i in range(self.dats.count())]
        s.theme = str(self.theme.currentData())
        s.sync()
        super().accept()
