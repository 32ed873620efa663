"""The Auto view (pytest-qt, offscreen): a switch per drive, the queue, the last discs.

Its "drives" are image files (a file holds a disc while it has sectors: ``drive_state``), so
the real platform layer and the real runner do the work; the view only shows it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.library.autojob import AutoOptions
from app.gui.auto_view import AutoView
from tests.integration.test_auto import make_disc

DAY = time.strftime("%Y-%m-%d")


def cell(view: AutoView, row: int, col: int) -> str:
    item = view.table.item(row, col)
    return item.text() if item is not None else ""


def test_a_switch_per_drive_runs_auto_and_the_view_shows_the_queue(
    qtbot: QtBot, tmp_path: Path
) -> None:
    disc = make_disc(tmp_path, "SHELF", 5, megabytes=2)
    a, b = tmp_path / "drive_a.iso", tmp_path / "drive_b.iso"
    a.write_bytes(disc)
    shutil.copy(a, b)  # the same disc in the second drive: known once the first is done
    lib = tmp_path / "lib"
    view = AutoView(
        str(lib),
        [(str(a), "Drive A"), (str(b), "Drive B")],
        options=AutoOptions(poll=0.1, progress_every=0.2),
        refresh_ms=50,
    )
    qtbot.addWidget(view)
    view.show()
    notes: list[str] = []
    view.notify.connect(lambda title, _text: notes.append(title))
    assert view.runner is None and cell(view, 0, 2) == "off"

    view.switches[str(a)].setChecked(True)
    qtbot.waitUntil(lambda: view.recent.count() == 1, timeout=60_000)
    assert "complete" in view.recent.item(0).text()
    assert (lib / f"SHELF_{DAY}" / "SHELF.iso").read_bytes() == disc
    qtbot.waitUntil(lambda: "take the disc out" in cell(view, 0, 2), timeout=10_000)
    assert cell(view, 0, 3) == "SHELF"
    assert not view.verify_box.isEnabled()  # a run keeps the options it started with

    view.switches[str(b)].setChecked(True)
    qtbot.waitUntil(lambda: view.recent.count() == 2, timeout=60_000)
    assert "already backed up on" in view.recent.item(0).text()
    assert notes == ["Auto: SHELF — complete", "Auto: SHELF — known"]

    view.switches[str(a)].setChecked(False)
    qtbot.waitUntil(lambda: cell(view, 0, 2) == "off", timeout=10_000)
    view.switches[str(a)].setChecked(True)  # on again: the same disc is still in, and known
    qtbot.waitUntil(lambda: view.recent.count() == 3, timeout=60_000)
    assert "already backed up on" in view.recent.item(0).text()
    assert view.stop()
    assert sorted(p.name for p in lib.iterdir() if not p.name.startswith(".")) == [f"SHELF_{DAY}"]
