"""The Library page's "Resume with this drive" (pytest-qt, offscreen), over a real library.

A photo CD made by genisoimage is backed up into the library from a "drive" that cannot read
two of its sectors (the fault sits at the file boundary: the source's reads of them fail), so
the catalogue holds an incomplete disc. Then the disc goes into a drive that reads it, and the
page resumes: only the missing sectors are read, the image becomes exact, the row says so. A
different disc in the drive is refused by the engine's own proof, said in the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.core.base.events import CancelToken, ProgressCallback
from app.core.disc.layout import DiscLayout
from app.core.library import into
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.core.rescue.backup import BackupOptions, run_backup
from app.gui.library_page import LibraryPage
from app.gui.sources import SourceEntry
from app.gui.workers import Job, JobQueue
from tests.gui.helpers import LayoutDisc
from tests.integration.test_library import make_iso

TIMEOUT = 60_000
BAD = (40, 2)  # the two sectors the first drive cannot read: inside the photos


class CountingDisc(LayoutDisc):
    """A drive's disc that counts the sectors it is asked for (a resume reads few)."""

    reads: list[tuple[int, int]]

    def read(self, lba: int, count: int) -> bytes:
        self.reads.append((lba, count))
        return super().read(lba, count)


def drive(
    iso: Path, name: str, unreadable: list[tuple[int, int]], log: list[tuple[int, int]]
) -> SourceEntry:
    sectors = iso.stat().st_size // 2048

    def opener() -> LayoutDisc:
        d = CountingDisc(str(iso), DiscLayout.flat(sectors), unreadable)
        d.reads = log
        return d

    return SourceEntry(key=f"drive:{name}", title=name, detail="", label="", opener=opener)


@pytest.fixture
def incomplete(tmp_path: Path) -> tuple[Path, Path]:
    """(library, the disc's original image): PHOTOS backed up into the library with 2 sectors
    unreadable, and catalogued — as the Back up page's "Save into the library" does."""
    iso = make_iso(tmp_path, "photos", "PHOTOS")
    lib = Library(str(tmp_path / "lib"))
    folder, image = into.new_disc(lib, "PHOTOS")
    entry = drive(iso, "Scratchy drive", [BAD], [])
    from app.core.rescue.types import RescueSettings

    opts = BackupOptions("Scratchy drive", image, settings=RescueSettings(retries=0))
    done = run_backup(entry.opener, opts)
    assert done.result.outcome == "incomplete"
    shelved = into.catalogue_folder(lib, folder, "test")
    assert shelved.record is not None and not shelved.record.complete
    return Path(lib.root), iso


@pytest.fixture
def page(qtbot: QtBot, incomplete: tuple[Path, Path], tmp_path: Path) -> Iterator[LibraryPage]:
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("library/folder", str(incomplete[0]))
    jobs = JobQueue()
    p = LibraryPage(jobs, store)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    qtbot.waitUntil(lambda: p.table.rowCount() == 1, timeout=TIMEOUT)
    p.select("PHOTOS")
    qtbot.waitUntil(lambda: p.details is not None, timeout=TIMEOUT)
    yield p
    jobs.cancel_all()


def test_resume_reads_only_the_missing_sectors_and_updates_the_row(
    qtbot: QtBot, page: LibraryPage, incomplete: tuple[Path, Path]
) -> None:
    lib, iso = incomplete
    assert "4.1 KB unreadable" in page.badge("PHOTOS")
    button = page.panel.buttons["Resume with this drive"]
    assert button.isEnabled()
    # No drive selected: the page says what to do, nothing runs.
    assert page.resume_here() is None
    assert "select that drive" in page.panel.note.text.text()

    reads: list[tuple[int, int]] = []
    page.set_source(drive(iso, "Good drive", [], reads))
    button.click()
    qtbot.waitUntil(lambda: page.badge("PHOTOS") == "complete", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "complete (resumed)" in page.panel.note.text.text(), timeout=TIMEOUT)
    image = next(lib.glob("PHOTOS_*/PHOTOS.iso"))
    assert image.read_bytes() == iso.read_bytes()
    # The missing sectors and the resume's proof (a sample of finished sectors), not the disc.
    sectors = iso.stat().st_size // 2048
    assert sum(n for _, n in reads) < sectors // 4
    assert any(lba <= BAD[0] < lba + n for lba, n in reads)
    with Catalogue(Library(str(lib))) as cat:
        (rec,) = cat.discs()
        assert rec.complete and rec.unreadable_sectors == 0
    qtbot.waitUntil(lambda: page.details is not None and page.details.record.complete)
    assert not button.isEnabled()  # nothing left to read


def test_another_disc_in_the_drive_is_refused_in_the_page(
    qtbot: QtBot, page: LibraryPage, incomplete: tuple[Path, Path], tmp_path: Path
) -> None:
    lib, _ = incomplete
    other = make_iso(tmp_path, "other", "OTHER", first=500)
    image = next(lib.glob("PHOTOS_*/PHOTOS.iso"))
    before = image.read_bytes()
    page.set_source(drive(other, "Good drive", [], []))
    job = page.resume_here()
    assert job is not None
    qtbot.waitUntil(lambda: page.panel.note.kind == "error", timeout=TIMEOUT)
    line = page.panel.note.text.text()
    assert line.startswith("Not resumed with Good drive: ") and "another disc" in line
    assert line.endswith("— put PHOTOS in the drive, or select the drive it is in")
    assert str(lib) not in line  # paths inside the library are named from it
    assert "\n" not in line
    assert image.read_bytes() == before  # nothing written into the folder
    qtbot.waitUntil(lambda: not page.progress.isVisible(), timeout=TIMEOUT)
    assert "4.1 KB unreadable" in page.badge("PHOTOS")


def test_a_busy_drive_makes_the_resume_wait_in_line(
    qtbot: QtBot, page: LibraryPage, incomplete: tuple[Path, Path]
) -> None:
    lib, iso = incomplete
    entry = drive(iso, "Good drive", [], [])
    release = threading.Event()

    def other_job(progress: ProgressCallback, token: CancelToken) -> object:
        release.wait(30)  # another job reading this drive (a health scan, a backup)
        return None

    first = Job(other_job, resource=entry.key)
    page.jobs.start(first)
    page.set_source(entry)
    job = page.resume_here()
    assert job is not None and page.jobs.waiting[entry.key] == [job]  # queued, not refused
    assert page.task_label.text().startswith("Waiting for Good drive")
    assert not job.is_running()
    release.set()
    qtbot.waitUntil(lambda: page.badge("PHOTOS") == "complete", timeout=TIMEOUT)
    assert next(lib.glob("PHOTOS_*/PHOTOS.iso")).read_bytes() == iso.read_bytes()
