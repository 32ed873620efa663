"""What a walk through every screen at 1024x700 found: each test asserts the true text or state
of one screen (issue 14: screens must not say what is not true)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.disc.demo import DemoSource
from app.core.verify.verifier import VerifyResult
from app.gui.extract_policy import ConflictDialog
from app.gui.main_window import MainWindow, first_size
from app.gui.result_card import verify_line
from tests.conftest import require_tool
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


def test_the_first_window_fits_a_1024x700_screen() -> None:
    assert first_size(QSize(1024, 700)) == QSize(1024, 700)
    assert first_size(QSize(1920, 1080)) == QSize(1100, 720)


def test_a_first_start_says_ready_and_enter_backs_up_the_selected_drive(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    # The shelf has loaded behind the Back up page: its message does not replace "Ready".
    qtbot.waitUntil(lambda: window.library.view is not None, timeout=10_000)
    assert window.statusBar().currentMessage().startswith("Ready · ")
    assert QApplication.focusWidget() is window.panel
    window.backup.dest.setText(str(tmp_path / "first.iso"))
    QTest.keyClick(window.panel, Qt.Key.Key_Return)
    assert window.backup.job is not None
    wait_card(qtbot, window)


def test_page_names_are_light_on_the_dark_theme(window: MainWindow) -> None:
    window.settings.theme = "dark"
    window._settings_changed()
    text = window.task_buttons.button(1).palette().color(QPalette.ColorRole.ButtonText)
    window.settings.theme = "light"
    window._settings_changed()
    assert text.lightness() > 160


def test_an_hfs_hybrid_volume_tab_speaks_plainly_and_promises_no_usb_boot(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    require_tool("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "readme.txt").write_text("hello\n")
    image = tmp_path / "hybrid.iso"
    cmd = ["genisoimage", "-quiet", "-hfs", "-J", "-r", "-V", "HYBRID", "-o", str(image), str(tree)]
    subprocess.run(cmd, check=True, capture_output=True)
    page = window.inspect
    window.open_image(str(image))
    qtbot.waitUntil(lambda: page.insp is not None, timeout=20_000)
    text = page.volume.toPlainText()
    assert "HFS volume (what a Mac shows)" in text
    assert "Starts at" in text and "offset" not in text and "length" not in text
    assert "USB stick" not in text  # an HFS volume does not make an image boot from USB
    assert "The image also carries: HFS volume 'HYBRID'" in text


def test_a_file_that_is_no_image_gets_one_remedy_not_two(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    junk = tmp_path / "blank.img"
    junk.write_bytes(bytes(1 << 20))
    page = window.inspect
    window.open_image(str(junk))
    qtbot.waitUntil(lambda: page.banner.isVisibleTo(window), timeout=20_000)
    said = page.banner.text.text()
    assert said.count(" — ") == 1, said
    assert "back the disc up again" not in said


def test_a_verify_result_names_the_image_it_is_about(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    image = tmp_path / "named.iso"
    demo_backup(qtbot, window, image)
    window.show_page(1)
    page = window.verify
    page.image.setText(str(image))
    page.start_verify()
    qtbot.waitUntil(lambda: page.last is not None, timeout=60_000)
    page.image.setText(str(tmp_path / "another.iso"))  # the field changes; the result does not
    lines = [line for line in page.result.toPlainText().splitlines() if line.strip()]
    assert lines[1] == str(image)  # under the heading, before any check
