"""The disc's layout on the Back up page: a strip of sessions and tracks above the sector map,
not-data sectors in their own neutral colour (never red, never unreadable), the layout line on
the end card, what a CD-Extra backup keeps, and a pure audio CD's refusal said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.core.base.rangemap import RangeMap
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.plan import Kind, Plan, Region
from app.gui.main_window import MainWindow
from app.gui.sector_map import NOT_DATA, SectorMap, summarise
from app.gui.sources import from_drive
from app.platform import DriveInfo
from tests import discfixtures as dfx
from tests.conftest import require_tool
from tests.gui.helpers import disc_entry, select, snap, wait_card


@pytest.fixture(autouse=True)
def no_popups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A message box would stop an offscreen test forever: record it instead."""
    seen: list[str] = []

    def box(*args: object, **kw: object) -> QMessageBox.StandardButton:
        seen.append(str(args[2]) if len(args) > 2 else "")
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", box)
    monkeypatch.setattr(QMessageBox, "information", box)
    return seen


def test_not_data_cells_are_neutral_never_red(qtbot: QtBot) -> None:
    layout = DiscLayout.flat(1000)
    plan = Plan(layout, 1000, [Region(0, 900, Kind.DATA), Region(900, 1000, Kind.RUNOUT)])
    m = RangeMap(1000, "+")
    m.set(900, 1000, "-")  # tried once, unreadable: the run-out
    m.set(100, 101, "-")  # one bad data sector
    w = SectorMap()
    qtbot.addWidget(w)
    w.resize(80, 80)  # 100 cells of 10 sectors
    w.set_plan(plan)
    w.set_map(m)
    assert w.cells[10] == "-"
    assert w.cells[90:] == [NOT_DATA] * 10
    assert "run-out (not data): 10 sector(s)" in w.tooltip_text(95)


def test_the_map_summary_agrees_with_the_core_and_counts_data_alone() -> None:
    import random

    rng = random.Random(17)
    m = RangeMap(350_000, "+")
    for _ in range(3000):  # a radial scratch's scattered bad sectors
        a = rng.randrange(349_990)
        m.set(a, a + rng.randrange(1, 4), rng.choice("-/*?"))
    assert summarise(m, [], 2400) == (m.summary(2400), m.size - m.count("+")[0])
    gap = (100_000, 111_400, "session gap")
    cells, unfinished = summarise(m, [gap], 2400)
    in_gap = sum(max(0, min(e, gap[1]) - max(s, gap[0])) for s, e, st in m.runs() if st != "+")
    assert unfinished == m.size - m.count("+")[0] - in_gap
    assert "-" not in cells[100_000 * 2400 // 350_000 + 1 : 111_400 * 2400 // 350_000]


def test_a_multisession_backup_shows_its_layout_and_never_calls_gaps_unreadable(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    require_tool("xorriso")
    (tmp_path / "work").mkdir()
    disc = dfx.multisession(tmp_path / "work")
    disc_entry(window, tmp_path / "disc.img", disc)
    page = window.backup
    page.dest.setText(str(tmp_path / "ms.iso"))
    page.start_backup()
    view = page.progress
    qtbot.waitUntil(lambda: view.plan is not None, timeout=30_000)
    assert view.strip.isVisibleTo(window)
    assert view.strip.caption == "2 sessions, 2 tracks"
    assert [s.kind for s in view.strip.base] == ["data", "session gap", "data"]
    head = wait_card(qtbot, window)
    assert head == "Backed up"  # the gap and the run-out are not damage
    card = page.card
    assert "2 sessions, 2 tracks" in card.detail.text()
    assert "(not data), 0 damaged" in card.detail.text()
    assert card.strip.isVisibleTo(window) and card.strip.caption == "2 sessions, 2 tracks"
    assert NOT_DATA in card.map.cells and "-" not in card.map.cells
    assert NOT_DATA in card.legend.states
    assert "unreadable" not in view.numbers.text()
    # Complete means complete: the gaps are not "still missing", there is nothing to resume.
    assert page.start.text() == "Start backup"
    assert "already complete" in page.resume_note.text()


def test_a_cd_extra_backup_says_what_it_kept(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    require_tool("xorriso")
    (tmp_path / "work").mkdir()
    disc = dfx.cd_extra(tmp_path / "work")
    disc_entry(window, tmp_path / "extra.img", disc)
    window.backup.dest.setText(str(tmp_path / "extra.iso"))
    window.backup.start_backup()
    assert wait_card(qtbot, window) == "Backed up"
    text = window.backup.card.detail.text()
    assert "2 sessions, 3 tracks (2 audio)" in text
    # This source gives 2048-byte sectors only: the data goes to an .iso, and the card says
    # the audio was not imaged.
    assert "the audio track(s) 1, 2 cannot be read without raw reads and are not imaged" in text
    assert [s.kind for s in window.backup.card.strip.base][:2] == ["audio", "audio"]


def test_a_pure_audio_cd_is_said_before_start_and_refused_plainly_without_raw_reads(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, no_popups: list[str]
) -> None:
    disc = dfx.audio_only()
    # A drive whose TOC says "audio only": what the backup makes of it, said before Start.
    info = DriveInfo("/dev/sr7", "sr7", state="disc_ok", has_audio=True, layout=disc.layout)
    entry = from_drive(info)
    assert entry.ready and "audio CD: backed up as BIN/CUE" in entry.detail
    window.extra_sources.append(entry)
    window.refresh_entries()
    select(window, "/dev/sr7")
    page = window.backup
    assert page.banner.isVisibleTo(window) and "BIN/CUE" in page.banner.text.text()
    assert page.start.isEnabled()
    # A source with no raw reads (2048-byte sectors only) cannot read audio: the engine's
    # refusal, in the page.
    disc_entry(window, tmp_path / "audio.img", disc)
    page.dest.setText(str(tmp_path / "audio.iso"))
    page.start_backup()
    qtbot.waitUntil(lambda: not page.busy(), timeout=10_000)
    qtbot.waitUntil(lambda: "audio CD" in page.banner.text.text(), timeout=10_000)
    assert page.banner.kind == "error" and page.stack.currentWidget() is page.empty
    assert not (tmp_path / "audio.iso").exists()
    assert no_popups == []


def test_the_strip_comes_with_the_first_progress(qtbot: QtBot) -> None:
    from app.gui.progress_view import ProgressView

    layout = DiscLayout(
        (
            Session(1, (Track(1, 1, 0, 1800, TrackKind.AUDIO),), 1800),
            Session(2, (Track(2, 2, 13200, 500, TrackKind.MODE2),), 13700),
        ),
        "toc",
        "CD",
    )
    plan = Plan(
        layout,
        13700,
        [
            Region(0, 1800, Kind.AUDIO),
            Region(1800, 13200, Kind.GAP),
            Region(13200, 13700, Kind.DATA),
        ],
    )
    view = ProgressView()
    qtbot.addWidget(view)
    view.reset("Reading…")
    assert not view.strip.isVisibleTo(view)
    rmap = RangeMap(13700)
    rmap.set(13200, 13700, "+")  # every data sector read; the gap not tried yet
    view.update_progress(snap(phase="once", pass_no=4, extra={"plan": plan, "map": rmap}))
    assert view.strip.caption == "2 sessions, 2 tracks (1 audio)"
    assert view.percent.text().startswith("100.0 %")  # of the data: gaps are not data
    assert "rescued 1.0 MB of 1.0 MB" in view.numbers.text()
    assert [s.kind for s in view.strip.base] == ["audio", "session gap", "data"]
    assert "not part of an .iso" in view.strip.base[0].tip
    assert NOT_DATA in view.legend.states
