"""Mutation fuzz of Mac volumes: a clear InspectError or a listing, never a traceback or a hang.

Bases are real volumes (genisoimage HFS in an Apple partition map, an hfsutils volume with an
extents overflow file, an xorriso HFS+ hybrid with a scattered file); mutants change bytes of
their partition map, volume header and B-tree nodes, set fields to edge values, or cut the
image short.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from app.core.fs import apm
from app.core.fs.hfs import HfsFilesystem
from app.core.fs.hfsbtree import Fork, MacNode
from app.core.fs.hfsplus import HfsPlusFilesystem
from app.core.fs.node import Image, InspectError, Node
from tests import hfsfixtures as fx
from tests.conftest import random_bytes

MUTANTS = 120  # per base: 480 in all
EDGES = [0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000]


def survive(path: Path) -> tuple[list[str], set[tuple[str, str, int, float | None]]]:
    """List every Mac volume of the image and read every file; only InspectError may escape
    a reader, and each problem is one line. Returns the problems and what was listed."""
    problems: list[str] = []
    seen: set[tuple[str, str, int, float | None]] = set()
    img = Image(str(path))
    try:
        apm.claims(img)
        apm.describe(img)
        for v in apm.mac_volumes(img):
            try:
                fs: HfsFilesystem | HfsPlusFilesystem = (
                    HfsFilesystem(img, v.offset)
                    if v.kind == "hfs"
                    else HfsPlusFilesystem(img, v.offset)
                )
            except InspectError as e:
                problems.append(str(e))
                continue
            stack: list[Node] = [fs.root]
            count = 0
            while stack:
                node = stack.pop()
                try:
                    kids = fs.listdir(node)
                except InspectError as e:
                    problems.append(str(e))
                    continue
                count += len(kids)
                assert count < 100_000
                for k in kids:
                    problems.append(k.problem)
                    seen.add((k.path, k.kind, k.size, k.mtime))
                    if k.kind == "dir":
                        stack.append(k)
                    elif isinstance(k, MacNode) and k.byte_extents is not None:
                        got = Fork(img, k.byte_extents, k.size).read(0, k.size)
                        assert len(got) <= min(k.size, v.length)
                        cut = img.size < v.offset + v.length  # a truncated image
                        assert k.problem or len(got) == k.size or cut
    finally:
        img.close()
    problems = [p for p in problems if p]
    assert not any("\n" in p for p in problems)
    return problems, seen


def _regions(image: Path) -> list[tuple[int, int]]:
    """Where the metadata is, weighted by how much of it matters: the partition map, each
    volume's header (several times: every field counts) and the used nodes of its B-trees."""
    img = Image(str(image))
    try:
        out = [(0, 2048)]
        for v in apm.mac_volumes(img):
            fs = (
                HfsFilesystem(img, v.offset)
                if v.kind == "hfs"
                else HfsPlusFilesystem(img, v.offset)
            )
            out += [(v.offset + 1024, 512)] * 3
            for tree in (fs.catalog, fs.extents_tree):
                free = struct.unpack_from(">I", tree.fork.read(0, 64), 14 + 26)[0]
                used = (tree.total_nodes - free) * tree.node_size  # nodes fill from the front
                for start, n in tree.fork.runs:
                    if used > 0:
                        out.append((start, min(n, used)))
                    used -= n
        return out
    finally:
        img.close()


def _mutate(base: bytes, regions: list[tuple[int, int]], rng: random.Random) -> bytes:
    data = bytearray(base)
    how = rng.random()
    if how < 0.1:
        return bytes(data[: rng.randrange(len(data))])
    for _ in range(rng.randint(1, 12)):
        start, length = rng.choice(regions)
        at = start + rng.randrange(max(length - 4, 1))
        if how < 0.55:
            data[at] = rng.randrange(256)
        elif how < 0.8:
            data[at & ~1 : (at & ~1) + 2] = (rng.choice(EDGES) & 0xFFFF).to_bytes(2, "big")
        else:
            data[at & ~1 : (at & ~1) + 4] = (rng.choice(EDGES) & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("fuzzbase")
    tree = fx.make_tree(d / "tree", many=80)
    (tree / "donor.bin").write_bytes(random_bytes(2048, seed=61))
    (tree / "scattered.bin").write_bytes(random_bytes(50_001, seed=62))
    plus = fx.xorriso_hfsplus(tree, d / "plus.iso")
    img = Image(str(plus))
    (vol,) = apm.mac_volumes(img)
    img.close()
    fx.fragment_hfsplus(plus, vol.offset, "scattered.bin", "donor.bin")
    with open(plus, "rb") as f:
        f.seek(vol.offset)
        inner = f.read(vol.length)
    return {
        "wrapper": fx.hfs_wrapper(inner, d / "wrapper.img"),
        "hfs-part": fx.genisoimage(tree, d / "hfs.iso", "-hfs", "-part"),
        "hfsutils": fx.hfsutils_fragmented(d / "frag.hfs", kb=900),
        "hfsplus": plus,
    }


@pytest.mark.parametrize("name", ["hfs-part", "hfsutils", "hfsplus", "wrapper"])
def test_mutants_never_crash(bases: dict[str, Path], tmp_path: Path, name: str) -> None:
    base = bases[name].read_bytes()
    regions = _regions(bases[name])
    problems, pristine = survive(bases[name])
    assert problems == [] and len(pristine) > 40  # the real volume reads cleanly
    rng = random.Random(name)
    changed = 0
    for i in range(MUTANTS):
        p = tmp_path / f"m{i}.img"
        p.write_bytes(_mutate(base, regions, rng))
        problems, seen = survive(p)
        changed += bool(problems) or seen != pristine
        p.unlink()
    assert changed > MUTANTS // 4  # the mutations reach the structures that matter


def _volume(image: Path) -> HfsFilesystem | HfsPlusFilesystem:
    img = Image(str(image))
    (v,) = apm.mac_volumes(img)
    return HfsFilesystem(img, v.offset) if v.kind == "hfs" else HfsPlusFilesystem(img, v.offset)


def _catalog_node_offset(fs: HfsFilesystem | HfsPlusFilesystem, n: int) -> int:
    ((start, length),) = fs.catalog.fork.runs  # both makers write one contiguous catalog
    assert (n + 1) * fs.catalog.node_size <= length
    return start + n * fs.catalog.node_size


def _listing_problems(image: Path) -> list[str]:
    return survive(image)[0]


@pytest.mark.parametrize("name", ["hfs-part", "hfsplus"])
def test_leaf_chain_that_loops_is_refused(
    bases: dict[str, Path], tmp_path: Path, name: str
) -> None:
    fs = _volume(bases[name])
    leaf = fs.catalog.first_leaf
    at = _catalog_node_offset(fs, leaf)
    fs.img.close()
    data = bytearray(bases[name].read_bytes())
    struct.pack_into(">I", data, at, leaf)  # its forward link: itself
    bad = tmp_path / "loop.img"
    bad.write_bytes(bytes(data))
    assert any("leaf chain loops" in p for p in _listing_problems(bad))


@pytest.mark.parametrize("name", ["hfs-part", "hfsplus"])
def test_index_node_pointing_at_itself_is_refused(
    bases: dict[str, Path], tmp_path: Path, name: str
) -> None:
    fs = _volume(bases[name])
    root, size = fs.catalog.root, fs.catalog.node_size
    assert fs.catalog.depth >= 2
    at = _catalog_node_offset(fs, root)
    fs.img.close()
    data = bytearray(bases[name].read_bytes())
    nrecs = struct.unpack_from(">H", data, at + 10)[0]
    for i in range(nrecs):  # every child pointer of the root index node -> the root
        rec = at + struct.unpack_from(">H", data, at + size - 2 * (i + 1))[0]
        klen = struct.unpack_from(">H", data, rec)[0] + 2 if name == "hfsplus" else data[rec] + 1
        struct.pack_into(">I", data, rec + (klen + 1 & ~1), root)
    bad = tmp_path / "index.img"
    bad.write_bytes(bytes(data))
    assert any("deeper than 16 levels" in p for p in _listing_problems(bad))


def _record_data(image: Path, name: str) -> int:
    """Image offset of the data of the root's catalog leaf record called ``name``: found by
    walking the leaf chain and each node's offset table (raw byte search also hits index and
    thread records)."""
    fs = _volume(image)
    try:
        cat, n = fs.catalog, fs.catalog.first_leaf
        while n:
            at = _catalog_node_offset(fs, n)
            node = fs.img.read(at, cat.node_size)
            flink, _, _, _, nrecs = struct.unpack_from(">IIbBH", node, 0)
            for i in range(nrecs):
                rec = struct.unpack_from(">H", node, cat.node_size - 2 * (i + 1))[0]
                key, _ = cat.split(node[rec:], index=False)
                if cat.plus:
                    parent, nlen = struct.unpack_from(">IH", key, 0)
                    got, body = key[6 : 6 + 2 * nlen].decode("utf-16-be"), rec + 2 + len(key)
                else:
                    parent, got = struct.unpack_from(">I", key, 1)[0], key[6 : 6 + key[5]].decode()
                    body = rec + (2 + len(key) & ~1)
                if parent == 2 and got == name:
                    return int(at + body)
            n = flink
        raise AssertionError(name)
    finally:
        fs.img.close()


def test_folder_that_contains_its_parent_is_refused(bases: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(bases["hfs-part"].read_bytes())
    body = _record_data(bases["hfs-part"], "deep")
    assert data[body] == 1  # a folder record
    struct.pack_into(">I", data, body + 6, 2)  # /deep's folder ID: the root's own
    bad = tmp_path / "cycle.img"
    bad.write_bytes(bytes(data))
    problems, seen = survive(bad)
    assert any("folder loop" in p for p in problems)
    assert "/ReadMe.txt" in {s[0] for s in seen}  # the rest still lists


@pytest.mark.parametrize("name", ["hfs-part", "hfsplus"])
def test_absurd_file_size_is_a_problem_on_that_file_only(
    bases: dict[str, Path], tmp_path: Path, name: str
) -> None:
    data = bytearray(bases[name].read_bytes())
    body = _record_data(bases[name], "data.bin")
    if name == "hfsplus":
        at, fmt, huge = body + 88, ">Q", 1 << 62
    else:
        at, fmt, huge = body + 26, ">I", 0xFFFFFFFF
    struct.pack_into(fmt, data, at, huge)
    bad = tmp_path / "huge.img"
    bad.write_bytes(bytes(data))
    problems, seen = survive(bad)
    assert problems == [
        f"size {huge:,} is larger than its {300_001 + 2048 - 300_001 % 2048:,} allocated bytes"
    ]
    assert "/ReadMe.txt" in {s[0] for s in seen}  # the rest still lists


def test_hfs_wrapper_that_wraps_itself_is_not_followed(tmp_path: Path) -> None:
    """An MDB whose embedded HFS+ extent points back at its own boot blocks."""
    data = bytearray(8192)
    data[1024:1026] = b"BD"
    struct.pack_into(">HI", data, 1024 + 18, 3, 2048)
    data[1024 + 124 : 1024 + 126] = b"H+"
    struct.pack_into(">HH", data, 1024 + 126, 0, 1)
    bad = tmp_path / "selfwrap.img"
    bad.write_bytes(bytes(data))
    img = Image(str(bad))
    try:
        assert [(v.kind, v.wrapper) for v in apm.mac_volumes(img)] == [("hfs", False)]
        assert apm.claims(img) == [("hfs", 0, 4)]
    finally:
        img.close()
