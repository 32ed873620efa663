from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.base import mapfile
from app.core.base.rangemap import RangeMap

# Written by GNU ddrescue 1.27 (-b2048) on a device with a bad area; kept verbatim.
DDRESCUE_MAP = """\
# Mapfile. Created by GNU ddrescue version 1.27
# Command line: ddrescue -b2048 -d /dev/loop0 o.bin o.map
# Start time:   2026-11-22 13:29:07
# Current time: 2026-11-22 13:29:09
# Copying non-tried blocks... Pass 1 (forwards)
# current_pos  current_status  current_pass
0x00040000     ?               1
#      pos        size  status
0x00000000  0x00030000  +
0x00030000  0x00010000  *
0x00040000  0x000C0000  ?
"""


def test_parses_a_ddrescue_mapfile() -> None:
    mf = mapfile.parse(DDRESCUE_MAP, 2048)
    assert mf.map.size == 0x100000 // 2048
    assert list(mf.map.runs()) == [(0, 96, "+"), (96, 128, "*"), (128, 512, "?")]
    assert (mf.current_pos, mf.current_status, mf.current_pass) == (0x40000, "?", 1)


def test_round_trip_keeps_every_run() -> None:
    m = RangeMap(1000)
    m.set(0, 400, "+")
    m.set(400, 403, "-")
    m.set(403, 900, "+")
    m.set(950, 1000, "/")
    text = mapfile.format_mapfile(mapfile.Mapfile(m, 2048, 0, "+", 4))
    assert mapfile.parse(text, 2048).map == m


def test_unaligned_blocks_take_the_worst_status_of_the_sector() -> None:
    # 512-byte-sector ddrescue run: sector 1 (bytes 2048..4095) is partly bad.
    text = "0x0 + 1\n0x0 0xA00 +\n0xA00 0x200 -\n0xC00 0x1400 +\n"
    mf = mapfile.parse(text, 2048)
    assert list(mf.map.runs()) == [(0, 1, "+"), (1, 2, "-"), (2, 4, "+")]


def test_domain_bounds_missing_blocks_are_non_tried() -> None:
    mf = mapfile.parse("0x0 ? 1\n0x0 0x1000 +\n", 2048, size_sectors=8)
    assert list(mf.map.runs()) == [(0, 2, "+"), (2, 8, "?")]


@pytest.mark.parametrize(
    "text",
    ["", "garbage\n", "0x0 + 1\n0x0 0x800 X\n", "0x0 + 1\n0x800 0x800 +\n0x0 0x800 +\n"],
)
def test_malformed_mapfiles_are_refused(text: str) -> None:
    with pytest.raises(mapfile.MapfileError):
        mapfile.parse(text, 2048)


def test_atomic_save_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "x.map"
    path.write_text("old")
    mapfile.save_atomic(str(path), "new\n")
    assert path.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["x.map"]


def test_clip_tagged_cuts_runs_as_clip_does() -> None:
    """The progress tally's one-merge clip gives the same pieces as clipping run by run."""
    import random

    from app.core.rescue.passes import clip, clip_tagged

    rng = random.Random(5)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, 1000), 40))
        runs = [(a, b, rng.choice("-*/")) for a, b in zip([0, *cuts], cuts, strict=False)]
        wcuts = sorted(rng.sample(range(1, 1000), 10))
        windows = [(a, b) for a, b in zip(wcuts[::2], wcuts[1::2], strict=True)]
        want = [(lo, hi, st) for a, b, st in runs for lo, hi in clip([(a, b)], windows)]
        assert list(clip_tagged(runs, windows)) == want
