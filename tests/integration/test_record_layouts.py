"""Compiled record layouts (app.core.fs.susp) read every record exactly as the full parser does."""

from __future__ import annotations

import dataclasses
import random
import subprocess
from pathlib import Path

import pytest

from app.core.fs.inspection import Inspection, open_image
from app.core.fs.iso9660 import IsoFilesystem
from tests.integration import isofixtures as fx


class _NoLayouts(dict[int, object]):
    def __setitem__(self, key: int, value: object) -> None:
        pass  # never keep one: every record goes through the full parser


def _nodes(i: Inspection) -> list[tuple[object, ...]]:
    return [dataclasses.astuple(n) for n in i.walk()]


def _both(iso: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    fast = open_image(str(iso))
    slow = open_image(str(iso))
    assert isinstance(fast.fs, IsoFilesystem) and isinstance(slow.fs, IsoFilesystem)
    slow.fs.scanner.layouts = _NoLayouts()  # type: ignore[assignment]
    a, b = _nodes(fast), _nodes(slow)
    assert fast.problems == slow.problems
    return a, b, len(fast.fs.scanner.layouts)


@pytest.mark.parametrize(
    "kind",
    ["geniso_rr_joliet", "geniso_joliet", "xorriso_eltorito", "xorriso_zisofs", "xorriso_rr"],
)
def test_layouts_read_what_the_full_parser_reads(kind: str, tmp_path: Path) -> None:
    tree = fx.make_tree(tmp_path / "src")
    fx.make_rr_tree(tree / "rr")  # modes, times, 250-byte names, many links
    iso = tmp_path / "t.iso"
    if kind == "xorriso_rr":
        fx.need("xorriso")
        cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", str(iso), str(tree)]
        subprocess.run(cmd, check=True, capture_output=True)
    else:
        fx.build(kind, tree, iso)
    fast, slow, learned = _both(iso)
    assert learned > 0  # the fast path did run
    assert fast == slow


def test_layouts_on_damaged_directories_still_agree(tmp_path: Path) -> None:
    """Flip bytes inside directory records: whatever the full parser makes of each record, the
    layouts make the same (a record that no longer matches its skeleton is parsed in full)."""
    fx.need("genisoimage")
    tree = fx.make_tree(tmp_path / "src")
    iso = tmp_path / "t.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(iso), str(tree)], check=True)
    clean = iso.read_bytes()
    docs = fx.find_record(clean, b"NOTE_00.TXT;1")
    rng = random.Random(7)
    for round_ in range(40):
        data = bytearray(clean)
        for _ in range(3):
            data[docs + rng.randrange(0, 2048 * 2)] = rng.randrange(256)
        bad = tmp_path / f"bad{round_}.iso"
        bad.write_bytes(bytes(data))
        fast, slow, _ = _both(bad)
        assert fast == slow, round_
