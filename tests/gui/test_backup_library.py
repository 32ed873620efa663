"""The Back up page's "Into the library" (pytest-qt, offscreen): a real photo CD image made by
genisoimage is backed up through the page into a library folder named by the template, and the
catalogue gets the disc — what `discvault library add` and auto give."""

from __future__ import annotations

import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.gui.main_window import MainWindow
from tests.gui.helpers import wait_card
from tests.integration.test_library import make_iso

TIMEOUT = 60_000
DAY = time.strftime("%Y-%m-%d")


def test_a_backup_goes_into_the_library_and_its_catalogue(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    window.library.set_folder(str(lib))
    iso = make_iso(tmp_path, "photos", "PHOTOS")
    page = window.backup
    page.shelve_box.setChecked(True)
    window.add_source(str(iso))
    # The field shows where the image goes, under the library, and is not edited by hand.
    assert page.dest.text() == str(lib / f"PHOTOS_{DAY}" / "PHOTOS.iso")
    assert not page.dest.isEnabled()
    (lib / f"PHOTOS_{DAY}").mkdir()  # a folder of that name is taken: the backup gets _2
    window.add_source(str(iso))
    assert page.dest.text() == str(lib / f"PHOTOS_{DAY}_2" / "PHOTOS.iso")
    page.start_backup()
    assert wait_card(qtbot, window, TIMEOUT) == "Backed up"
    image = lib / f"PHOTOS_{DAY}_2" / "PHOTOS.iso"
    assert image.read_bytes() == iso.read_bytes()
    assert page.dest.text() == str(image)  # a resume ("Try another drive") goes on there
    assert "in the library as PHOTOS_" in page.banner.text.text()
    with Catalogue(Library(str(lib))) as cat:
        (rec,) = cat.discs()
        assert (rec.folder, rec.label, rec.complete) == (f"PHOTOS_{DAY}_2", "PHOTOS", True)
        assert rec.file_count > 40
    window.task_buttons.button(4).click()  # the Library page shows it when shown
    qtbot.waitUntil(lambda: window.library.badge("PHOTOS") == "complete", timeout=TIMEOUT)

    # Off: the path is the user's again, and the backup goes there, outside the library.
    page.shelve_box.setChecked(False)
    assert page.dest.isEnabled() and not page.dest.text().startswith(str(lib))
    out = tmp_path / "plain" / "photos.iso"
    page.dest.setText(str(out))
    page.start_backup()
    qtbot.waitUntil(lambda: out.exists() and not page.busy(), timeout=TIMEOUT)
    with Catalogue(Library(str(lib))) as cat:
        assert len(cat.discs()) == 1


def test_the_choice_is_on_by_default_only_when_a_library_exists(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from app.gui.backup_page import BackupPage

    window.settings.store.setValue("library/folder", str(tmp_path / "none"))
    page = BackupPage(window.jobs, window.settings)
    qtbot.addWidget(page)
    assert not page.shelve_box.isChecked()
    (tmp_path / "none").mkdir()
    page2 = BackupPage(window.jobs, window.settings)
    qtbot.addWidget(page2)
    assert page2.shelve_box.isChecked()
