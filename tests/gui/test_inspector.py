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


def select_rows(page: InspectPage, *wanted: str) -> None:
    sel = page.tree.selectionModel()
    sel.clearSelection()
    for name in wanted:
        idx = page.tree.model().index(names(page).index(name), 0)
        sel.select(
            idx, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        )


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
        select_rows(page, "README.txt")
        assert page.extract_selected(str(out), policy=policy) is not None
        qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)

    run("skip")
    assert (out / "README.txt").read_text() == "mine"
    assert "1 skipped" in window.statusBar().currentMessage()
    run("rename")
    assert (out / "README (1).txt").read_text() == "read me\n"
    run("replace")
    assert (out / "README.txt").read_text() == "read me\n"
    assert sorted(os.listdir(out)) == ["README (1).txt", "README.txt"]  # nothing staged


def answer(qtbot: QtBot, page: InspectPage, action: str, for_all: bool) -> str:
    """Wait for the conflict dialog, answer it, and return what it asked."""
    qtbot.waitUntil(
        lambda: page.extractor.asker is not None and page.extractor.asker.dialog is not None,
        timeout=10_000,
    )
    asker = page.extractor.asker
    assert asker is not None and asker.dialog is not None
    dialog = asker.dialog
    text = dialog.text.text()
    dialog.for_all.setChecked(for_all)
    dialog.buttons[action].click()
    return text


def test_each_conflict_is_asked_inside_folders_too_once_or_for_all(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    out = tmp_path / "out"
    (out / "docs").mkdir(parents=True)
    for name in ("note_00.txt", "note_01.txt", "note_02.txt"):
        (out / "docs" / name).write_text("mine")
    select_rows(page, "docs")
    page.last_extract = None
    assert page.extract_selected(str(out)) is not None  # no policy: the user is asked
    asked = answer(qtbot, page, "skip", for_all=False)
    assert "note_00.txt" in asked and str(out / "docs") in asked
    assert "Replace it with /docs/note_00.txt from the image" in asked
    answer(qtbot, page, "rename", for_all=True)  # note_01, and every later one
    qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)
    assert (out / "docs" / "note_00.txt").read_text() == "mine"  # skipped
    assert (out / "docs" / "note_01.txt").read_text() == "mine"  # renamed beside it
    assert (out / "docs" / "note_01 (1).txt").exists()
    assert (out / "docs" / "note_02 (1).txt").exists()  # "for all": not asked again
    assert (out / "docs" / "note_29.txt").exists()  # the rest went into the existing folder
    assert not [n for n in os.listdir(out) if n.startswith(".discvault")]


def test_stopping_at_a_conflict_leaves_only_whole_files(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    window.open_image(str(images["rr"]))
    page = window.inspect
    opened(qtbot, page)
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.txt").write_text("mine")
    page.tree.clearSelection()  # everything
    job = page.extract_selected(str(out))
    assert job is not None
    answer(qtbot, page, "cancel", for_all=False)
    qtbot.waitUntil(lambda: not job.is_running(), timeout=10_000)
    qtbot.waitUntil(lambda: "Extraction stopped" in page.banner.text.text(), timeout=5000)
    assert (out / "README.txt").read_text() == "mine"
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".discvault")]
    assert leftovers == []


def test_the_boot_tab_extracts_the_boot_images(
    qtbot: QtBot, window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    page = window.inspect
    window.open_image(str(images["rr"]))
    opened(qtbot, page)
    assert not page.boot_btn.isEnabled()  # no El Torito catalog
    window.open_image(str(images["boot"]))
    opened(qtbot, page)
    assert page.boot_btn.isEnabled() and page.boot_btn.text() == "Extract boot images…"
    out = tmp_path / "b"
    page.last_extract = None
    assert page.extract_boot(str(out)) is not None
    qtbot.waitUntil(lambda: page.last_extract is not None, timeout=10_000)
    got = sorted(p.name for p in (out / "[BOOT]").iterdir())
    assert got == ["1-Boot-NoEmul.img", "2-Boot-NoEmul.img"]  # named as 7-Zip names them
    assert all((out / "[BOOT]" / n).stat().st_size > 0 for n in got)
    assert "Extracted 2 boot images" in page.banner.text.text()


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
