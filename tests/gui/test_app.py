"""The desktop app driven the way a user drives it, against real sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox, QPlainTextEdit
from pytestqt.qtbot import QtBot

from app.core.base import mapfile
from app.gui.main_window import MainWindow
from app.gui.progress_view import ProgressView
from app.gui.workers import BusyError, Job
from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import expected_image
from tests.gui.conftest import Heartbeat
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import BAD, FAULTS, SECTORS


def select(win: MainWindow, key: str) -> None:
    row = next(i for i, e in enumerate(win.panel.entries) if e.key == key)
    win.panel.setCurrentRow(row)


def wait_card(qtbot: QtBot, win: MainWindow, timeout: int = 60_000) -> str:
    qtbot.waitUntil(lambda: win.backup.stack.currentWidget() is win.backup.card, timeout=timeout)
    return win.backup.card.headline.text()


def start_device_backup(qtbot: QtBot, win: MainWindow, device: str, out: Path) -> ProgressView:
    """Back up ``device`` to ``out`` and return once the first sectors are rescued."""
    win.add_source(device)
    win.backup.dest.setText(str(out))
    win.backup.start_backup()
    view = win.backup.progress
    qtbot.waitUntil(
        lambda: view.map.map is not None and view.map.map.count("+")[0] > 0, timeout=30_000
    )
    return view


def test_demo_drive_backup_end_to_end(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    assert window.panel.entries[-1].simulated  # the demo drive is always there, and last
    select(window, "demo")
    window.backup.dest.setText(str(tmp_path / "demo.iso"))
    phases: list[str] = []
    beat = Heartbeat().start()
    window.backup.start_backup()
    assert window.backup.job is not None
    window.backup.job.progress.connect(lambda p: phases.append(p.phase))
    head = wait_card(qtbot, window)
    gap = beat.stop()
    assert head.startswith("Backed up — ") and "unreadable" in head
    assert {"copy", "trim", "retry"} <= set(phases)
    assert "-" in window.backup.card.map.cells  # the scratch shows red on the map
    assert "SHA256" in window.backup.card.hashes.toPlainText()
    assert gap < 0.25, f"the GUI froze for {gap * 1000:.0f} ms during a backup"


def test_faulty_device_backup_cancel_and_resume(
    qtbot: QtBot, window: MainWindow, make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=51)
    slow = [*FAULTS, {"lba": 0, "count": SECTORS, "kind": "slow", "delay": 0.01}]
    dev = make_device(data, slow)
    out = tmp_path / "dev.iso"
    view = start_device_backup(qtbot, window, dev.path, out)
    view.cancel.click()
    assert wait_card(qtbot, window) == "Stopped — resume any time"
    saved = mapfile.load(str(out) + ".map", 2048).map
    assert 0 < saved.count("+")[0] < SECTORS
    assert window.backup.start.text() == "Resume backup"
    window.backup.start_backup()
    head = wait_card(qtbot, window)
    assert "unreadable" in head
    assert out.read_bytes() == expected_image(data, BAD)


def test_second_job_on_a_busy_drive_is_refused(qtbot: QtBot, window: MainWindow) -> None:
    import threading

    gate = threading.Event()
    job = Job(lambda p, t: gate.wait(5), resource="demo")
    window.jobs.start(job)
    with pytest.raises(BusyError, match="busy"):
        window.jobs.start(Job(lambda p, t: None, resource="demo"))
    gate.set()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=5000)


def drop(win: MainWindow, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(ev)


def test_drop_an_iso_then_extract_through_the_gui(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    tree = fx.make_tree(tmp_path / "tree")
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "dropped.iso")
    drop(window, iso)
    page = window.inspect
    qtbot.waitUntil(lambda: page.model is not None and page.model.rowCount() > 0, timeout=10_000)
    assert window.pages.currentWidget() is page
    assert "Rock Ridge" in page.header.text()
    model = page.model
    assert model is not None
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert "docs" in names and "README.txt" in names
    row = names.index("docs")
    page.tree.selectionModel().select(
        model.index(row, 0),
        page.tree.selectionModel().SelectionFlag.Select
        | page.tree.selectionModel().SelectionFlag.Rows,
    )
    out = tmp_path / "out"
    job = page.extract_selected(str(out))
    assert job is not None
    qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)
    assert (out / "docs" / "note_03.txt").read_bytes() == (
        tree / "docs" / "note_03.txt"
    ).read_bytes()
    assert len(os.listdir(out / "docs")) == 30


def test_damaged_files_are_marked_from_the_mapfile(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    select(window, "demo")
    out = tmp_path / "d.iso"
    window.backup.dest.setText(str(out))
    window.backup.start_backup()
    wait_card(qtbot, window)
    window.backup.card.inspect.click()
    page = window.inspect
    qtbot.waitUntil(lambda: bool(page.damage), timeout=10_000)
    assert list(page.damage) == ["/Video/Beach day.vob"]
    assert "1 damaged item, 90.1 KB unreadable" in page.header.text()


def test_closing_during_a_backup_saves_the_mapfile(
    qtbot: QtBot,
    window: MainWindow,
    make_device: MakeDevice,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dev = make_device(
        random_bytes(SECTORS * 2048, seed=52),
        [{"lba": 0, "count": SECTORS, "kind": "slow", "delay": 0.02}],
    )
    out = tmp_path / "c.iso"
    start_device_backup(qtbot, window, dev.path, out)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.close()
    assert not window.jobs.running()
    saved = mapfile.load(str(out) + ".map", 2048).map
    assert saved.count("+")[0] > 0


def test_drop_a_folder_creates_an_image_and_opens_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    tree = tmp_path / "Summer 2009"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(300_000, seed=61))
    drop(window, tree)
    page = window.create_page
    assert window.pages.currentWidget() is page
    qtbot.waitUntil(lambda: page.start.isEnabled(), timeout=10_000)
    assert page.label.text() == "SUMMER_2009"
    assert "of 4.7 GB" in page.gauge_text.text()
    page.start.click()
    qtbot.waitUntil(lambda: window.inspect.model is not None, timeout=20_000)
    assert window.pages.currentWidget() is window.inspect
    out = Path(window.settings.folder) / "Summer 2009.iso"  # the library folder, not the source
    assert out.exists() and not Path(str(out) + ".part").exists()
    model = window.inspect.model
    assert model is not None and model.index(0, 0).data() == "photo.jpg"


def test_the_log_file_records_a_backup_and_help_shows_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from app.gui import applog

    assert applog.setup()
    select(window, "demo")
    window.backup.dest.setText(str(tmp_path / "logged.iso"))
    window.backup.start_backup()
    wait_card(qtbot, window)
    text = applog.tail()
    assert f"backing up Demo drive to {tmp_path / 'logged.iso'}" in text
    assert "Backed up — " in text
    window.show_log()
    view = window._log_dialog.findChild(QPlainTextEdit)
    assert view is not None and "logged.iso" in view.toPlainText()


def test_drag_out_to_the_file_manager_carries_real_files(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    tree = fx.make_tree(tmp_path / "tree")
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "drag.iso")
    window.open_image(str(iso))
    page = window.inspect
    qtbot.waitUntil(lambda: page.model is not None and page.model.rowCount() > 0, timeout=10_000)
    model = page.model
    assert model is not None
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    mime = model.mimeData(
        [model.index(names.index("data.bin"), 0), model.index(names.index("docs"), 0)]
    )
    paths = sorted(Path(u.toLocalFile()) for u in mime.urls())
    assert [p.name for p in paths] == ["data.bin", "docs"]
    assert paths[0].read_bytes() == (tree / "data.bin").read_bytes()
    assert len(list(paths[1].iterdir())) == 30
    page.DRAG_LIMIT = 10  # a selection too large to extract on the GUI thread is refused
    assert model.mimeData([model.index(names.index("data.bin"), 0)]).urls() == []
