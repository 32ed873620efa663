"""The Create page: where the image goes, what it is called, how full the disc would be, and
what happens when something is wrong — always said in the page, never in a pop-up or not at all."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.core.fs.inspection import open_image
from app.gui.create_page import CreatePage
from app.gui.main_window import MainWindow
from app.gui.settings import Settings
from app.gui.workers import JobQueue
from tests.conftest import random_bytes


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    s.folder = str(tmp_path / "Library")
    return s


@pytest.fixture
def jobs() -> Iterator[JobQueue]:
    q = JobQueue()
    yield q
    q.cancel_all()


@pytest.fixture
def page(qtbot: QtBot, settings: Settings, jobs: JobQueue) -> CreatePage:
    p = CreatePage(jobs, settings)
    qtbot.addWidget(p)
    p.resize(760, 600)
    p.show()
    return p


class ModalWatch:
    """Closes (and records) any modal dialog: a message box would block the test forever."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.timeout.connect(self._poll)
        self.timer.start(30)

    def _poll(self) -> None:
        w = QApplication.activeModalWidget()
        if w is not None:
            self.seen.append(w.windowTitle() or type(w).__name__)
            w.close()


def photos(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"photo{i}.jpg").write_bytes(random_bytes(50_000, seed=i))
    return root


def measured(qtbot: QtBot, page: CreatePage, folder: Path) -> None:
    page.set_folder(str(folder))
    qtbot.waitUntil(lambda: page.sizes is not None, timeout=20_000)


def create(qtbot: QtBot, page: CreatePage) -> str:
    with qtbot.waitSignal(page.created, timeout=30_000) as blocker:
        page.start.click()
    path = blocker.args[0]
    assert isinstance(path, str)
    return path


def browse_button(page: CreatePage, edit: object) -> QPushButton:
    """The Browse… button on the same row as ``edit``."""
    row = [b for b in page.findChildren(QPushButton) if b.text() == "Browse…"]
    y = edit.mapTo(page, edit.rect().center()).y()  # type: ignore[attr-defined]
    return min(row, key=lambda b: abs(b.mapTo(page, b.rect().center()).y() - y))


def test_the_image_goes_to_the_library_folder(
    qtbot: QtBot, page: CreatePage, settings: Settings, tmp_path: Path
) -> None:
    tree = photos(tmp_path / "src" / "Summer")
    measured(qtbot, page, tree)
    assert page.out.text() == os.path.join(settings.folder, "Summer.iso")
    path = create(qtbot, page)
    assert Path(path) == Path(settings.folder) / "Summer.iso" and Path(path).exists()
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["Summer"]  # source untouched
    # The next image of the same folder does not collide with the first.
    assert page.out.text() == os.path.join(settings.folder, "Summer (2).iso")


def test_browse_for_where_to_save(
    qtbot: QtBot, page: CreatePage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = photos(tmp_path / "src")
    measured(qtbot, page, tree)
    chosen = tmp_path / "elsewhere" / "mine"
    chosen.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(chosen), ""))
    )
    browse_button(page, page.out).click()
    assert page.out.text() == str(chosen) + ".iso"
    assert Path(create(qtbot, page)) == Path(str(chosen) + ".iso")
    # Picking an existing file in the dialog (which asked) replaces it; typing it does not.
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(chosen) + ".iso", ""))
    )
    browse_button(page, page.out).click()
    assert Path(create(qtbot, page)).exists()


def test_an_el_torito_boot_image_can_be_chosen(
    qtbot: QtBot, page: CreatePage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = photos(tmp_path / "src")
    (tree / "boot").mkdir()
    (tree / "boot" / "boot.img").write_bytes(random_bytes(4 * 2048, seed=9))
    measured(qtbot, page, tree)
    before = page.need()
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda *a, **k: (str(tree / "boot" / "boot.img"), "")),
    )
    browse_button(page, page.boot).click()
    assert page.need() > before  # the boot catalog and record are counted
    path = create(qtbot, page)
    boot = open_image(path).boot
    assert len(boot) == 1 and boot[0].emulation == "no emulation"
    if shutil.which("xorriso"):
        report = subprocess.run(
            ["xorriso", "-indev", path, "-report_el_torito", "plain"],
            capture_output=True,
            text=True,
        ).stdout
        assert "/boot/boot.img" in report


def test_enter_runs_create(qtbot: QtBot, page: CreatePage, tmp_path: Path) -> None:
    measured(qtbot, page, photos(tmp_path / "src"))
    page.label.setFocus()
    with qtbot.waitSignal(page.created, timeout=30_000) as blocker:
        QTest.keyClick(page.label, Qt.Key.Key_Return)
    assert Path(blocker.args[0]).exists()


def test_the_suggested_label_is_one_the_rule_accepts(
    qtbot: QtBot, page: CreatePage, tmp_path: Path
) -> None:
    measured(qtbot, page, photos(tmp_path / "python3.11"))
    assert page.label.text() == "PYTHON3_11"
    assert page.start.isEnabled()
    assert open_image(create(qtbot, page)).volume_id == "PYTHON3_11"


def test_problems_are_shown_in_the_page_never_in_a_popup(
    qtbot: QtBot, page: CreatePage, settings: Settings, tmp_path: Path
) -> None:
    watch = ModalWatch()
    measured(qtbot, page, photos(tmp_path / "src"))
    page.label.setText("bad/label!")
    assert not page.start.isEnabled()
    QTest.keyClick(page.label, Qt.Key.Key_Return)
    assert page.label_hint.isVisible() and "letters A-Z" in page.label_hint.text()
    assert page.message.isVisible() and "volume label" in page.message.text()
    page.label.setText("GOOD")
    # An output that exists, typed by hand, is not silently replaced.
    taken = tmp_path / "taken.iso"
    taken.write_text("mine")
    page.out.setText(str(taken))
    page.start_build()
    assert "exists" in page.message.text() and taken.read_text() == "mine"
    # A failure inside the job (the output's folder vanished after it was chosen).
    gone = tmp_path / "gone"
    gone.mkdir()
    page.out.setText(str(gone / "x.iso"))
    gone.rmdir()
    page.start_build()
    qtbot.waitUntil(lambda: page.job is None, timeout=20_000)
    assert page.message_kind == "error" and "does not exist" in page.message.text()
    assert page.message.isVisible() and page.start.isEnabled()
    assert watch.seen == []


def red_share(page: CreatePage) -> float:
    image = page.gauge.grab().toImage()
    reds = total = 0
    for x in range(2, image.width() - 2, 3):
        c = QColor(image.pixel(x, image.height() // 2))
        total += 1
        reds += c.red() > 150 and c.green() < 90 and c.blue() < 90
    return reds / total


def test_the_gauge_turns_red_over_capacity(qtbot: QtBot, page: CreatePage, tmp_path: Path) -> None:
    tree = tmp_path / "big"
    tree.mkdir()
    with open(tree / "big.bin", "wb") as f:  # sparse: costs nothing to make
        f.truncate(800 * 1000 * 1000)
    measured(qtbot, page, tree)
    assert red_share(page) == 0.0  # fits a DVD
    page.media.setCurrentIndex(page.media.findData("cd"))
    assert red_share(page) > 0.8
    assert "more than a CD holds" in page.gauge_text.text() and not page.start.isEnabled()
    page.media.setCurrentIndex(page.media.findData("dvd"))
    assert red_share(page) == 0.0


def test_the_estimate_is_within_two_percent(qtbot: QtBot, page: CreatePage, tmp_path: Path) -> None:
    tree = tmp_path / "many"
    for i in range(1500):  # many tiny files: the old estimate said 3x the real size
        p = tree / f"d{i % 15}" / f"note {i:04d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x" * (i % 700))
    measured(qtbot, page, tree)
    page.udf.setChecked(True)
    need = page.need()
    real = Path(create(qtbot, page)).stat().st_size
    assert abs(need - real) <= 0.02 * real, (need, real)


def test_measuring_again_while_measuring_is_not_an_error(
    qtbot: QtBot, page: CreatePage, tmp_path: Path
) -> None:
    tree = photos(tmp_path / "src", 200)
    for _ in range(3):  # Enter in the folder field, a drop, Enter again: all at once
        page.folder.setText(str(tree) + "/")
        page.folder.editingFinished.emit()
        page.set_folder(str(tree))
    qtbot.waitUntil(lambda: page.sizes is not None, timeout=20_000)
    assert page.sizes is not None and page.sizes.entries == 200


def test_a_second_create_of_the_same_image_is_refused_in_the_page(
    qtbot: QtBot, settings: Settings, jobs: JobQueue, tmp_path: Path
) -> None:
    """Two Create pages (two windows) on one job queue, writing the same file."""
    tree = photos(tmp_path / "src", 40)
    first, second = CreatePage(jobs, settings), CreatePage(jobs, settings)
    for p in (first, second):
        qtbot.addWidget(p)
        measured(qtbot, p, tree)
        p.out.setText(str(tmp_path / "same.iso"))
    first.start.click()
    second.start.click()  # may raise BusyError inside a slot: pytest-qt would fail the test
    if first.job is not None:  # still running when the second asked
        assert "already being created" in second.message.text()
    qtbot.waitUntil(lambda: first.job is None, timeout=30_000)


def test_nothing_is_clipped_at_1024x700(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.resize(1024, 700)
    window.task_buttons.button(3).click()
    page = window.create_page
    measured(qtbot, page, photos(tmp_path / "src"))
    qtbot.waitUntil(lambda: page.isVisible())
    body = page.scroller.widget()  # the page scrolls: its controls live in the scrolled body
    assert body is not None
    assert page.scroller.verticalScrollBar().maximum() == 0  # at 1024x700 all of it shows
    inside = body.rect()
    for w in body.findChildren(QWidget):
        if not w.isVisible() or w.parent() is not body:
            continue
        box = w.geometry()
        assert inside.contains(box), (type(w).__name__, box, inside)
        assert w.width() >= w.minimumSizeHint().width(), type(w).__name__
        assert w.height() >= w.minimumSizeHint().height(), type(w).__name__


def test_the_page_fits_what_a_640x480_window_leaves_it(page: CreatePage) -> None:
    """The drive list takes about 240 of the 640 pixels; the page must live in the rest."""
    hint = page.minimumSizeHint()
    assert hint.width() <= 380 and hint.height() <= 400, hint


def test_the_whole_page_is_usable_at_640x480(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    """The window at 640x480 with everything the page can show at once: a measured folder over
    capacity, a problem message and the progress bar. Nothing is cut off or out of reach."""
    window.resize(640, 480)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (640, 480), timeout=3000)
    window.task_buttons.button(3).click()
    page = window.create_page
    measured(qtbot, page, photos(tmp_path / "src", n=2))
    page.media.setCurrentIndex(0)
    page.label.setText("bad label!")  # the label's own problem line appears
    page._show("error", "A long problem message that wraps onto two lines in a narrow window " * 2)
    page.progress.setVisible(True)
    QApplication.processEvents()
    scroller = page.scroller
    body = scroller.widget()
    assert body is not None
    for w in [page.start, page.cancel, page.gauge, page.message, page.progress, page.boot]:
        assert w.isVisibleTo(window), w
        assert w.width() >= w.minimumSizeHint().width(), type(w).__name__
        # Every control can be reached: inside the page, or scrolled to.
        scroller.ensureWidgetVisible(w)
        QApplication.processEvents()
        top_left = w.mapTo(scroller.viewport(), w.rect().topLeft())
        assert scroller.viewport().rect().contains(top_left), type(w).__name__
    assert scroller.horizontalScrollBar().maximum() == 0  # never sideways
