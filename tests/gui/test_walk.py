"""What a walk through every screen at 1024x700 found: each test asserts the true text or state
of one screen (issue 14: screens must not say what is not true)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.gui.extract_policy import ConflictDialog


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
