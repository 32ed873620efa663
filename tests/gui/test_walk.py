"""What a walk through every screen at 1024x700 found: each test asserts the true text or state
of one screen (issue 14: screens must not say what is not true)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.disc.demo import DemoSource
from app.core.verify.verifier import VerifyResult
from app.gui.extract_policy import ConflictDialog
from app.gui.main_window import MainWindow
from app.gui.result_card import verify_line
from tests.gui.helpers import demo_backup, select, wait_card


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


def test_verify_line_counts_as_identical_only_what_matched() -> None:
    v = VerifyResult(image="x.iso", sectors=1000)
    v.mismatches = [(10, 5)]
    v.source_unreadable = [(100, 3)]
    v.now_readable = [(500, 400)]  # the image lacks them (Finish now); the disc gave them now
    line = verify_line(v)
    assert "592 of 1,000 sectors identical, 5 differ, 3 unreadable now" in line
    assert "400 missing from the image read now" in line
    assert "were unreadable" not in line  # most were never tried


def test_finish_now_in_the_copy_pass_says_missing_not_unreadable(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    demo = next(e for e in window.panel.entries if e.key == "demo")
    demo.opener = lambda: DemoSource(rate=20e6)  # the copy pass takes seconds
    select(window, "demo")
    page = window.backup
    page.dest.setText(str(tmp_path / "early.iso"))
    page.verify_box.setChecked(True)
    page.start_backup()
    view = page.progress
    qtbot.waitUntil(
        lambda: view.last is not None and view.last.phase == "copy" and view.last.done > 0,
        timeout=30_000,
    )
    view.finish.click()
    wait_card(qtbot, window, timeout=120_000)
    card = page.card
    assert "Finished early" in card.headline.text()
    assert card.damaged.isVisibleTo(window)
    assert card.damaged.headerItem().text(1) == "Missing"
    assert "missing from the image read now" in card.detail.text()
    assert "that were unreadable" not in card.detail.text()
