"""'Open device…': the block devices there are (optical drives first), or an image file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.base.units import human_bytes
from app.gui.settings import Settings
from app.platform.blockdevs import BlockDevice, list_block_devices

KIND_WORDS = {
    "optical": "optical drive",
    "removable": "removable",
    "loop": "loop device",
    "disk": "disk",
}
ORDER = {"optical": 0, "removable": 1, "loop": 2, "disk": 3}


class DeviceDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        devices: list[BlockDevice] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Back up from a device or image")
        self.settings = settings
        self.path = ""
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel("Pick the device to back up (it is only read), or choose an image file.")
        )
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Device", "Size", "Kind", "Model / file"])
        self.list.setRootIsDecorated(False)
        self.list.setAccessibleName("Block devices")
        devs = sorted(
            devices if devices is not None else list_block_devices(),
            key=lambda d: (ORDER.get(d.kind, 9), d.path),
        )
        for d in devs:
            item = QTreeWidgetItem([d.path, human_bytes(d.size), KIND_WORDS[d.kind], d.model])
            item.setData(0, Qt.ItemDataRole.UserRole, d.path)
            self.list.addTopLevelItem(item)
        for col in range(3):
            self.list.resizeColumnToContents(col)
        first = self.list.topLevelItem(0)
        if first is not None:
            self.list.setCurrentItem(first)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept())
        self.empty = QLabel("No block devices found that could be read.")
        self.empty.setVisible(not devs)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.empty)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        file_button = QPushButton("Image file…")
        buttons.addButton(file_button, QDialogButtonBox.ButtonRole.ActionRole)
        file_button.clicked.connect(self._pick_file)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(620, 320)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Back up from an image file", self.settings.last_dir("source")
        )
        if path:
            self.settings.remember_dir("source", path)
            self.path = path
            super().accept()

    def accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.path = str(item.data(0, Qt.ItemDataRole.UserRole))
        super().accept()
