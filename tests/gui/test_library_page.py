"""The Library page driven as a user drives it, over a real library of real backups."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QPushButton, QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot

from app.core.fs.inspection import open_image
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.gui.extract_policy import ConflictDialog
from app.gui.library_page import LibraryPage
from app.gui.main_window import MainWindow
from app.gui.sources import from_path
from app.gui.workers import JobQueue
from tests.conftest import MakeDevice
from tests.integration.isofixtures import map_with_hole
from tests.integration.test_library import TODAY, add, backup, make_iso

TIMEOUT = 30_000


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """PHOTOS_2009 (complete), TRIP (complete) and SCRATCHED (two sectors of one photo lost)."""
    lib = tmp_path / "lib"
    add(lib, backup(tmp_path, make_iso(tmp_path, "photos", "PHOTOS_2009"), "photos"))
    add(lib, backup(tmp_path, make_iso(tmp_path, "trip", "TRIP", first=100, photos=30), "trip"))
    bad = make_iso(tmp_path, "scratched", "SCRATCHED", first=200, photos=20)
    node = open_image(str(bad)).find("/DCIM/100CANON/IMG_0210.JPG")
    assert node is not None
    map_with_hole(Path(f"{bad}.map"), bad.stat().st_size, node.extents[0][0] * 2048, 4096)
    add(lib, bad)
    return lib


@pytest.fixture
def page(qtbot: QtBot, shelf: Path, tmp_path: Path) -> Iterator[LibraryPage]:
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("library/folder", str(shelf))
    jobs = JobQueue()
    p = LibraryPage(jobs, store)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    qtbot.waitUntil(lambda: p.table.rowCount() == 3, timeout=TIMEOUT)
    yield p
    jobs.cancel_all()


def cell(table: QTableWidget, row: int, col: int) -> QTableWidgetItem:
    item = table.item(row, col)
    assert item is not None
    return item


def test_table_shows_every_disc_with_its_badge(page: LibraryPage) -> None:
    labels = [cell(page.table, r, 0).text() for r in range(3)]
    assert labels == ["PHOTOS_2009", "SCRATCHED", "TRIP"]
    assert page.badge("PHOTOS_2009") == "complete"
    assert page.badge("SCRATCHED") == "4.1 KB unreadable (1 file)"
    assert cell(page.table, 1, 4).text() == "4.1 KB unreadable (1 file)"
    assert "3 discs" in page.title.text()


def test_search_open_in_inspector_and_extract(
    qtbot: QtBot, page: LibraryPage, tmp_path: Path
) -> None:
    page.search.setText("IMG_0037")
    qtbot.waitUntil(lambda: page.results.rowCount() == 1, timeout=TIMEOUT)
    assert page.stack.currentIndex() == 1
    assert [cell(page.results, 0, c).text() for c in range(3)] == [
        "IMG_0037.JPG", "/DCIM/100CANON/IMG_0037.JPG", "PHOTOS_2009"
    ]  # fmt: skip
    hit = page.current_hit()
    assert hit is not None
    with qtbot.waitSignal(page.inspect_requested) as sig:
        page.open_hit_btn.click()
    assert sig.args == [hit.image, "/DCIM/100CANON/IMG_0037.JPG"]
    out = tmp_path / "out"
    with qtbot.waitSignal(page.extracted, timeout=TIMEOUT):
        page.extract_hit(str(out))
    original = tmp_path / "tree_photos" / "DCIM" / "100CANON" / "IMG_0037.JPG"
    assert (out / "IMG_0037.JPG").read_bytes() == original.read_bytes()
    # Again into the same folder: the user is asked, and Rename keeps both.
    with qtbot.waitSignal(page.extracted, timeout=TIMEOUT):
        job = page.extract_hit(str(out))
        assert job is not None
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is not None, timeout=TIMEOUT)
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ConflictDialog) and "IMG_0037.JPG" in dialog.text.text()
        dialog.buttons["rename"].click()
    assert (out / "IMG_0037 (1).JPG").read_bytes() == original.read_bytes()
    # A damaged hit says so; words the index cannot look up say what to type instead.
    page.search.setText("IMG_0210")
    qtbot.waitUntil(lambda: page.results.rowCount() == 1 and page.hits[0].unreadable > 0)
    assert cell(page.results, 0, 4).text() == "4.1 KB unreadable"
    page.search.setText("ab")
    qtbot.waitUntil(lambda: "3 characters" in page.hit_note.text(), timeout=TIMEOUT)
    assert page.results.rowCount() == 0 and not page.open_hit_btn.isEnabled()
    page.search.setText("")
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 0, timeout=TIMEOUT)


def test_details_show_the_map_and_damaged_files(qtbot: QtBot, page: LibraryPage) -> None:
    page.select("SCRATCHED")
    qtbot.waitUntil(lambda: page.details is not None, timeout=TIMEOUT)
    assert page.panel.head.text() == "<b>SCRATCHED</b>  ·  4.1 KB unreadable (1 file)"
    assert "-" in page.panel.map.cells and "+" in page.panel.map.cells
    assert "/DCIM/100CANON/IMG_0210.JPG   (4.1 KB unreadable)" in page.panel.damaged.toPlainText()
    assert "Never verified" in page.panel.history.toPlainText()
    page.select("TRIP")
    qtbot.waitUntil(
        lambda: page.details is not None and page.details.record.label == "TRIP", timeout=TIMEOUT
    )
    assert set(page.panel.map.cells) == {"+"}
    assert "No file sits on an unreadable sector" in page.panel.damaged.toPlainText()


def test_reverify_finds_a_changed_image(qtbot: QtBot, page: LibraryPage, shelf: Path) -> None:
    page.select("PHOTOS_2009")
    qtbot.waitUntil(lambda: page.details is not None, timeout=TIMEOUT)
    page.panel.buttons["Re-verify"].click()
    qtbot.waitUntil(lambda: page.badge("PHOTOS_2009") == f"verified {TODAY}", timeout=TIMEOUT)
    assert page.details is not None
    image = page.details.image
    with open(image, "r+b") as f:
        f.seek(40_000)
        old = f.read(1)
        f.seek(40_000)
        f.write(bytes([old[0] ^ 0xFF]))
    page.panel.buttons["Re-verify"].click()
    qtbot.waitUntil(lambda: page.badge("PHOTOS_2009") == "changed on storage!", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "CHANGED ON STORAGE" in page.panel.history.toPlainText())
    row = next(r for r in range(3) if cell(page.table, r, 0).text() == "PHOTOS_2009")
    assert cell(page.table, row, 4).font().bold()
    # The result lives in the disc folder too: a rebuilt catalogue says the same.
    folder = next(p for p in shelf.iterdir() if p.name.startswith("PHOTOS_2009"))
    assert sorted(n.split("-")[0] for n in os.listdir(folder / "history")) == [
        "read", "verify", "verify"
    ]  # fmt: skip


def test_health_scan_reads_the_selected_drive(
    qtbot: QtBot, page: LibraryPage, make_device: MakeDevice, shelf: Path
) -> None:
    page.select("TRIP")
    qtbot.waitUntil(lambda: page.details is not None, timeout=TIMEOUT)
    assert page.health_scan() is None  # no drive selected: nothing to read
    trip = next(p for p in shelf.iterdir() if p.name.startswith("TRIP"))
    slow = [{"lba": 3, "count": 1, "kind": "slow", "delay": 0.3}]
    dev = make_device((trip / "trip.iso").read_bytes(), slow)  # the disc, in a "drive"
    page.set_source(from_path(dev.path))
    job = page.health_scan()
    assert job is not None and job.resource == dev.path  # the drive is the job's resource
    qtbot.waitUntil(lambda: _health(page) == f"slow ({TODAY})", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: bool(page.panel.health.buckets), timeout=TIMEOUT)
    chart = page.panel.health
    assert dict(chart.buckets)["<500 ms"] == 1 and dict(chart.buckets)["error"] == 0
    assert chart.curve
    with Catalogue(Library(str(shelf))) as cat:
        rec = next(d for d in cat.discs() if d.label == "TRIP")
        assert [e.outcome for e in cat.events(rec.id, "health")] == ["slow"]


def _health(page: LibraryPage) -> str:
    return next((st.health for rec, st in page.view.discs if rec.label == "TRIP"), "")


def test_the_main_window_has_the_page_and_opens_hits(
    qtbot: QtBot, window: MainWindow, shelf: Path
) -> None:
    window.task_buttons.button(4).click()
    assert window.pages.currentWidget() is window.library
    window.library.set_folder(str(shelf))
    qtbot.waitUntil(lambda: window.library.table.rowCount() == 3, timeout=TIMEOUT)
    window.library.search.setText("IMG_0101")
    qtbot.waitUntil(lambda: window.library.results.rowCount() == 1, timeout=TIMEOUT)
    window.library.open_hit()
    assert window.pages.currentWidget() is window.inspect
    qtbot.waitUntil(lambda: window.inspect.insp is not None, timeout=TIMEOUT)
    hit = window.library.hits[0]
    assert window.inspect.insp is not None and window.inspect.insp.path == hit.image


def test_the_page_is_usable_at_640x480(qtbot: QtBot, window: MainWindow, shelf: Path) -> None:
    from tests.gui.test_feel import clipped

    window.resize(640, 480)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (640, 480), timeout=3000)
    window.task_buttons.button(4).click()
    page = window.library
    page.set_folder(str(shelf))
    qtbot.waitUntil(lambda: page.table.rowCount() == 3, timeout=TIMEOUT)
    page.table.selectRow(2)
    qtbot.waitUntil(lambda: page.details is not None, timeout=TIMEOUT)
    QApplication.processEvents()
    assert clipped(window) == []
    right = page.mapTo(window, page.rect().topRight()).x()
    buttons = [b for b in page.findChildren(QPushButton) if b.isVisibleTo(window)]
    assert len(buttons) >= 8  # the shelf's four, the disc's four
    for b in buttons:  # each whole, none pushed past the window's edge
        assert b.mapTo(window, b.rect().topRight()).x() <= right, b.text()
    tabs = page.panel.tabs.tabBar()
    assert tabs.count() == 5
    last = tabs.tabRect(tabs.count() - 1)
    assert last.right() <= tabs.width()  # every tab on screen, none behind scroll arrows
    assert str(shelf) in page.title.toolTip()  # the folder's path, whole, when shortened
