"""The inspector shows one image at a time, truthfully, and lists files the way users expect."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app.gui.inspect_page import InspectPage
from app.gui.main_window import MainWindow
from tests.gui.helpers import demo_backup
from tests.gui.test_app import drop
from tests.integration import isofixtures as fx


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("isos")
    tree = fx.make_tree(base / "tree")
    return {
        "rr": fx.build("geniso_rr_joliet", tree, base / "rr.iso"),
        "boot": fx.build("xorriso_eltorito", tree, base / "boot.iso"),
        "tree": tree,
    }


def opened(qtbot: QtBot, page: InspectPage) -> None:
    qtbot.waitUntil(lambda: page.model is not None and page.model.rowCount() > 0, timeout=10_000)


def names(page: InspectPage) -> list[str]:
    m = page.tree.model()
    return [m.index(r, 0).data() for r in range(m.rowCount())]


def pick(page: InspectPage, name: str) -> None:
    row = names(page).index(name)
    page.tree.setCurrentIndex(page.tree.model().index(row, 0))


def test_every_open_clears_the_previous_image(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    page = window.inspect
    window.open_image(str(images["rr"]))
    opened(qtbot, page)
    pick(page, "README.txt")
    assert "README.txt" in page.details.toPlainText()
    window.open_image(str(images["boot"]))
    assert page.details.toPlainText() == ""  # at once, not when the new image is read
    assert page.model is None and not page.extract_btn.isEnabled()
    opened(qtbot, page)
    assert page.insp is not None and page.insp.path == str(images["boot"])
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"not a disc" * 10_000)
    window.open_image(str(junk))
    qtbot.waitUntil(lambda: page.banner.isVisibleTo(window), timeout=10_000)
    assert page.model is None and page.insp is None
    assert page.tree.model() is None and not page.extract_btn.isEnabled()
    assert page.extract_selected(str(tmp_path / "out")) is None  # nothing from the old image
    assert "junk.iso: not an ISO 9660" in page.banner.text.text()


def test_opening_the_same_image_twice_at_once_raises_nothing(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path]
) -> None:
    drop(window, images["rr"])
    drop(window, images["rr"])  # the first open is still running: BusyError before
    opened(qtbot, window.inspect)
    qtbot.waitUntil(lambda: window.inspect.index is not None, timeout=10_000)


def test_folders_holding_damaged_files_are_flagged(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    demo_backup(qtbot, window, tmp_path / "d.iso")
    window.backup.card.inspect.click()
    page = window.inspect
    qtbot.waitUntil(lambda: bool(page.damage), timeout=10_000)
    model = page.model
    assert model is not None
    row = names(page).index("Video")
    assert model.index(row, 4).data() == "contains damaged files"
    assert model.index(names(page).index("Photos"), 4).data() == ""


def test_truncated_image_marks_the_files_past_its_end(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.iso"
    data = images["rr"].read_bytes()
    cut.write_bytes(data[: len(data) - 160 * 2048])  # past the padding, into /docs
    window.open_image(str(cut))
    page = window.inspect
    opened(qtbot, page)
    assert "truncated" in page.header.text()
    model = page.model
    assert model is not None
    idx = model.index_of("/docs/note_29.txt")
    assert "past the end" in idx.siblingAtColumn(4).data()  # files, not only folders
    assert model.index_of("/docs/note_00.txt").siblingAtColumn(4).data() == ""


def test_volume_and_boot_tabs_speak_plainly(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path]
) -> None:
    window.open_image(str(images["boot"]))
    page = window.inspect
    opened(qtbot, page)
    vol = page.volume.toPlainText()
    assert "volume_id" not in vol and "volume_space" not in vol
    assert "Label" in vol and "XBOOT" in vol and "sectors (" in vol
    boot = page.boot.toPlainText()
    assert "512 bytes" in boot and "512-byte units" in boot
    pick(page, "data.bin")
    assert "on the disc: sectors " in page.details.toPlainText()
    assert "(300.0 KB)" in page.details.toPlainText()


def test_lists_sort_by_any_column_and_a_to_z_by_default(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path]
) -> None:
    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    got = names(page)
    dirs = [n for n in got if n in ("boot", "deep", "docs", "links")]
    files = got[len(dirs) :]
    assert got[: len(dirs)] == sorted(dirs, key=str.casefold)
    assert files == sorted(files, key=str.casefold)
    page.tree.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # by size, largest first
    assert names(page)[len(dirs)] == "data.bin"
    page.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: page.index is not None, timeout=10_000)
    page.filter.setText("note_0")
    shown = page.list.model()
    hits = [shown.index(r, 0).data() for r in range(shown.rowCount())]
    assert hits == sorted(hits, key=str.casefold) and len(hits) == 10
    page.list.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert shown.index(0, 0).data().endswith("note_09.txt")


def test_clearing_the_filter_keeps_the_selection_and_the_tree(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path]
) -> None:
    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    qtbot.waitUntil(lambda: page.index is not None, timeout=10_000)
    pick(page, "deep")
    page.tree.expand(page.tree.currentIndex())
    page.filter.setText("note_07")
    results = page.list.model()
    page.list.setCurrentIndex(results.index(0, 0))
    page.filter.clear()
    assert page.view is page.tree
    current = page.current_node(page.tree.currentIndex())
    assert current is not None and current.path == "/docs/note_07.txt"
    deep = page.tree.model().index(names(page).index("deep"), 0)
    assert page.tree.isExpanded(deep)  # the tree was not rebuilt


def test_extract_conflicts_replace_skip_or_rename_and_leave_no_partial_files(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.txt").write_text("mine")

    def run(policy: str) -> None:
        page.last_extract = None
        sel = page.tree.selectionModel()
        sel.clearSelection()
        idx = page.tree.model().index(names(page).index("README.txt"), 0)
        sel.select(
            idx, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        )
        assert page.extract_selected(str(out), policy=policy) is not None
        qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)

    from app.gui.extract_policy import conflicts

    assert page.insp is not None
    assert conflicts(page.insp, ["/README.txt"], str(out)) == ["README.txt"]
    run("skip")
    assert (out / "README.txt").read_text() == "mine"
    run("rename")
    assert (out / "README (2).txt").read_text() == "read me\n"
    run("replace")
    assert (out / "README.txt").read_text() == "read me\n"
    assert sorted(os.listdir(out)) == ["README (2).txt", "README.txt"]  # no staging left


def test_extract_from_a_truncated_image_leaves_no_empty_file(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.iso"
    data = images["rr"].read_bytes()
    cut.write_bytes(data[: len(data) - 160 * 2048])  # past the padding, into /docs
    window.open_image(str(cut))
    page = window.inspect
    opened(qtbot, page)
    out = tmp_path / "x"
    page.tree.clearSelection()
    page.extract_selected(str(out), policy="skip")
    qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)
    assert page.last_extract is not None
    failed = [p for p, why in page.last_extract.refused if why.startswith("could not extract")]
    assert failed
    for path in failed:
        assert not (out / path.lstrip("/")).exists()


def test_empty_page_tells_about_drag_and_drop(window: MainWindow) -> None:
    window.show_page(2)
    assert window.inspect.body.currentWidget() is window.inspect.empty
    assert "Drop an .iso" in window.inspect.hint.text()


def test_file_dialogs_open_in_the_last_used_folder(
    window: MainWindow, images: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def fake(parent: object, title: str, folder: str, *rest: object) -> tuple[str, str]:
        seen.append(folder)
        return str(images["rr"]), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake)
    window._open_dialog()
    window._open_dialog()
    assert seen[1] == str(images["rr"].parent)
    window.verify._pick_image()
    assert seen[2] == str(images["rr"].parent)


def test_a_second_extract_while_one_runs_is_refused_with_a_message(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    import threading

    from app.gui.workers import Job

    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    gate = threading.Event()
    busy = Job(lambda p, t: gate.wait(10), resource=f"extract:{images['rr']}")
    window.jobs.start(busy)
    try:
        assert page.extract_selected(str(tmp_path / "o"), policy="skip") is None
        assert "busy" in page.banner.text.text()
    finally:
        gate.set()
        qtbot.waitUntil(lambda: not busy.is_running(), timeout=5000)
