"""The inspector and a disc's layout: the session of a multi-session image (files only earlier
sessions hold are marked), the filesystem of a hybrid, and a missing or malformed cue sheet
said in the banner. Images come from xorriso and genisoimage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.disc import cue
from app.gui.inspect_page import InspectPage
from app.gui.main_window import MainWindow
from tests import discfixtures as dfx
from tests import hfsfixtures as hf
from tests.conftest import require_tool
from tests.integration import isofixtures as fx


@pytest.fixture(scope="module")
def multisession(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("xorriso")
    work = tmp_path_factory.mktemp("ms")
    disc = dfx.multisession(work)
    image = work / "photos.iso"
    image.write_bytes(disc.data)
    cue.write(disc.layout, str(image), str(work / "photos.cue"))
    # The backup's report names the sessions: a missing cue sheet is then noticed.
    doc = {"disc": {"layout": disc.layout.to_json()}}
    (work / "photos.iso.report.json").write_text(json.dumps(doc))
    return image


def names(page: InspectPage) -> list[str]:
    m = page.tree.model()
    return [m.index(r, 0).data() for r in range(m.rowCount())]


def status(page: InspectPage, name: str) -> str:
    m = page.tree.model()
    return str(m.index(names(page).index(name), 4).data())


def opened(qtbot: QtBot, page: InspectPage) -> None:
    qtbot.waitUntil(lambda: page.model is not None and page.index is not None, timeout=20_000)


def test_a_multisession_image_opens_at_its_last_session_and_offers_the_others(
    qtbot: QtBot, window: MainWindow, multisession: Path
) -> None:
    page = window.inspect
    window.open_image(str(multisession))
    opened(qtbot, page)
    choices = page.choices
    assert choices.isVisibleTo(window) and choices.session.isVisibleTo(window)
    assert not choices.view.isVisibleTo(window)  # one filesystem: no choice to offer
    assert [choices.session.itemData(i) for i in range(choices.session.count())] == [1, 2]
    assert choices.session.currentData() == 2
    assert "the last" in choices.session.currentText()
    assert "b.bin" in names(page)  # what the computer shows: session 2's tree
    assert status(page, "keep.txt") == "an older version is in session 1"
    qtbot.waitUntil(lambda: "Earlier sessions also hold" in page.banner.text.text(), timeout=5000)
    assert "1 older version of files shown here" in page.banner.text.text()
    assert "/keep.txt in session 1" in page.banner.text.text()
    # Session 1: its own tree, with what the last session did to each file.
    choices.session.setCurrentIndex(0)
    choices.session.activated.emit(0)
    opened(qtbot, page)
    assert page.insp is not None and page.insp.session == 1
    assert "b.bin" not in names(page) and "a.bin" in names(page)
    qtbot.waitUntil(lambda: "replaced later" in status(page, "keep.txt"), timeout=5000)
    assert status(page, "a.bin") == ""
    page.tree.setCurrentIndex(page.tree.model().index(names(page).index("keep.txt"), 0))
    assert "replaced later" in page.details.toPlainText()
    assert choices.session.currentData() == 1  # the choice survives the reopen


def test_a_missing_or_malformed_cue_sheet_is_said_in_the_banner(
    qtbot: QtBot, window: MainWindow, multisession: Path, tmp_path: Path
) -> None:
    page = window.inspect
    sheet = multisession.with_suffix(".cue")
    kept = sheet.read_bytes()
    try:
        sheet.unlink()
        window.open_image(str(multisession))
        opened(qtbot, page)
        assert page.banner.isVisibleTo(window) and page.banner.kind == "warn"
        assert "photos.cue is missing" in page.banner.text.text()
        assert "only session 1 is shown" in page.banner.text.text()
        sheet.write_text("garbage\n")
        window.open_image(str(multisession))
        opened(qtbot, page)
        assert "not a cue sheet line" in page.banner.text.text()
        assert not page.choices.isVisibleTo(window)
    finally:
        sheet.write_bytes(kept)


def test_a_hybrid_offers_its_filesystems(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    require_tool("genisoimage")
    image = hf.genisoimage(
        fx.make_tree(tmp_path / "tree"), tmp_path / "mac.iso", "-hfs", "-R", "-J"
    )
    page = window.inspect
    window.open_image(str(image))
    opened(qtbot, page)
    view = page.choices.view
    assert page.choices.view.isVisibleTo(window) and not page.choices.session.isVisibleTo(window)
    assert [view.itemData(i) for i in range(view.count())] == ["iso9660", "hfs"]
    assert "Desktop DB" not in names(page)
    view.setCurrentIndex(1)
    view.activated.emit(1)
    qtbot.waitUntil(lambda: page.insp is not None and page.insp.view == "hfs", timeout=10_000)
    opened(qtbot, page)
    assert "Desktop DB" in names(page)  # the Mac's own tree
    assert page.choices.view.currentData() == "hfs"
