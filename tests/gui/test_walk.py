"""What a walk through every screen at 1024x700 found: each test asserts the true text or state
of one screen (issue 14: screens must not say what is not true)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.gui.extract_policy import ConflictDialog
from app.gui.main_window import MainWindow
from tests.gui.helpers import demo_backup, select


def test_enter_in_the_conflict_dialog_skips_and_never_replaces(
    qtbot: QtBot, tmp_path: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    there = tmp_path / "big.bin"
    there.write_text("mine")
    dialog = ConflictDialog(parent, "/docs/big.bin", str(there))
    answers: list[str] = []
    dialog.answered.connect(lambda action, _all: answers.append(action))
    dialog.open()
    qtbot.waitExposed(dialog)
    assert dialog.buttons["skip"].isDefault()
    assert not dialog.buttons["replace"].isDefault()
    focus = QApplication.focusWidget() or dialog
    QTest.keyClick(focus, Qt.Key.Key_Return)
    assert answers == ["skip"]


def test_enter_on_a_ticked_check_box_runs_the_page_and_keeps_the_tick(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    image = tmp_path / "d.iso"
    demo_backup(qtbot, window, image)
    window.show_page(1)
    select(window, "demo")
    page = window.verify
    page.image.setText(str(image))
    page.against.setFocus()
    QTest.keyClick(page.against, Qt.Key.Key_Space)  # Space ticks the box
    QTest.keyClick(page.against, Qt.Key.Key_Return)  # Enter verifies, against the disc
    assert page.against.isChecked()
    assert page.job is not None
    qtbot.waitUntil(lambda: page.last is not None, timeout=60_000)
    assert page.last is not None and page.last.source_sectors > 0  # the disc was compared
