"""The live view says only what was measured (issue 14, "Things that are not true today")."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.base import mapfile
from app.gui.main_window import MainWindow
from app.gui.progress_view import ProgressView
from tests.gui.helpers import MB100, demo_backup, snap


def view(qtbot: QtBot) -> ProgressView:
    v = ProgressView()
    qtbot.addWidget(v)
    v.reset("Reading…")
    return v


def test_sectors_skipped_in_the_copy_pass_are_not_called_unreadable(qtbot: QtBot) -> None:
    v = view(qtbot)
    v.update_progress(snap(pending=262_144, bad=0))
    assert "unreadable" not in v.numbers.text()
    assert "262.1 KB skipped, read again later" in v.numbers.text()


def test_rescued_never_reads_as_everything_while_bytes_are_missing(qtbot: QtBot) -> None:
    v = view(qtbot)
    lost = 20 * 2048
    v.update_progress(snap(phase="retry", pass_no=5, done=MB100 - lost, bad=lost, bad_areas=2))
    text = v.numbers.text()
    assert "100.7 MB of 100.7 MB" not in text
    assert "all but 41.0 KB of 100.7 MB" in text
    assert "unreadable 41.0 KB in 2 areas" in text
    assert not v.percent.text().startswith("100.0")


def test_x_factor_only_for_a_real_drive_with_the_right_base(qtbot: QtBot) -> None:
    v = view(qtbot)
    v.update_progress(snap(rate=200e6, medium=None))  # an image file: no x-factor
    assert "200.0 MB/s" in v.percent.text() and "x)" not in v.percent.text()
    v.update_progress(snap(rate=52 * 153_600, medium="CD"))
    assert "(52.0x)" in v.percent.text()
    v.update_progress(snap(rate=16 * 1_385_000, medium="DVD"))
    assert "(16.0x)" in v.percent.text()
    v.update_progress(snap(rate=12 * 4_500_000, medium="BD"))
    assert "(12.0x)" in v.percent.text()


def test_sector_by_sector_passes_do_not_show_the_copy_speed(qtbot: QtBot) -> None:
    v = view(qtbot)
    v.update_progress(snap(rate=25e6))
    assert "MB/s" in v.percent.text()
    for phase, no in (("trim", 3), ("scrape", 4), ("retry", 5)):
        v.update_progress(snap(phase=phase, pass_no=no, rate=25e6, position=2048 * 24_600))
        assert "MB/s" not in v.percent.text(), phase
        assert "sector by sector, at LBA 24,600" in v.numbers.text()


def test_paused_shows_everywhere_not_only_on_the_button(qtbot: QtBot, window: MainWindow) -> None:
    v = window.backup.progress
    window.backup.stack.setCurrentWidget(v)
    v.update_progress(snap(eta_seconds=3.0))
    v.pause.click()
    v.update_progress(snap(eta_seconds=3.0))  # a tick that was already on its way
    assert v.phase.text().startswith("Paused")
    assert "left" not in v.numbers.text() and "MB/s" not in v.percent.text()
    assert window.statusBar().currentMessage().startswith("Paused")
    v.pause.click()
    v.update_progress(snap(eta_seconds=3.0))
    assert v.phase.text().startswith("Pass 1") and "0:03 left" in v.numbers.text()


def test_verify_has_its_own_view_and_a_fresh_graph(qtbot: QtBot) -> None:
    v = view(qtbot)
    for k in range(10):
        v.update_progress(snap(position=k * MB100 // 10, done=k * MB100 // 10))
    assert len(v.graph.points) == 10
    v.update_progress(
        snap(
            phase="verify",
            pass_no=1,
            pass_count=1,
            position=MB100 // 20,
            done=MB100 // 20,
            bad=2048 * 44,
            pending=950_000,
            extra={"differ": 0},
        )
    )
    assert v.phase.text() == "Verifying the image against the disc"
    text = v.numbers.text()
    assert "rescued" not in text and "area" not in text
    assert "verified 5.0 MB of 100.7 MB" in text
    assert "0 sectors differ" in text and "90.1 KB unreadable now" in text
    assert len(v.graph.points) == 1  # the copy pass's line is gone
    assert v.legend.names["*"] == "skipped, read again at the end"  # not "not trimmed"


def test_a_reverse_pass_does_not_draw_back_across_the_line(qtbot: QtBot) -> None:
    v = view(qtbot)
    for k in range(10):
        v.update_progress(snap(position=k * MB100 // 10))
    for k in reversed(range(10)):
        v.update_progress(snap(pass_no=2, position=k * MB100 // 10))
    xs = [f for f, _ in v.graph.points]
    assert xs == sorted(xs) and len(xs) == 10


def test_log_counts_its_lines_never_repeats_and_numbers_every_pass(qtbot: QtBot) -> None:
    v = view(qtbot)
    steps = [("copy", 1), ("copy", 2), ("trim", 3), ("scrape", 4), ("retry", 5)]
    for phase, no in steps:
        v.update_progress(snap(phase=phase, pass_no=no))
    for _ in range(5):
        v.update_progress(
            snap(phase="hash", pass_no=5, message="computing checksums from the image")
        )
    v.log.toggle.click()  # the count stays right while the log is open
    v.add_log("one more line")
    lines = v.log.text().splitlines()
    assert v.log.toggle.text() == f"Log ({len(lines)} lines)"
    assert sum("computing checksums from the image" in ln for ln in lines) == 1
    passes = [int(ln.split("pass ")[1].split(":")[0]) for ln in lines if "  pass " in ln]
    assert passes == [1, 2, 3, 4, 5]


def test_status_bar_counts_the_demo_drive(window: MainWindow) -> None:
    window.refresh_entries()
    msg = window.statusBar().currentMessage()
    assert "0 drives" not in msg and "Demo drive" in msg
    assert window.no_drive.isVisibleTo(window) and "simulated" in window.no_drive.text()


def test_demo_verify_counts_agree_with_the_backup(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    out = tmp_path / "v.iso"
    demo_backup(qtbot, window, out, verify=True)
    bad = mapfile.load(str(out) + ".map", 2048).map
    unreadable = bad.size - bad.count("+")[0]
    detail = window.backup.card.detail.text()
    assert f"0 differ, {unreadable} unreadable now" in detail
    assert f"{bad.size - unreadable:,} of {bad.size:,} sectors identical" in detail
