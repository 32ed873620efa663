from __future__ import annotations

import random

from app.core.base.rangemap import RangeMap


def naive_runs(cells: list[str]) -> list[tuple[int, int, str]]:
    runs: list[tuple[int, int, str]] = []
    for i, st in enumerate(cells):
        if runs and runs[-1][2] == st:
            runs[-1] = (runs[-1][0], i + 1, st)
        else:
            runs.append((i, i + 1, st))
    return runs


def test_random_edits_match_a_per_sector_model() -> None:
    rng = random.Random(7)
    size = 300
    m = RangeMap(size)
    cells = ["?"] * size
    for _ in range(2000):
        a = rng.randrange(-5, size + 5)
        b = a + rng.randrange(0, 40)
        st = rng.choice("?*/-+")
        m.set(a, b, st)
        for i in range(max(a, 0), min(b, size)):
            cells[i] = st
        assert list(m.runs()) == naive_runs(cells)
    for st in "?*/-+":
        assert m.count(st)[0] == cells.count(st)


def test_next_run_forward_and_reverse_clip_to_position() -> None:
    m = RangeMap(100, "+")
    m.set(10, 20, "?")
    m.set(50, 60, "?")
    assert m.next_run(0, "?") == (10, 20)
    assert m.next_run(15, "?") == (15, 20)
    assert m.next_run(20, "?") == (50, 60)
    assert m.next_run(60, "?") is None
    assert m.next_run(100, "?", forward=False) == (50, 60)
    assert m.next_run(55, "?", forward=False) == (50, 55)
    assert m.next_run(50, "?", forward=False) == (10, 20)
    assert m.next_run(10, "?", forward=False) is None


def test_summary_shows_the_worst_state_per_cell() -> None:
    m = RangeMap(1000, "+")
    m.set(5, 6, "-")
    m.set(500, 510, "?")
    cells = m.summary(10)
    assert cells[0] == "-"
    assert cells[5] == "?"
    assert cells.count("+") == 8
