"""Time budgets on the Back up page: Finish now (distinct from Cancel), the retry passes' ETA
with what it rests on, and the advice that another drive often reads what this one cannot (not
for the demo drive, which is one simulated drive)."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.base import mapfile
from app.core.disc.demo import DemoSource
from app.gui.main_window import MainWindow
from app.gui.progress_view import ProgressView
from tests.gui.helpers import demo_backup, select, snap, wait_card


def slow_demo(win: MainWindow, error_delay: float) -> None:
    demo = next(e for e in win.panel.entries if e.key == "demo")
    demo.opener = lambda: DemoSource(rate=1e12, error_delay=error_delay)
    select(win, "demo")


def test_finish_now_keeps_what_was_read_with_checksums_and_says_what_stays_unread(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    slow_demo(window, 0.05)  # every failed read costs 50 ms: the retries take seconds
    page = window.backup
    out = tmp_path / "f.iso"
    page.dest.setText(str(out))
    page.start_backup()
    view = page.progress
    assert view.finish.isVisibleTo(window) and view.finish.text() == "Finish now"
    qtbot.waitUntil(
        lambda: view.last is not None and view.last.phase in ("trim", "scrape", "retry"),
        timeout=30_000,
    )
    assert view.finish.isEnabled()
    view.finish.click()
    assert not view.finish.isEnabled() and not view.pause.isEnabled()
    head = wait_card(qtbot, window)
    card = page.card
    assert card.outcome == "incomplete", head  # finished, not cancelled
    assert "finished early at your request" in card.detail.text()
    assert card.copy.isEnabled() and "SHA256" in card.hashes.toPlainText()  # checksums made
    assert os.path.exists(str(out) + ".sha256")
    left = mapfile.load(str(out) + ".map", 2048).map
    assert left.size - left.count("+")[0] > 0  # the mapfile keeps what is still missing
    assert card.resume.isVisibleTo(window)  # the demo drive: the same drive, no other
    assert "Resume" in page.start.text()  # the same backup again goes on from there


def test_cancel_is_not_finish(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    slow_demo(window, 0.05)
    page = window.backup
    page.dest.setText(str(tmp_path / "c.iso"))
    page.start_backup()
    view = page.progress
    qtbot.waitUntil(
        lambda: view.last is not None and view.last.phase in ("trim", "scrape", "retry"),
        timeout=30_000,
    )
    view.cancel.click()
    assert wait_card(qtbot, window) == "Stopped — resume any time"
    assert not page.card.copy.isEnabled()  # no checksums: the rescue did not finish


def test_finish_now_is_only_offered_while_reading(qtbot: QtBot) -> None:
    view = ProgressView()
    qtbot.addWidget(view)
    view.reset("Reading…")
    view.update_progress(snap(phase="copy"))
    assert view.finish.isEnabled()
    view.update_progress(snap(phase="hash", pass_no=8))
    assert not view.finish.isEnabled()  # checksums and verify are not reading the disc
    view.update_progress(snap(phase="verify", pass_no=9))
    assert not view.finish.isEnabled()


def test_retry_eta_says_what_it_rests_on_and_suggests_another_drive(qtbot: QtBot) -> None:
    view = ProgressView()
    qtbot.addWidget(view)
    view.reset("Reading…")
    view.update_progress(
        snap(
            phase="retry",
            pass_no=7,
            bad=40 * 2048,
            bad_areas=2,
            rate=0.0,
            eta_seconds=250.0,
            extra={"failed_reads": 10, "fail_seconds": 21.0},
        )
    )
    assert "about 4:10 left at 2.1 s per failed read" in view.numbers.text()
    assert view.another.isVisibleTo(view)
    assert "Another drive often reads what this one cannot" in view.another.text()
    view.update_progress(snap(phase="hash", pass_no=8, eta_seconds=None))
    assert not view.another.isVisibleTo(view)


def test_the_demo_end_card_offers_resume_and_no_other_drive(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    # A real drive's card advises another drive (tests/gui/test_backfix.py); the demo drive is
    # one simulated drive whose disc goes in no other.
    demo_backup(qtbot, window, tmp_path / "d.iso")
    card = window.backup.card
    assert card.outcome == "incomplete"
    assert card.another_note.isVisibleTo(window)
    assert "Resume backup tries the 44 sectors still missing again" in card.another_note.text()
    assert card.resume.isVisibleTo(window) and not card.another.isVisibleTo(window)
    assert not card.strip.isVisibleTo(window)  # the demo disc has no TOC: nothing to draw
