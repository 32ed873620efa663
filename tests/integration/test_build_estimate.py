"""The size the Create page shows before building is within 2 % of the image really built.

The old estimate allowed 6 KB of metadata per entry and said 1.0 GB for a /usr/share whose
image was 707.5 MB; trees of many small or empty files were the worst case.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from app.core.create.builder import BuildOptions, build_iso
from app.core.create.estimate import estimate_bytes
from app.core.create.scan import scan


def tiny_files(root: Path) -> None:
    rng = random.Random(1)
    for i in range(2000):
        p = root / f"d{i % 20:02d}" / f"file_{i:05d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * rng.randint(1, 300))


def empty_files(root: Path) -> None:
    for i in range(2000):
        p = root / f"dir{i % 2}" / f"an empty file with quite a long name number {i:05d}.dat"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def deep_long_links(root: Path) -> None:
    rng = random.Random(2)
    p = root
    for d in range(11):
        p = p / f"level {d} folder with a long name"
        p.mkdir(parents=True)
        (p / f"f{d}.txt").write_bytes(b"y" * rng.randint(0, 5000))
    (root / "long").mkdir()
    for i in range(150):
        name = f"{'Ünïcødé ' * 4}name {i:04d} — long enough for a continuation area.txt"
        (root / "long" / name).write_bytes(b"z" * rng.randint(0, 20000))
        os.symlink(f"../some/target/{i}/{'x' * rng.randint(1, 80)}", root / "long" / f"l{i:04d}")


def mixed_sizes(root: Path) -> None:
    rng = random.Random(3)
    for i in range(120):
        p = root / f"a{i % 7}" / f"b{i % 3}" / f"p{i:04d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(rng.randint(1, 400_000)))
    (root / "boot.img").write_bytes(rng.randbytes(4 * 2048))


TREES = {
    "tiny": tiny_files,
    "empty": empty_files,
    "deep": deep_long_links,
    "mixed": mixed_sizes,
}


@pytest.mark.parametrize("udf", [False, True], ids=["iso", "udf"])
@pytest.mark.parametrize("kind", sorted(TREES))
def test_estimate_within_two_percent(kind: str, udf: bool, tmp_path: Path) -> None:
    tree = tmp_path / kind
    tree.mkdir()
    TREES[kind](tree)
    boot = "boot.img" if kind == "mixed" else None
    want = estimate_bytes(scan(str(tree)), udf=udf, boot=boot is not None)
    out = tmp_path / "o.iso"
    got = build_iso(str(tree), str(out), BuildOptions(label="T", udf=udf, boot=boot)).image_bytes
    assert got == out.stat().st_size
    assert abs(want - got) <= 0.02 * got, (want, got)


def test_estimate_of_a_real_tree(tmp_path: Path) -> None:
    """Parts of Python's standard library: real-life names, sizes and depths."""
    stdlib = Path(os.__file__).parent
    tree = tmp_path / "lib"
    for pkg in ("asyncio", "email", "encodings", "json", "unittest", "xml", "logging"):
        shutil.copytree(stdlib / pkg, tree / pkg, symlinks=True)
    want = estimate_bytes(scan(str(tree)))
    got = build_iso(str(tree), str(tmp_path / "o.iso"), BuildOptions(label="T")).image_bytes
    assert abs(want - got) <= 0.02 * got, (want, got)
