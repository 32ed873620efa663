"""Keyboard, settings, dialogs, looks and layout: the app feels finished (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QLabel,
    QPushButton,
    QStyleFactory,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.gui.settings import Settings
from tests.gui.helpers import select, wait_card
from tests.integration import isofixtures as fx


def test_enter_runs_each_pages_main_action(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    select(window, "demo")
    window.backup.dest.setText(str(tmp_path / "k.iso"))
    window.backup.dest.setFocus()
    QTest.keyClick(window.backup.dest, Qt.Key.Key_Return)
    assert window.backup.job is not None  # Enter in the Save to field started the backup
    wait_card(qtbot, window)
    window.show_page(1)
    window.verify.image.setText(str(tmp_path / "k.iso"))
    QTest.keyClick(window.verify.image, Qt.Key.Key_Return)
    assert window.verify.job is not None
    qtbot.waitUntil(lambda: window.verify.last is not None, timeout=30_000)


def test_the_back_up_flow_works_from_the_keyboard(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    window.settings.folder = str(tmp_path)
    window.panel.setFocus()
    QTest.keyClick(window.panel, Qt.Key.Key_End)  # the demo drive, last in the list
    assert window.panel.current_entry() is not None
    assert window.panel.current_entry().key == "demo"  # type: ignore[union-attr]
    QTest.keyClick(window.panel, Qt.Key.Key_Return)  # Enter on a drive backs it up
    assert window.backup.job is not None
    assert QApplication.focusWidget() is window.backup.progress.pause
    wait_card(qtbot, window)
    focus = QApplication.focusWidget()
    assert isinstance(focus, QPushButton) and window.backup.card.isAncestorOf(focus)
    window.activateWindow()
    qtbot.waitActive(window)
    QTest.keyClick(focus, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.verify)  # animated click


def test_focus_is_visible(qtbot: QtBot) -> None:
    from app.gui import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old_style = app.style().name()
    theme.apply(app, "light")
    try:
        w = QWidget()
        qtbot.addWidget(w)
        a, b = QPushButton("Start backup", w), QCheckBox("Verify after", w)
        b.move(0, 40)
        w.show()
        qtbot.waitExposed(w)
        for widget in (a, b):
            widget.clearFocus()
            before = widget.grab().toImage()
            widget.setFocus()
            qtbot.waitUntil(widget.hasFocus)
            after = widget.grab().toImage()
            assert _differs(before, after), type(widget).__name__
    finally:
        app.setStyle(QStyleFactory.create(old_style) or QStyleFactory.create("Fusion"))


def _differs(a: QImage, b: QImage) -> int:
    return sum(
        a.pixel(x, y) != b.pixel(x, y)
        for x in range(0, min(a.width(), b.width()), 2)
        for y in range(0, min(a.height(), b.height()), 2)
    )


def test_settings_are_saved_and_used(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    dlg = window.show_settings()
    dlg.folder.setText(str(tmp_path / "Backups"))
    dlg.template.setText("{label}_{drive}")
    dlg.retries.setValue(5)
    dlg.fill.setCurrentIndex(dlg.fill.findData("marker"))
    dlg.cluster.setCurrentIndex(dlg.cluster.findData(64))
    dlg.verify_after.setChecked(True)
    dlg.eject.setChecked(False)
    dlg.dats.addItem(str(tmp_path / "redump.dat"))
    dlg.accept()
    again = Settings(QSettings(window.settings.store.fileName(), QSettings.Format.IniFormat))
    assert (again.folder, again.retries, again.fill, again.cluster) == (
        str(tmp_path / "Backups"),
        5,
        "marker",
        64,
    )
    assert again.verify_after and not again.eject_when_done
    assert again.dat_files == [str(tmp_path / "redump.dat")]
    select(window, "demo")
    assert window.backup.dest.text() == str(tmp_path / "Backups" / "HOLIDAY_2009_demo.iso")
    assert window.backup.retries.value() == 5


def test_a_bad_naming_template_is_refused_with_a_reason(window: MainWindow) -> None:
    from app.gui.settings_dialog import SettingsDialog

    dlg = SettingsDialog(window.settings, window)
    dlg.template.setText("{label}_{colour}")
    dlg.accept()
    assert "unknown field {colour}" in dlg.problem.text()
    assert window.settings.name_template == "{label}_{date}"


def test_window_size_and_position_are_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    store = str(tmp_path / "g.ini")
    first = MainWindow(Settings(QSettings(store, QSettings.Format.IniFormat)), poll_ms=0)
    qtbot.addWidget(first)
    first.show()
    first.resize(720, 510)  # the offscreen screen is 800x600
    qtbot.waitUntil(lambda: first.width() == 720)
    first.close()
    second = MainWindow(Settings(QSettings(store, QSettings.Format.IniFormat)), poll_ms=0)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (720, 510)


def test_open_device_lists_block_devices(qtbot: QtBot, tmp_path: Path) -> None:
    from app.gui.device_dialog import DeviceDialog
    from app.platform.blockdevs import list_block_devices

    sysfs = tmp_path / "block"
    for name, size, extra in (
        ("sda", 1_000_000, {"removable": "0", "device/model": "SSD 860"}),
        ("sr0", 700_000, {"removable": "1", "device/model": "BW-16D1HT"}),
        ("loop0", 0, {}),
        ("loop1", 2048, {"loop/backing_file": "/srv/disc.iso"}),
        ("ram0", 100, {}),
    ):
        (sysfs / name).mkdir(parents=True)
        (sysfs / name / "size").write_text(f"{size}\n")
        for rel, text in extra.items():
            (sysfs / name / rel).parent.mkdir(parents=True, exist_ok=True)
            (sysfs / name / rel).write_text(text + "\n")
    devs = list_block_devices(str(sysfs))
    assert [(d.path, d.kind) for d in devs] == [
        ("/dev/loop1", "loop"),
        ("/dev/sda", "disk"),
        ("/dev/sr0", "optical"),
    ]
    dlg = DeviceDialog(
        Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)), devs
    )
    qtbot.addWidget(dlg)
    first = dlg.list.topLevelItem(0)
    assert first is not None and first.text(0) == "/dev/sr0"  # optical drives first
    dlg.accept()
    assert dlg.path == "/dev/sr0"


def test_default_image_name_uses_the_volume_label(window: MainWindow, tmp_path: Path) -> None:
    tree = fx.make_tree(tmp_path / "t")
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "source.iso")
    window.add_source(str(iso))
    assert Path(window.backup.dest.text()).name.startswith("GENISO_")


def test_icons_are_svg_and_follow_the_theme(qtbot: QtBot) -> None:
    from app.gui import theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = app.palette()
    try:
        theme.apply(app, "dark")
        assert theme.is_dark()
        dark = theme.icon("folder")
        theme.apply(app, "light")
        light = theme.icon("folder")
        assert not dark.isNull() and not light.isNull()
        for size in (16, 32, 64):  # drawn from the SVG at every size: crisp on HiDPI
            assert dark.pixmap(size, size).width() == size
        img_d, img_l = dark.pixmap(32, 32).toImage(), light.pixmap(32, 32).toImage()
        assert _differs(img_d, img_l)  # light strokes on dark, dark strokes on light
    finally:
        app.setPalette(old)
        theme.apply(app, "system")


def clipped(win: MainWindow) -> list[str]:
    """Visible buttons, checkboxes and one-line labels narrower than they need to be."""
    out = []
    for w in win.findChildren(QWidget):
        if not w.isVisibleTo(win) or w.width() <= 0:
            continue
        if isinstance(w, QAbstractButton) and w.width() < w.minimumSizeHint().width():
            out.append(
                f"{type(w).__name__} {w.text()!r} {w.width()} < {w.minimumSizeHint().width()}"
            )
        one_line = isinstance(w, QLabel) and not w.wordWrap() and w.pixmap().isNull()
        if (
            one_line
            and w.text()  # type: ignore[attr-defined]
            and w.width() < w.minimumSizeHint().width()
            and w.sizePolicy().horizontalPolicy().name != "Ignored"
        ):
            out.append(f"QLabel {w.text()[:30]!r} {w.width()} < {w.minimumSizeHint().width()}")  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("size", [(1024, 700), (640, 480)])
def test_no_clipped_controls(qtbot: QtBot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=3000)
    for page in range(5):  # every page, the Create and Library pages too
        window.show_page(page)
        QApplication.processEvents()
        assert clipped(window) == [], (size, page)
