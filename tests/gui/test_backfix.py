"""The Back up page and the inspector say only true things (issue 14, a walk at 1024x700):
"Try another drive" with no other drive lets the same drive resume, the demo drive offers
Resume (it is one simulated drive), the "still missing" note goes while a resume reads them,
hints name the button as it reads, the inspector's Name column gets the room an empty Status
column took, and the card's "Took" matches its average speed.

The scratched drive is a photo CD made by genisoimage, read through a drive whose reads of two
sectors fail (the fault sits at the device boundary); "cleaning" it lets them read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from PySide6.QtWidgets import QHeaderView
from pytestqt.qtbot import QtBot

from app.core.base import units
from app.core.disc.demo import DemoSource
from app.core.disc.layout import DiscLayout
from app.core.rescue.backup import BackupOptions, run_backup
from app.core.rescue.types import RescueSettings
from app.gui.file_model import PAST_END
from app.gui.main_window import MainWindow
from app.gui.sources import SourceEntry
from tests.conftest import require_tool
from tests.gui.helpers import LayoutDisc, demo_backup, select, wait_card
from tests.integration.test_library import make_iso

BAD = (40, 2)  # inside the photos: the card has damaged files to name


class Scratched:
    """A drive whose disc has two unreadable sectors until it is cleaned."""

    def __init__(self, iso: Path, delay: float = 0) -> None:
        self.iso = iso
        self.unreadable = [BAD]
        self.delay = delay

    def open(self) -> LayoutDisc:
        sectors = self.iso.stat().st_size // 2048
        return LayoutDisc(str(self.iso), DiscLayout.flat(sectors), self.unreadable, self.delay)


def add_drive(win: MainWindow, key: str, opener: object) -> SourceEntry:
    entry = SourceEntry(key=key, title=key, detail="", label="PHOTOS", opener=opener)  # type: ignore[arg-type]
    win.extra_sources.append(entry)
    win.refresh_entries()
    return entry


def scratched_backup(
    qtbot: QtBot, win: MainWindow, tmp_path: Path, delay: float = 0
) -> tuple[Scratched, Path]:
    """An incomplete backup from the only (real) drive: the card at its end."""
    disc = Scratched(make_iso(tmp_path, "photos", "PHOTOS"), delay)
    add_drive(win, "Scratchy drive", disc.open)
    select(win, "Scratchy drive")
    page = win.backup
    out = tmp_path / "out" / "photos.iso"
    page.dest.setText(str(out))
    page.retries.setValue(0)
    page.start_backup()
    head = wait_card(qtbot, win)
    assert page.card.outcome == "incomplete", head
    return disc, out


def test_try_another_drive_with_no_other_drive_resumes_with_the_same_one(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    disc, out = scratched_backup(qtbot, window, tmp_path)
    page = window.backup
    card = page.card
    assert card.another.isVisibleTo(window) and not card.resume.isVisibleTo(window)
    assert "Another drive often reads what this one cannot" in card.another_note.text()
    assert "press Try another drive" in card.another_note.text()
    card.another.click()
    assert page.stack.currentWidget() is page.empty
    # The demo drive is listed and ready, but no disc goes in it: it is not another drive.
    hint = page.empty.text()
    assert "No other drive is connected" in hint
    assert "press Resume backup" in hint and page.start.text() == "Resume backup"
    assert page.start.isEnabled()  # what the words say can be done
    disc.unreadable = []  # cleaned
    page.retries.setValue(1)  # the sectors tried and failed are read again in a retry pass
    page.start.click()
    assert wait_card(qtbot, window) == "Backed up"
    assert out.read_bytes() == disc.iso.read_bytes()


def test_try_another_drive_waits_for_the_other_drive_when_one_is_connected(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    disc, out = scratched_backup(qtbot, window, tmp_path)
    good = Scratched(disc.iso)
    good.unreadable = []
    add_drive(window, "Good drive", good.open)
    select(window, "Scratchy drive")
    page = window.backup
    page.card.another.click()
    assert not page.start.isEnabled()  # the same drive again is not another drive
    assert "Put the disc in another drive" in page.empty.text()
    assert "Resume backup then reads" in page.empty.text()
    select(window, "Good drive")
    assert page.dest.text() == str(out)  # the unfinished image is kept
    assert page.start.isEnabled() and page.start.text() == "Resume backup"
    assert page.empty.text() == "Press Resume backup to read what is missing with Good drive."


def test_the_demo_drive_offers_resume_not_another_drive(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    out = tmp_path / "d.iso"
    demo_backup(qtbot, window, out)
    page = window.backup
    card = page.card
    assert card.outcome == "incomplete"
    assert not card.another.isVisibleTo(window)  # one simulated drive: there is no other
    assert card.resume.isVisibleTo(window) and card.resume.text() == page.start.text()
    assert "Try another drive" not in card.another_note.text()
    assert "demo drive is simulated" in card.another_note.text()
    assert "another drive" not in page.resume_note.text()  # "still missing", and no more
    card.resume.click()
    assert page.job is not None and page.stack.currentWidget() is page.progress
    wait_card(qtbot, window)


def test_the_demo_drive_is_not_told_to_try_another_drive_while_retrying(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    demo = next(e for e in window.panel.entries if e.key == "demo")
    demo.opener = lambda: DemoSource(rate=1e12, error_delay=0.05)  # retries take seconds
    select(window, "demo")
    page = window.backup
    page.dest.setText(str(tmp_path / "r.iso"))
    page.start_backup()
    view = page.progress
    qtbot.waitUntil(
        lambda: view.last is not None and view.last.phase == "retry" and view.last.bad > 0,
        timeout=30_000,
    )
    assert not view.another.isVisibleTo(window)
    view.cancel.click()
    wait_card(qtbot, window)


def test_the_still_missing_note_goes_while_the_resume_reads(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    disc, _ = scratched_backup(qtbot, window, tmp_path)
    page = window.backup
    note = page.resume_note
    assert note.isVisibleTo(window) and "of this image are still missing" in note.text()
    disc.unreadable = []  # cleaned
    page.retries.setValue(1)
    page.start.click()
    assert page.busy() and page.job is not None
    assert not note.isVisibleTo(window)
    shown: list[bool] = []  # at each progress report of the resume (reading, checksums)
    page.job.progress.connect(lambda _p: shown.append(note.isVisibleTo(window)))
    window.refresh_entries()  # the drive list refreshes while it runs
    assert not note.isVisibleTo(window)
    assert wait_card(qtbot, window) == "Backed up"
    assert shown and not any(shown)
    assert "already complete" in note.text()  # and after it, the truth again


def test_the_hint_names_the_start_button_as_it_reads(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    iso = make_iso(tmp_path, "photos", "PHOTOS")
    unfinished = tmp_path / "unfinished.iso"
    disc = Scratched(iso)
    done = run_backup(
        disc.open, BackupOptions("Scratchy", str(unfinished), settings=RescueSettings(retries=0))
    )
    assert done.result.outcome == "incomplete"
    select(window, "demo")
    page = window.backup
    assert page.stack.currentWidget() is page.empty
    assert "press Start backup" in page.empty.text() and page.start.text() == "Start backup"
    page.dest.setText(str(unfinished))
    assert page.start.text() == "Resume backup"
    assert "press Resume backup" in page.empty.text()
    assert "Start backup" not in page.empty.text()
    page.dest.setText(str(tmp_path / "new.iso"))
    assert "press Start backup" in page.empty.text()


def long_names_iso(tmp_path: Path) -> tuple[Path, str]:
    require_tool("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    name = "Holiday at the seaside with the whole family, day three.mp4"
    (tree / name).write_bytes(b"x" * 5000)
    (tree / "short.txt").write_text("hi\n")
    iso = tmp_path / "long.iso"
    cmd = ["genisoimage", "-quiet", "-R", "-J", "-joliet-long", "-input-charset", "utf-8",
           "-o", str(iso), str(tree)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return iso, name


def test_long_names_get_the_room_an_empty_status_column_took(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    iso, name = long_names_iso(tmp_path)
    window.resize(1024, 700)
    page = window.inspect
    window.open_image(str(iso))
    qtbot.waitUntil(lambda: page.index is not None, timeout=20_000)
    tree = page.tree
    hdr = tree.header()
    assert tree.isColumnHidden(4)  # no file has a status: no empty column
    assert hdr.sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch
    assert hdr.sectionSize(0) > tree.fontMetrics().horizontalAdvance(name) + 40  # + the icon
    page.filter.setText("holiday")  # the filter view alike
    assert page.list.isColumnHidden(4)
    assert page.list.header().sectionResizeMode(0) == QHeaderView.ResizeMode.Stretch


def test_the_status_column_is_as_wide_as_what_it_says(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    image = tmp_path / "d.iso"
    demo_backup(qtbot, window, image)  # 90.1 KB of the video unreadable
    window.resize(1024, 700)
    page = window.inspect
    window.open_image(str(image))
    qtbot.waitUntil(lambda: bool(page.damage), timeout=20_000)
    tree = page.tree
    assert not tree.isColumnHidden(4)
    width = tree.header().sectionSize(4)
    em = page.fontMetrics().horizontalAdvance("M")
    assert tree.fontMetrics().horizontalAdvance("90.1 KB unreadable") < width <= 24 * em
    assert tree.header().sectionSize(0) > width


def test_a_truncated_image_shows_its_status_column(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    iso, _ = long_names_iso(tmp_path)
    data = iso.read_bytes()
    cut = tmp_path / "cut.iso"
    cut.write_bytes(data[: len(data) - 3 * 2048])  # the files' data is at the end
    page = window.inspect
    window.open_image(str(cut))
    qtbot.waitUntil(lambda: page.insp is not None, timeout=20_000)
    assert not page.insp.whole  # type: ignore[union-attr]
    assert not page.tree.isColumnHidden(4)
    fm = page.tree.fontMetrics()
    em = page.fontMetrics().horizontalAdvance("M")
    assert page.tree.header().sectionSize(4) >= min(fm.horizontalAdvance(PAST_END), 24 * em)


def test_took_is_what_the_average_speed_was_computed_from() -> None:
    assert units.elapsed(1.6) == "1.6 s"  # not "0:01": 100 MB in 1.6 s is 63 MB/s, not 100
    assert units.elapsed(0.04) == "0.04 s"  # not "0.0 s"
    assert units.elapsed(0.996) == "1.0 s"
    assert units.elapsed(59.94) == "59.9 s"
    assert units.elapsed(59.96) == "1:00"
    assert units.elapsed(125.6) == "2:06"  # rounded, not cut
    assert units.elapsed(3725.0) == "1:02:05"


def test_the_card_says_how_long_in_tenths_below_a_minute(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    demo_backup(qtbot, window, tmp_path / "t.iso")
    detail = window.backup.card.detail.text()
    assert re.search(r"Took \d+\.\d\d? s · read [\d.]+ MB this run · average [\d.]+ MB/s", detail)
