"""The end of a backup answers the user's question, and its buttons do what they say."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from app.core.disc.demo import DemoSource
from app.gui.main_window import MainWindow
from tests.gui.helpers import demo_backup, select, wait_card


def test_end_card_names_damaged_files_time_speed_and_outcome(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    head = demo_backup(qtbot, window, tmp_path / "e.iso")
    card = window.backup.card
    assert head == "Backed up — 90.1 KB unreadable in 2 areas"
    rows = [card.damaged.topLevelItem(i) for i in range(card.damaged.topLevelItemCount())]
    assert [(r.text(0), r.text(1)) for r in rows if r] == [("/Video/Beach day.vob", "90.1 KB")]
    assert "0.1 % of 100.7 MB" in rows[0].text(2)  # type: ignore[union-attr]
    assert "Took " in card.detail.text() and "average " in card.detail.text()
    assert card.outcome == "incomplete" and not card.icon.pixmap().isNull()
    assert window.backup.log.isVisibleTo(window) and window.backup.log.lines > 3


def slow_demo(window: MainWindow) -> None:
    window.panel.entries[-1].opener = lambda: DemoSource(rate=4e6, error_delay=0.0)


def test_copy_checksums_is_disabled_on_a_cancelled_card(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    slow_demo(window)
    select(window, "demo")
    window.backup.dest.setText(str(tmp_path / "c.iso"))
    window.backup.start_backup()
    qtbot.waitUntil(lambda: window.backup.progress.last is not None, timeout=10_000)
    window.backup.progress.cancel.click()
    assert wait_card(qtbot, window) == "Stopped — resume any time"
    assert not window.backup.card.copy.isEnabled()
    assert window.backup.card.outcome == "cancelled"


def test_verify_again_runs_the_verify(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    demo_backup(qtbot, window, tmp_path / "a.iso")
    window.backup.card.verify.click()
    page = window.verify
    assert window.pages.currentWidget() is page
    assert page.job is not None  # it runs, not only fills in the field
    qtbot.waitUntil(lambda: page.last is not None, timeout=30_000)
    assert page.last is not None and page.last.image == str(tmp_path / "a.iso")
    assert any(c.name == "source" for c in page.last.checks)  # compared with the disc


def test_open_folder_says_when_no_file_manager_opens(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_backup(qtbot, window, tmp_path / "o.iso")
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    window.backup.card.open_folder.click()
    note = window.backup.card.note
    assert note.isVisibleTo(window) and str(tmp_path) in note.text()


def test_verify_with_an_empty_image_field_says_why(window: MainWindow) -> None:
    window.show_page(1)
    window.verify.image.clear()
    window.verify.start.click()
    banner = window.verify.banner
    assert banner.isVisibleTo(window) and "Choose the image to verify" in banner.text.text()
    assert window.verify.job is None
