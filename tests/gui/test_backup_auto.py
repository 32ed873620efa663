"""Auto per drive on the Back up page (pytest-qt, offscreen): the switch puts the selected drive
into the core's unattended loop, the page shows the queue, and the drive is held in the
window's JobQueue while auto has it. The "drives" are image files (a file holds a disc while it
has sectors), so the real platform layer and the real runner do the work."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.library.autojob import AutoOptions
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.gui.main_window import MainWindow
from tests.gui.helpers import select
from tests.integration.test_auto import make_disc

TIMEOUT = 60_000
DAY = time.strftime("%Y-%m-%d")


def test_the_auto_switch_runs_the_drive_unattended_and_shows_the_queue(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    window.library.set_folder(str(lib))
    disc = make_disc(tmp_path, "SHELF", 5, megabytes=2)
    a, b = tmp_path / "drive_a.iso", tmp_path / "drive_b.iso"
    a.write_bytes(disc)
    shutil.copy(a, b)
    window.add_source(str(b))
    window.add_source(str(a))
    page = window.backup
    page.auto_options = AutoOptions(poll=0.1, progress_every=0.2)
    assert page.auto_box.isEnabled() and not page.auto_box.isChecked()
    assert page.start.isEnabled()

    page.auto_box.setChecked(True)
    view = page.auto
    assert view is not None and view.is_on(str(a))
    assert page.stack.currentWidget() is view  # the queue, in the page
    assert not page.start.isEnabled()  # the drive is auto's now
    assert window.jobs.busy(str(a))  # held in the window's queue: one job per drive
    qtbot.waitUntil(lambda: view.recent.count() == 1, timeout=TIMEOUT)
    assert "complete" in view.recent.item(0).text()
    assert (lib / f"SHELF_{DAY}" / "SHELF.iso").read_bytes() == disc
    with Catalogue(Library(str(lib))) as cat:
        assert [d.label for d in cat.discs()] == ["SHELF"]

    # Another drive selected: its own switch, off; the queue still lists both drives.
    select(window, str(b))
    assert not page.auto_box.isChecked() and page.stack.currentWidget() is not view
    assert page.start.isEnabled()
    assert set(view.switches) == {str(a), str(b)}
    view.switches[str(b)].setChecked(True)  # switched on from the queue's table
    assert page.auto_box.isChecked() and page.stack.currentWidget() is view
    qtbot.waitUntil(lambda: view.recent.count() == 2, timeout=TIMEOUT)
    assert "already backed up on" in view.recent.item(0).text()

    # Off: the drive is let go once its worker has ended; Start works again.
    page.auto_box.setChecked(False)
    qtbot.waitUntil(lambda: not window.jobs.busy(str(b)), timeout=TIMEOUT)
    assert page.start.isEnabled() and page.stack.currentWidget() is not view
    select(window, str(a))
    assert page.auto_box.isChecked()
    page.auto_box.setChecked(False)
    qtbot.waitUntil(lambda: not window.jobs.busy(str(a)), timeout=TIMEOUT)
    page.stop_auto()


def test_a_drive_busy_with_a_backup_cannot_go_into_auto(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    window.library.set_folder(str(tmp_path / "lib"))
    a = tmp_path / "drive_a.iso"
    a.write_bytes(make_disc(tmp_path, "SLOW", 5, megabytes=2))
    window.add_source(str(a))
    page = window.backup
    page.auto_options = AutoOptions(poll=0.1)
    page.auto_view()  # the queue exists; the drive is taken by another job first
    from app.gui.workers import Job

    def reading(progress: object, token: object) -> object:
        time.sleep(0.5)  # a backup of this drive, started by hand
        return None

    hold = Job(reading, resource=str(a))
    window.jobs.start(hold)
    messages: list[str] = []
    page.status.connect(messages.append)
    page.auto_box.setChecked(True)
    assert not page.auto_box.isChecked() and page.auto is not None and not page.auto.is_on(str(a))
    assert any("busy with another job" in m for m in messages)
    qtbot.waitUntil(lambda: not window.jobs.busy(str(a)), timeout=TIMEOUT)
    page.stop_auto()


def test_the_demo_drive_has_no_auto(window: MainWindow) -> None:
    select(window, "demo")
    assert not window.backup.auto_box.isEnabled()
    assert "demo drive" in window.backup.auto_box.toolTip()
