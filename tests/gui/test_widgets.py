from __future__ import annotations

import sys

from pytestqt.qtbot import QtBot

from app.core.base.rangemap import RangeMap
from app.gui.sector_map import SectorMap


def test_sector_map_cells_and_tooltips(qtbot: QtBot) -> None:
    w = SectorMap()
    qtbot.addWidget(w)
    w.resize(400, 80)  # 50 x 10 cells
    m = RangeMap(100_000, "+")
    m.set(50_000, 50_010, "-")
    w.set_map(m)
    assert len(w.cells) == 500 and w.cells.count("-") == 1
    tip = w.tooltip_text(w.cells.index("-"))
    assert "unreadable: 10 sector(s)" in tip and "LBA 50,000" in tip


def test_painting_does_not_eat_references_to_none(qtbot: QtBot) -> None:
    # PySide6 6.12.0 drops a reference to None on every void QPainter call and crashes after
    # about two thousand; pyproject.toml excludes it. This catches a regression either way.
    w = SectorMap()
    qtbot.addWidget(w)
    w.resize(800, 400)
    m = RangeMap(1000, "+")
    m.set(10, 20, "-")
    w.set_map(m)
    before = sys.getrefcount(None)
    for _ in range(5):
        w.grab()
    assert sys.getrefcount(None) - before > -100
